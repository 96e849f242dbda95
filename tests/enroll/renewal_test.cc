// Certificate renewal: when it happens, what it replaces, what is refused
// with which message, and that the sync channel's next connection presents
// the renewed certificate without a restart.
#include "agent/enroll/renewer.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "agent/common/files.h"
#include "agent/enroll/tls_probe.h"
#include "agent/sync/control_plane_client.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::enroll {
namespace {

using namespace std::chrono_literals;
using testing::ClosedPort;
using testing::TempDir;
using testing::TestControlPlane;

class Renewal : public ::testing::Test {
 protected:
  explicit Renewal(testing::ControlPlaneOptions options = {}) : cp_(options) {}
  void SetUp() override {
    ASSERT_TRUE(cp_.ok()) << cp_.error();
    JoinOptions options;
    options.token = cp_.NewToken().ToString();
    options.node_name = "node-a";
    options.state_dir = state_.path() + "/state";
    options.timeout = 5s;
    auto enrolled = JoinFleet(options);
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    joined_ = *enrolled;
  }
  RenewOptions Options() const { return {{cp_.address()}, "", state_.path() + "/state", 5s}; }
  IdentityFiles Files() const { return IdentityFiles::In(state_.path() + "/state"); }
  // Replaces node.pem with a certificate for node-a from `ca`.
  void InstallFrom(cp::CertificateAuthority& ca, cp::AgentCertificatePolicy policy = {}) {
    testing::KeyAndCsr request = testing::NewKeyAndCsr();
    auto issued =
        ca.IssueAgentCertificate(request.csr_pem, "node-a", cp_.store().GetNode("node-a")->enrolled_unix_ms(), policy);
    ASSERT_TRUE(issued.ok());
    ASSERT_TRUE(WriteFileAtomic(Files().identity_file, issued->chain_pem + request.key_pem).ok());
  }

  TestControlPlane cp_;
  TempDir state_;
  Enrolled joined_;
};

TEST(RenewalTime, IsHalfTheLifetimeMovedByAtMostTenPercent) {
  const x509::TimePoint start = std::chrono::system_clock::from_time_t(1'700'000'000);
  const x509::TimePoint end = start + 24h;
  EXPECT_EQ(RenewalTime(start, end, 0.5, 0.1, 0.0), start + 12h);
  EXPECT_EQ(RenewalTime(start, end, 0.5, 0.1, -1.0), start + 12h - 72min);
  EXPECT_EQ(RenewalTime(start, end, 0.5, 0.1, 1.0), start + 12h + 72min);
  EXPECT_EQ(RenewalTime(start, end, 0.5, 0.1, 7.0), start + 12h + 72min);  // samples are clamped
}

TEST_F(Renewal, RenewingReplacesTheKeyAndCertificateAndKeepsTheIdentity) {
  auto before = LoadNodeIdentity(Files());
  ASSERT_TRUE(before.ok());
  auto renewed = RenewIdentity(Options());
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  auto after = LoadNodeIdentity(Files());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->serial_hex, before->serial_hex);
  EXPECT_EQ(after->serial_hex, renewed->serial_hex);
  EXPECT_FALSE(x509::SamePublicKey(after->key.get(), before->key.get()));
  EXPECT_EQ(after->spiffe_id, "spiffe://fleet.test/agent/node-a");
  struct stat st {};
  ASSERT_EQ(stat(Files().identity_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Renewal, ARevokedNodeCannotRenew) {
  ASSERT_TRUE(cp::RevokeNode(cp_.store(), "node-a", std::chrono::system_clock::now()).ok());
  const std::string before = *ReadFile(Files().identity_file);
  auto renewed = RenewIdentity(Options());
  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(renewed.status().message().find("renew at " + cp_.address() + ": node \"node-a\" was revoked at"),
            std::string::npos)
      << renewed.status();
  EXPECT_EQ(*ReadFile(Files().identity_file), before);
}

TEST_F(Renewal, AnExpiredCertificateIsRefusedWithWhatToDo) {
  cp_.ShiftCaClock(-48h);
  InstallFrom(cp_.ca(), {.lifetime = 1h});
  auto renewed = RenewIdentity(Options());
  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renewed.status().message().find("certificate renewal: " + Files().identity_file + " expired at "),
            std::string::npos)
      << renewed.status();
  EXPECT_NE(renewed.status().message().find("the node must join again with a new token"), std::string::npos);
}

TEST_F(Renewal, ACertificateFromAnotherCaIsRefusedWithTheReason) {
  TempDir other_dir;
  auto other = cp::CertificateAuthority::Init(other_dir.path(), TestControlPlane::kTrustDomain);
  ASSERT_TRUE(other.ok());
  InstallFrom(**other);
  auto renewed = RenewIdentity(Options());
  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      renewed.status().message().find(Files().identity_file + " is not a client certificate from the fleet CA in " +
                                      Files().ca_file + " (unable to get local issuer certificate)"),
      std::string::npos)
      << renewed.status();
}

TEST_F(Renewal, ASelfSignedCertificateIsRefusedWithTheReason) {
  TempDir other_dir;
  auto self = cp::CertificateAuthority::Init(other_dir.path(), TestControlPlane::kTrustDomain);
  ASSERT_TRUE(self.ok());
  ASSERT_TRUE(
      WriteFileAtomic(Files().identity_file, (*self)->certificate_pem() + *ReadFile(other_dir.path() + "/ca.key"))
          .ok());
  auto renewed = RenewIdentity(Options());
  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renewed.status().message().find("is not a client certificate from the fleet CA"), std::string::npos)
      << renewed.status();
  EXPECT_NE(renewed.status().message().find("self-signed certificate"), std::string::npos) << renewed.status();
}

