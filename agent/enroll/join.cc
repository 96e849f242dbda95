#include "agent/enroll/join.h"

#include "agent/common/utc_time.h"

#include <grpcpp/grpcpp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "agent/common/errors.h"
#include "agent/common/files.h"
#include "agent/common/logging.h"
#include "agent/common/strings.h"
#include "agent/enroll/join_token.h"
#include "agent/enroll/node_identity.h"
#include "agent/enroll/tls_probe.h"
#include "rampart/v1/enroll.grpc.pb.h"

namespace rampart::enroll {

IdentityFiles IdentityFiles::In(const std::string& state_dir) {
  return IdentityFiles{state_dir + "/ca.pem", state_dir + "/node.pem"};
}

absl::StatusOr<NodeIdentity> LoadNodeIdentity(const IdentityFiles& files, x509::TimePoint now) {
  if (now == x509::TimePoint{}) now = std::chrono::system_clock::now();
  auto ca_text = ReadFile(files.ca_file);
  if (!ca_text.ok()) return ca_text.status();
  auto identity_text = ReadFile(files.identity_file);
  if (!identity_text.ok()) return identity_text.status();
  NodeIdentity id;
  auto ca = x509::ParseCertificatePem(*ca_text, files.ca_file);
  if (!ca.ok()) return absl::FailedPreconditionError(std::string(ca.status().message()));
  auto chain = x509::ParseCertificateChainPem(*identity_text, files.identity_file);
  if (!chain.ok()) return absl::FailedPreconditionError(std::string(chain.status().message()));
  auto key = x509::ParsePrivateKeyPem(*identity_text, files.identity_file);
  if (!key.ok()) return absl::FailedPreconditionError(std::string(key.status().message()));
  id.ca = std::move(*ca);
  id.chain = std::move(*chain);
  id.key = std::move(*key);
  X509* leaf = id.chain.front().get();
  id.serial_hex = x509::SerialHex(leaf);
  id.not_after = x509::NotAfter(leaf);
  if (!x509::SamePublicKey(id.key.get(), X509_get0_pubkey(leaf))) {
    return absl::FailedPreconditionError(
        StrCat(files.identity_file, ": the private key does not belong to the certificate"));
  }
  if (id.not_after <= now) {
    return absl::FailedPreconditionError(
        StrCat(files.identity_file, " expired at ", FormatUtc(id.not_after), ": the node must join again with a new token"));
  }
  // The fleet CA signs node certificates directly (pathlen:0): the rest of
  // the chain in the file plays no part.
  if (absl::Status chained = x509::VerifyChain(leaf, {}, id.ca.get(), now, X509_PURPOSE_SSL_CLIENT); !chained.ok()) {
    return absl::FailedPreconditionError(StrCat(files.identity_file,
                                                " is not a client certificate from the fleet CA in ", files.ca_file,
                                                " (", chained.message(), ")"));
  }
  const std::vector<std::string> uris = x509::UriSans(leaf);
  if (uris.size() != 1 || !identity::ParseNodeSpiffeId(uris.front()).ok()) {
    return absl::FailedPreconditionError(
        StrCat(files.identity_file, " names no node (expected one URI SAN spiffe://DOMAIN/agent/NODE)"));
  }
  id.spiffe_id = uris.front();
  return id;
}

absl::StatusOr<Enrolled> InstallIdentity(const IdentityFiles& files, const std::string& chain_pem, EVP_PKEY* key,
                                         X509* ca, const std::string& expected_spiffe_id) {
  auto chain = x509::ParseCertificateChainPem(chain_pem, "issued certificate");
  if (!chain.ok()) return chain.status();
  X509* leaf = chain->front().get();
  if (!x509::SamePublicKey(key, X509_get0_pubkey(leaf))) {
    return absl::InternalError("the control plane issued a certificate for another key");
  }
  if (absl::Status verified = x509::VerifyChain(leaf, {}, ca); !verified.ok()) {
    return absl::InternalError(
        StrCat("the issued certificate does not verify against the fleet CA: ", verified.message()));
  }
  const std::vector<std::string> uris = x509::UriSans(leaf);
  if (uris.size() != 1 || uris.front() != expected_spiffe_id) {
    return absl::InternalError(StrCat("the issued certificate does not name ", expected_spiffe_id));
  }
  auto leaf_pem = x509::CertificatePem(leaf);
  if (!leaf_pem.ok()) return leaf_pem.status();
  auto ca_pem = x509::CertificatePem(ca);
  if (!ca_pem.ok()) return ca_pem.status();
  auto key_pem = x509::PrivateKeyPem(key);
  if (!key_pem.ok()) return key_pem.status();
  RAMPART_RETURN_IF_ERROR(WriteFileAtomic(files.identity_file, *leaf_pem + *ca_pem + *key_pem, 0600));
  return Enrolled{files, expected_spiffe_id, x509::SerialHex(leaf), x509::NotAfter(leaf)};
}

absl::StatusOr<Enrolled> JoinFleet(const JoinOptions& options) {
  auto log = Logger("enroll");
  auto token = identity::JoinToken::Parse(options.token);
  if (!token.ok()) return token.status();
  const std::string address = options.address.empty() ? token->address : options.address;
  if (address.empty()) {
    return absl::InvalidArgumentError("no control plane address: the join token carries none and none was given");
  }
  RAMPART_RETURN_IF_ERROR(identity::ValidateNodeName(options.node_name));
  const IdentityFiles files = IdentityFiles::In(options.state_dir);
  if (access(files.identity_file.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(StrCat(files.identity_file, " exists: this node has already joined (remove ",
                                           options.state_dir, " to join again)"));
  }
  std::error_code error;
  if (std::filesystem::create_directories(options.state_dir, error)) {
    chmod(options.state_dir.c_str(), 0700);
  } else if (error) {
    return absl::FailedPreconditionError(StrCat("create state directory ", options.state_dir, ": ", error.message()));
  }

  auto chain = FetchServerChain(address, options.server_name, options.timeout);
  if (!chain.ok()) return chain.status();
  auto ca = PinnedCa(*chain, token->ca_pin);
  if (!ca.ok()) return Annotate(ca.status(), StrCat("control plane ", address));
  auto ca_pem = x509::CertificatePem(ca->get());
  if (!ca_pem.ok()) return ca_pem.status();

  auto key = x509::NewEcKey();
  if (!key.ok()) return key.status();
  auto csr = x509::NewCsrPem(key->get(), options.node_name);
  if (!csr.ok()) return csr.status();

  // From here on the pinned CA is the only root: the token secret goes only to
  // a server that proves it holds a certificate from that CA for `address`.
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *ca_pem;
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) args.SetSslTargetNameOverride(options.server_name);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stub = v1::Enrollment::NewStub(grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args));
  v1::JoinRequest request;
  request.set_token_id(token->id);
  request.set_token_secret(token->secret);
  request.set_node_name(options.node_name);
  request.set_csr_pem(*csr);
  for (const auto& [k, v] : options.labels) (*request.mutable_labels())[k] = v;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options.timeout);
  v1::JoinReply reply;
  grpc::Status status = stub->Join(&context, request, &reply);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        StrCat("join ", address, " as ", options.node_name, ": ", status.error_message()));
  }

  const std::string& spiffe_id = reply.identity().spiffe_id();
  auto issued_for = identity::ParseNodeSpiffeId(spiffe_id);
  const std::vector<std::string> ca_uris = x509::UriSans(ca->get());
  if (!issued_for.ok() || issued_for->node != options.node_name ||
      std::find(ca_uris.begin(), ca_uris.end(), "spiffe://" + issued_for->trust_domain) == ca_uris.end()) {
    return absl::InternalError(StrCat("the control plane issued \"", spiffe_id, "\" for node ", options.node_name));
  }
  RAMPART_RETURN_IF_ERROR(WriteFileAtomic(files.ca_file, *ca_pem, 0644));
  auto enrolled = InstallIdentity(files, reply.identity().certificate_chain_pem(), key->get(), ca->get(), spiffe_id);
  if (!enrolled.ok()) return enrolled.status();
  log->info("joined the fleet at {} as {} (certificate {})", address, enrolled->spiffe_id, enrolled->serial_hex);
  return enrolled;
}

}  // namespace rampart::enroll
