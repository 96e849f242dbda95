// The sync channel across control-plane replicas: the client tries its
// addresses in order, moves to the next one at once when a stream ends or an
// address does not answer, and waits (backoff) only after a whole round
// failed. Two real servers on 127.0.0.1 share one fleet CA and store, as two
// rampart-cp replicas do.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/enroll/join.h"
#include "agent/enroll/renewer.h"
#include "agent/sync/control_plane_client.h"
#include "tests/controlplane/pki/test_control_plane.h"

namespace rampart::sync {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSync;
using testing::ClosedPort;
using testing::TempDir;
using testing::TestControlPlane;

// A second replica of `primary`: its own server and AgentSync, the same CA
// directory, authenticator and store.
class SecondReplica {
 public:
  explicit SecondReplica(TestControlPlane& primary) : sync_(primary.authenticator()) {
    auto credentials = cp::AgentServerCredentials(cp::AgentPortTls::FromCaDirectory(primary.ca().dir()));
    if (!credentials.ok()) return;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.RegisterService(&sync_);
    server_ = builder.BuildAndStart();
  }
  ~SecondReplica() { Stop(); }

  bool ok() const { return server_ != nullptr && port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  RecordingSync& sync() { return sync_; }
  // Ends its streams at once, as a replica that dies does.
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

 private:
  RecordingSync sync_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A listening socket nobody accepts from: the kernel completes the TCP
// handshake and then nothing answers, as with a replica that hangs (unlike
// one that is down, which refuses at once).
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~SilentListener() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

class ControlPlaneFailover : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(primary_.ok()) << primary_.error();
    ASSERT_TRUE(second_.ok());
    enroll::JoinOptions options;
    options.token = primary_.NewToken().ToString();
    options.node_name = "node-a";
    options.state_dir = state_.path() + "/state";
    options.timeout = 5s;
    auto joined = enroll::JoinFleet(options);
    ASSERT_TRUE(joined.ok()) << joined.status();
    serial_ = joined->serial_hex;
  }

  std::unique_ptr<ControlPlaneClient> Client(std::vector<std::string> addresses,
                                             std::chrono::milliseconds connect_timeout = 5s) {
    const enroll::IdentityFiles files = enroll::IdentityFiles::In(state_.path() + "/state");
    ControlPlaneOptions options;
    options.addresses = std::move(addresses);
    options.ca_file = files.ca_file;
    options.cert_file = files.identity_file;
    options.key_file = files.identity_file;
    options.node_name = "node-a";
    options.connect_timeout = connect_timeout;
    auto client = std::make_unique<ControlPlaneClient>(
        options, [](const v1::PolicyBundle&) { return std::vector<v1::PolicyError>{}; }, [] { return uint64_t{0}; });
    client->Start();
    return client;
  }

  // Waits until the client reports a stream to `address`; false after `timeout`.
  static bool WaitConnectedTo(const ControlPlaneClient& client, const std::string& address,
                              std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const v1::ControlPlaneStatus status = client.Status();
      if (status.state() == v1::CONNECTION_STATE_CONNECTED && status.address() == address) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  TestControlPlane primary_;
  SecondReplica second_{primary_};
  TempDir state_;
  std::string serial_;
};

TEST_F(ControlPlaneFailover, LosingTheConnectedReplicaMovesTheStreamToTheNextAtOnce) {
  auto client = Client({second_.address(), primary_.address()});
  ASSERT_TRUE(second_.sync().WaitForSerial(serial_, 10s));
  ASSERT_TRUE(WaitConnectedTo(*client, second_.address(), 5s)) << client->Status().ShortDebugString();
  std::shared_ptr<grpc::Channel> before = client->CurrentChannel();
  ASSERT_NE(before, nullptr);

  const auto lost = std::chrono::steady_clock::now();
  second_.Stop();

  ASSERT_TRUE(primary_.sync().WaitForSerial(serial_, 5s));
  ASSERT_TRUE(WaitConnectedTo(*client, primary_.address(), 5s)) << client->Status().ShortDebugString();
  const auto failover = std::chrono::steady_clock::now() - lost;
  EXPECT_LT(failover, 1s) << "no backoff before the first try of the next replica";
  std::shared_ptr<grpc::Channel> after = client->CurrentChannel();
  EXPECT_NE(after, nullptr);
  EXPECT_NE(after, before);
  EXPECT_NE(client->Status().last_error().find(second_.address() + ": "), std::string::npos)
      << client->Status().ShortDebugString();
}

TEST_F(ControlPlaneFailover, AnAddressThatDoesNotAnswerIsSkippedWithoutBackoff) {
  const auto started = std::chrono::steady_clock::now();
  auto client = Client({ClosedPort(), primary_.address()});

  ASSERT_TRUE(WaitConnectedTo(*client, primary_.address(), 5s)) << client->Status().ShortDebugString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_NE(client->CurrentChannel(), nullptr);
}

TEST_F(ControlPlaneFailover, AReplicaThatAcceptsButNeverAnswersIsGivenUpAfterTheConnectTimeout) {
  SilentListener silent;
  ASSERT_FALSE(silent.address().empty());
  const auto started = std::chrono::steady_clock::now();
  auto client = Client({silent.address(), primary_.address()}, 1s);

  ASSERT_TRUE(WaitConnectedTo(*client, primary_.address(), 8s)) << client->Status().ShortDebugString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s)
      << "the hung replica held the stream longer than the connect timeout";
  // Cut by gRPC's handshake deadline or by the client's own wait, whichever
  // fires first: both are the connect timeout.
  EXPECT_EQ(client->Status().last_error().rfind(silent.address() + ": connect: ", 0), 0u)
      << client->Status().ShortDebugString();
}

TEST_F(ControlPlaneFailover, WithNoReplicaAnsweringThereIsNoCurrentChannelAndTheErrorNamesTheAddress) {
  const std::string first = ClosedPort(), second = ClosedPort();
  auto client = Client({first, second});
  std::this_thread::sleep_for(1s);

  const v1::ControlPlaneStatus status = client->Status();
  EXPECT_NE(status.state(), v1::CONNECTION_STATE_CONNECTED);
  EXPECT_EQ(client->CurrentChannel(), nullptr);
  EXPECT_TRUE(status.last_error().rfind(first + ": ", 0) == 0 || status.last_error().rfind(second + ": ", 0) == 0)
      << status.ShortDebugString();
}

TEST_F(ControlPlaneFailover, RenewalGoesToTheFirstReplicaThatAnswers) {
  enroll::RenewOptions options{{ClosedPort(), primary_.address()}, "", state_.path() + "/state", 5s};

  auto renewed = enroll::RenewIdentity(options);

  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_NE(renewed->serial_hex, serial_);
}

TEST_F(ControlPlaneFailover, RenewalWithNoReplicaAnsweringNamesEveryAddress) {
  const std::string first = ClosedPort(), second = ClosedPort();
  enroll::RenewOptions options{{first, second}, "", state_.path() + "/state", 2s};

  auto renewed = enroll::RenewIdentity(options);

  ASSERT_EQ(renewed.status().code(), absl::StatusCode::kUnavailable) << renewed.status();
  EXPECT_NE(renewed.status().message().find("renew: no control plane answered (" + first + ": "), std::string::npos)
      << renewed.status();
  EXPECT_NE(renewed.status().message().find("; " + second + ": "), std::string::npos) << renewed.status();
}

}  // namespace
}  // namespace rampart::sync
