// `rampartd --join`: the agent trusts the control plane only through the CA
// pin in the token, keeps its key to itself, and leaves ca.pem and node.pem.
#include "agent/enroll/join.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/common/files.h"
#include "agent/enroll/join_token.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::enroll {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
using testing::TestControlPlane;

int FileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

class Join : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cp_.ok()) << cp_.error(); }

  JoinOptions Options(const identity::JoinToken& token, const std::string& node, const std::string& dir_name) {
    JoinOptions options;
    options.token = token.ToString();
    options.node_name = node;
    options.labels = {{"zone", "eu-1"}};
    options.state_dir = state_.path() + "/" + dir_name;
    options.timeout = 5s;
    return options;
  }

  TestControlPlane cp_;
  TempDir state_;
};

TEST_F(Join, JoiningLeavesTheFleetCaAndAnOwnerOnlyNodeIdentity) {
  auto enrolled = JoinFleet(Options(cp_.NewToken(), "node-a", "a"));
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_EQ(enrolled->spiffe_id, "spiffe://fleet.test/agent/node-a");
  const IdentityFiles files = IdentityFiles::In(state_.path() + "/a");
  EXPECT_EQ(FileMode(state_.path() + "/a"), 0700);
  EXPECT_EQ(FileMode(files.identity_file), 0600);
  EXPECT_EQ(*ReadFile(files.ca_file), cp_.ca().certificate_pem());

  auto identity = LoadNodeIdentity(files);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->serial_hex, enrolled->serial_hex);
  EXPECT_EQ(identity->spiffe_id, enrolled->spiffe_id);
  auto node = cp_.store().GetNode("node-a");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->labels().at("zone"), "eu-1");
  EXPECT_EQ(node->cert_serials(0), enrolled->serial_hex);
}

TEST_F(Join, AServerWhoseCaDoesNotMatchThePinIsRefusedBeforeTheSecretIsSent) {
  identity::JoinToken token = cp_.NewToken();
  const std::string expected = "sha256:" + std::string(64, '0');
  token.ca_pin = expected;
  auto enrolled = JoinFleet(Options(token, "node-a", "a"));
  ASSERT_EQ(enrolled.status().code(), absl::StatusCode::kPermissionDenied);
  auto server_chain = x509::ParseCertificateChainPem(*ReadFile(cp_.ca().server_identity_file()), "server.pem");
  ASSERT_TRUE(server_chain.ok());
  const std::string presented = *x509::SpkiPin((*server_chain)[0].get()) + ", " + cp_.ca().pin();
  EXPECT_EQ(enrolled.status().message(), "control plane " + cp_.address() + ": CA pin mismatch: expected " + expected +
                                             ", server presented " + presented +
                                             " (wrong control plane, or a token from another fleet)");
  EXPECT_FALSE(cp_.store().GetJoinToken(token.id)->used());  // the server never saw the token
  EXPECT_EQ(FileMode(IdentityFiles::In(state_.path() + "/a").identity_file), -1);
}

TEST_F(Join, AJoinTokenUsedTwiceIsRefused) {
  identity::JoinToken token = cp_.NewToken();
  ASSERT_TRUE(JoinFleet(Options(token, "node-a", "a")).ok());
  auto second = JoinFleet(Options(token, "node-b", "b"));
  ASSERT_EQ(second.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(second.status().message().find("join " + cp_.address() + " as node-b: join token " + token.id +
                                           " was already used (by node \"node-a\""),
            std::string::npos)
      << second.status();
  EXPECT_EQ(FileMode(IdentityFiles::In(state_.path() + "/b").identity_file), -1);
}

TEST_F(Join, AnExpiredJoinTokenIsRefused) {
  identity::JoinToken token = cp_.NewToken(10min);
  cp_.ShiftServiceClock(11min);
  auto enrolled = JoinFleet(Options(token, "node-a", "a"));
  ASSERT_EQ(enrolled.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(enrolled.status().message().find("join token " + token.id + " expired at"), std::string::npos)
      << enrolled.status();
}

TEST_F(Join, AWrongSecretIsRefused) {
  identity::JoinToken token = cp_.NewToken();
  token.secret = "aaaaaaaaaaaaaaaa";
  auto enrolled = JoinFleet(Options(token, "node-a", "a"));
  ASSERT_EQ(enrolled.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(enrolled.status().message().find("join token " + token.id + ": wrong secret"), std::string::npos)
      << enrolled.status();
}

TEST_F(Join, JoiningAgainFromAStateDirectoryThatHasJoinedIsRefusedLocally) {
  ASSERT_TRUE(JoinFleet(Options(cp_.NewToken(), "node-a", "a")).ok());
  identity::JoinToken token = cp_.NewToken();
  auto again = JoinFleet(Options(token, "node-a", "a"));
  ASSERT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("this node has already joined"), std::string::npos) << again.status();
  EXPECT_FALSE(cp_.store().GetJoinToken(token.id)->used());
}

TEST_F(Join, AnExplicitAddressOverridesTheTokensAndOneIsRequired) {
  identity::JoinToken token = cp_.NewToken();
  token.address = "127.0.0.1:1";  // nothing listens there
  JoinOptions options = Options(token, "node-a", "a");
  options.address = cp_.address();
  EXPECT_TRUE(JoinFleet(options).ok());

  identity::JoinToken bare = cp_.NewToken();
  bare.address.clear();
  auto enrolled = JoinFleet(Options(bare, "node-b", "b"));
  ASSERT_EQ(enrolled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(enrolled.status().message().find("no control plane address"), std::string::npos);
}

TEST_F(Join, ABadNodeNameIsRefusedBeforeAnythingIsSent) {
  identity::JoinToken token = cp_.NewToken();
  auto enrolled = JoinFleet(Options(token, "Node_A", "a"));
  ASSERT_EQ(enrolled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(enrolled.status().message().find("node name \"Node_A\""), std::string::npos);
  EXPECT_FALSE(cp_.store().GetJoinToken(token.id)->used());
}

TEST_F(Join, AControlPlaneThatDoesNotSpeakTlsIsRefusedClearly) {
  cp::EnrollmentService enrollment(cp_.ca(), cp_.store());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&enrollment);
  auto plaintext = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  identity::JoinToken token = cp_.NewToken();
  token.address = "127.0.0.1:" + std::to_string(port);
  auto enrolled = JoinFleet(Options(token, "node-a", "a"));
  plaintext->Shutdown();
  ASSERT_FALSE(enrolled.ok());
  EXPECT_NE(enrolled.status().message().find("fetch the control plane's certificate from " + token.address +
                                             ": TLS handshake failed (is it a TLS port?)"),
            std::string::npos)
      << enrolled.status();
}

TEST_F(Join, AnUnreachableControlPlaneIsReportedWithTheAddress) {
  identity::JoinToken token = cp_.NewToken();
  token.address = "127.0.0.1:1";
  auto enrolled = JoinFleet(Options(token, "node-a", "a"));
  ASSERT_FALSE(enrolled.ok());
  EXPECT_NE(
      enrolled.status().message().find("fetch the control plane's certificate from 127.0.0.1:1: connect: ECONNREFUSED"),
      std::string::npos)
      << enrolled.status();
}

}  // namespace
}  // namespace rampart::enroll