TEST_F(Renewal, AGarbageIdentityFileIsRefusedWithTheReason) {
  ASSERT_TRUE(WriteFileAtomic(Files().identity_file, "-----BEGIN CERTIFICATE-----\nnope\n").ok());
  auto renewed = RenewIdentity(Options());
  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renewed.status().message().find(Files().identity_file + ": no PEM certificate"), std::string::npos)
      << renewed.status();
}

TEST_F(Renewal, ARefusedCertificateIsToldApartFromAnUnreachableControlPlane) {
  auto identity = LoadNodeIdentity(Files());
  ASSERT_TRUE(identity.ok());
  X509* leaf = identity->chain.front().get();
  EXPECT_TRUE(ProbeClientCertificate(cp_.address(), "", leaf, identity->key.get(), 5s).ok());

  absl::Status unreachable = ProbeClientCertificate(ClosedPort(), "", leaf, identity->key.get(), 5s);
  EXPECT_EQ(unreachable.code(), absl::StatusCode::kUnavailable) << unreachable;
  EXPECT_NE(unreachable.message().find("ECONNREFUSED"), std::string::npos) << unreachable;

  TempDir other_dir;
  auto other = cp::CertificateAuthority::Init(other_dir.path(), TestControlPlane::kTrustDomain);
  ASSERT_TRUE(other.ok());
  testing::KeyAndCsr request = testing::NewKeyAndCsr();
  auto foreign = (*other)->IssueAgentCertificate(request.csr_pem, "node-a", 1, {});
  ASSERT_TRUE(foreign.ok());
  absl::Status refused = ProbeClientCertificate(
      cp_.address(), "", x509::ParseCertificatePem(foreign->chain_pem, "foreign")->get(), request.key.get(), 5s);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_NE(refused.message().find("the control plane refused this certificate in the TLS handshake"),
            std::string::npos);
}

// Short certificates, so the renewer's schedule plays out in seconds.
class RenewerSchedule : public Renewal {
 protected:
  RenewerSchedule() : Renewal({.certificates = {.lifetime = 6s, .backdate = 0s}}) {}
};

