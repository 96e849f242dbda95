#include "agent/enroll/renewer.h"

#include "agent/common/utc_time.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <random>

#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/enroll/tls_probe.h"
#include "rampart/v1/enroll.grpc.pb.h"

namespace rampart::enroll {
namespace {

std::string PemOf(const std::vector<x509::Cert>& chain) {
  std::string pem;
  for (const x509::Cert& cert : chain) {
    auto one = x509::CertificatePem(cert.get());
    if (one.ok()) pem += *one;
  }
  return pem;
}

}  // namespace

absl::StatusOr<Enrolled> RenewIdentity(const RenewOptions& options) {
  const IdentityFiles files = IdentityFiles::In(options.state_dir);
  // Checked here first: a certificate the control plane refuses in the
  // handshake only shows up as "Socket closed".
  auto current = LoadNodeIdentity(files);
  if (!current.ok()) return Annotate(current.status(), "certificate renewal");
  X509* leaf = current->chain.front().get();
  auto ca_pem = x509::CertificatePem(current->ca.get());
  if (!ca_pem.ok()) return ca_pem.status();
  auto key_pem = x509::PrivateKeyPem(current->key.get());
  if (!key_pem.ok()) return key_pem.status();

  auto key = x509::NewEcKey();
  if (!key.ok()) return key.status();
  auto csr = x509::NewCsrPem(key->get(), x509::SubjectCommonName(leaf));
  if (!csr.ok()) return csr.status();

  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *ca_pem;
  tls.pem_cert_chain = PemOf(current->chain);
  tls.pem_private_key = *key_pem;
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  v1::RenewRequest request;
  request.set_csr_pem(*csr);
  v1::RenewReply reply;
  absl::Status failed = absl::InvalidArgumentError("certificate renewal: no control plane address");
  std::string unanswered;  // "A: error; B: error" of the addresses that did not answer
  for (const std::string& address : options.addresses) {
    auto stub = v1::Enrollment::NewStub(grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options.timeout);
    grpc::Status status = stub->Renew(&context, request, &reply);
    if (status.ok()) {
      failed = absl::OkStatus();
      break;
    }
    const std::string what = StrCat("renew at ", address);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      // gRPC says "Socket closed" for a refused certificate; ask again ourselves to learn why.
      absl::Status probe =
          ProbeClientCertificate(address, options.server_name, leaf, current->key.get(), options.timeout);
      if (absl::IsPermissionDenied(probe)) return Annotate(probe, what);
    }
    failed =
        absl::Status(static_cast<absl::StatusCode>(status.error_code()), StrCat(what, ": ", status.error_message()));
    // A replica that answered decided (a revoked node is revoked on every one).
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return failed;
    }
    unanswered += StrCat(unanswered.empty() ? "" : "; ", address, ": ", status.error_message());
  }
  if (!failed.ok()) {
    if (options.addresses.size() <= 1) return failed;
    return absl::Status(failed.code(), StrCat("renew: no control plane answered (", unanswered, ")"));
  }
  return InstallIdentity(files, reply.identity().certificate_chain_pem(), key->get(), current->ca.get(),
                         current->spiffe_id);
}

x509::TimePoint RenewalTime(x509::TimePoint not_before, x509::TimePoint not_after, double fraction, double jitter,
                            double jitter_sample) {
  const auto lifetime = std::chrono::duration<double>(not_after - not_before);
  const double at = fraction * (1.0 + jitter * std::clamp(jitter_sample, -1.0, 1.0));
  return not_before + std::chrono::duration_cast<x509::TimePoint::duration>(lifetime * at);
}

CertificateRenewer::CertificateRenewer(RenewerOptions options) : options_(std::move(options)) {}

CertificateRenewer::~CertificateRenewer() { Stop(); }

void CertificateRenewer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void CertificateRenewer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CertificateRenewer::State CertificateRenewer::Snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool CertificateRenewer::WaitUntil(x509::TimePoint when) {
  std::unique_lock lock(mu_);
  // Waits in slices so a wall-clock jump is noticed within a minute.
  while (!stopping_) {
    const auto left = when - std::chrono::system_clock::now();
    if (left <= x509::TimePoint::duration::zero()) return true;
    wake_.wait_for(lock, std::min<x509::TimePoint::duration>(left, std::chrono::minutes(1)));
  }
  return false;
}

void CertificateRenewer::Run() {
  auto log = Logger("enroll");
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  const IdentityFiles files = IdentityFiles::In(options_.renew.state_dir);
  auto retry = options_.min_retry;
  while (true) {
    x509::TimePoint next;
    auto text = ReadFile(files.identity_file);
    absl::StatusOr<x509::Cert> cert =
        text.ok() ? x509::ParseCertificatePem(*text, files.identity_file) : absl::StatusOr<x509::Cert>(text.status());
    if (cert.ok()) {
      next = RenewalTime(x509::NotBefore(cert->get()), x509::NotAfter(cert->get()), options_.fraction, options_.jitter,
                         unit(rng));
      std::lock_guard lock(mu_);
      state_.serial_hex = x509::SerialHex(cert->get());
      state_.not_after = x509::NotAfter(cert->get());
      state_.next_attempt = next;
    } else {
      log->error("certificate renewal: {}", std::string(cert.status().message()));
      next = std::chrono::system_clock::now() + retry;
    }
    if (!WaitUntil(next)) return;
    if (!cert.ok()) {
      retry = std::min(retry * 2, options_.max_retry);
      continue;
    }

    auto renewed = RenewIdentity(options_.renew);
    while (!renewed.ok()) {
      // Jittered in [retry/2, retry], doubling: a control plane coming back
      // is not hit by the whole fleet at once.
      std::uniform_int_distribution<long> spread(retry.count() / 2, retry.count());
      const auto wait = std::chrono::milliseconds(spread(rng));
      const std::string error(renewed.status().message());
      {
        std::lock_guard lock(mu_);
        state_.last_error = error;
        state_.next_attempt = std::chrono::system_clock::now() + wait;
      }
      if (absl::IsFailedPrecondition(renewed.status()) || absl::IsPermissionDenied(renewed.status())) {
        log->error("certificate renewal: {}; retrying in {} ms", error, wait.count());
      } else {
        log->warn("certificate renewal: {}; retrying in {} ms", error, wait.count());
      }
      if (!WaitUntil(std::chrono::system_clock::now() + wait)) return;
      retry = std::min(retry * 2, options_.max_retry);
      renewed = RenewIdentity(options_.renew);
    }
    retry = options_.min_retry;
    log->info("renewed the node certificate: {} valid until {}", renewed->serial_hex, FormatUtc(renewed->not_after));
    std::lock_guard lock(mu_);
    state_.renewals++;
    state_.last_error.clear();
  }
}

}  // namespace rampart::enroll
