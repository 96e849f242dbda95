// The agent port's TLS: mistakes in its files are one clear error at startup,
// and a replaced server certificate is served without a restart.
#include "controlplane/pki/server_credentials.h"

#include <gtest/gtest.h>

#include <thread>

#include "agent/common/files.h"
#include "agent/enroll/tls_probe.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::cp {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

class AgentPort : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::Init(dir_.path() + "/ca", "fleet.test");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
    ASSERT_TRUE(ca_->WriteServerIdentity({"localhost", "127.0.0.1"}).ok());
  }
  TempDir dir_;
  std::unique_ptr<CertificateAuthority> ca_;
};

TEST_F(AgentPort, CredentialsFromACaDirectoryWork) {
  EXPECT_TRUE(AgentServerCredentials(AgentPortTls::FromCaDirectory(ca_->dir())).ok());
}

TEST_F(AgentPort, AMissingFileIsNamed) {
  AgentPortTls tls = AgentPortTls::FromCaDirectory(ca_->dir());
  tls.client_ca_file = dir_.path() + "/nope.pem";
  auto credentials = AgentServerCredentials(tls);
  ASSERT_FALSE(credentials.ok());
  EXPECT_NE(credentials.status().message().find("read " + tls.client_ca_file), std::string::npos)
      << credentials.status();
}

TEST_F(AgentPort, AKeyThatDoesNotMatchTheCertificateIsRefused) {
  AgentPortTls tls = AgentPortTls::FromCaDirectory(ca_->dir());
  tls.key_file = ca_->dir() + "/ca.key";
  auto credentials = AgentServerCredentials(tls);
  ASSERT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(credentials.status().message().find("is not the key of the certificate in"), std::string::npos)
      << credentials.status();
}

TEST_F(AgentPort, AClientCaThatIsNotACaIsRefused) {
  AgentPortTls tls = AgentPortTls::FromCaDirectory(ca_->dir());
  tls.client_ca_file = ca_->server_identity_file();
  auto credentials = AgentServerCredentials(tls);
  ASSERT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(credentials.status().message().find("is not a CA certificate"), std::string::npos) << credentials.status();
}

TEST(AgentPortReload, AReplacedServerCertificateIsServedWithoutARestart) {
  testing::TestControlPlane cp;  // reloads every second
  ASSERT_TRUE(cp.ok()) << cp.error();
  auto before = enroll::FetchServerChain(cp.address(), "", 5s);
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string old_serial = x509::SerialHex(before->front().get());

  ASSERT_TRUE(cp.ca().WriteServerIdentity({"localhost", "127.0.0.1"}).ok());
  const std::string new_serial =
      x509::SerialHex(x509::ParseCertificatePem(*ReadFile(cp.ca().server_identity_file()), "server.pem")->get());
  ASSERT_NE(new_serial, old_serial);
  std::string served = old_serial;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       served != new_serial && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    auto chain = enroll::FetchServerChain(cp.address(), "", 5s);
    ASSERT_TRUE(chain.ok()) << chain.status();
    served = x509::SerialHex(chain->front().get());
  }
  EXPECT_EQ(served, new_serial);
}

}  // namespace
}  // namespace rampart::cp