TEST_F(RenewerSchedule, TheRenewerRenewsAtAboutHalfTheLifetime) {
  // Certificate times have whole seconds: notBefore lies up to 1 s before
  // issuance, so renewal is due 1.7 s..3.3 s after the join.
  const auto joined_at = std::chrono::steady_clock::now();
  CertificateRenewer renewer({.renew = Options(), .min_retry = 100ms, .max_retry = 1s});
  renewer.Start();
  std::this_thread::sleep_until(joined_at + 1500ms);
  EXPECT_EQ(renewer.Snapshot().renewals, 0u);
  EXPECT_EQ(renewer.Snapshot().serial_hex, joined_.serial_hex);
  while (renewer.Snapshot().renewals == 0 && std::chrono::steady_clock::now() < joined_at + 6s) {
    std::this_thread::sleep_for(50ms);
  }
  renewer.Stop();
  ASSERT_GE(renewer.Snapshot().renewals, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - joined_at, 5s);
  auto now_installed = LoadNodeIdentity(Files());
  ASSERT_TRUE(now_installed.ok()) << now_installed.status();
  EXPECT_NE(now_installed->serial_hex, joined_.serial_hex);
  EXPECT_EQ(renewer.Snapshot().last_error, "");
}

TEST_F(RenewerSchedule, ARenewerThatCannotReachTheControlPlaneKeepsRetryingAndSaysWhy) {
  RenewOptions unreachable = Options();
  unreachable.addresses = {ClosedPort()};
  unreachable.timeout = 1s;
  CertificateRenewer renewer({.renew = unreachable, .min_retry = 100ms, .max_retry = 400ms});
  renewer.Start();
  const auto deadline = std::chrono::steady_clock::now() + 8s;
  while (renewer.Snapshot().last_error.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  CertificateRenewer::State state = renewer.Snapshot();
  renewer.Stop();
  EXPECT_EQ(state.renewals, 0u);
  EXPECT_NE(state.last_error.find("renew at " + unreachable.addresses[0]), std::string::npos) << state.last_error;
  EXPECT_GT(state.next_attempt, std::chrono::system_clock::now() - 1s);
  EXPECT_LT(state.next_attempt, std::chrono::system_clock::now() + 1s);
}

// Connections end after 1 s, so the client reconnects quickly.
class RenewedConnection : public Renewal {
 protected:
  RenewedConnection() : Renewal({.certificates = {}, .max_connection_age = 1s, .max_connection_age_grace = 200ms}) {}
};

TEST_F(RenewedConnection, TheNextConnectionPresentsTheRenewedCertificateWithoutARestart) {
  const IdentityFiles files = Files();
  sync::ControlPlaneOptions options;
  options.addresses = {cp_.address()};
  options.ca_file = files.ca_file;
  options.cert_file = files.identity_file;
  options.key_file = files.identity_file;
  options.node_name = "node-a";
  options.cert_refresh_interval = 1s;
  sync::ControlPlaneClient client(
      options, [](const v1::PolicyBundle&) { return std::vector<v1::PolicyError>{}; }, [] { return uint64_t{0}; });
  client.Start();
  ASSERT_TRUE(cp_.sync().WaitForSerial(joined_.serial_hex, 10s));

  auto renewed = RenewIdentity(Options());
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(cp_.sync().WaitForSerial(renewed->serial_hex, 15s));
  client.Stop();
  // Once renewed, no connection went back to the old certificate.
  std::vector<std::string> serials = cp_.sync().Serials();
  auto first_new = std::find(serials.begin(), serials.end(), renewed->serial_hex);
  ASSERT_NE(first_new, serials.end());
  EXPECT_EQ(std::find(first_new, serials.end(), joined_.serial_hex), serials.end());
}

}  // namespace
}  // namespace rampart::enroll
