// Fleet membership with the real binaries (docs/identity.md): `rampart-cp ca
// init` makes the fleet CA, `token create` a one-time join token, and
// `rampartd --join` turns it into the node's own certificate, after which the
// agent needs no token to restart. A used or expired token is refused with a
// clear error, and `node delete` shuts the node out. Everything runs in a
// namespace of the test's own, over its loopback.
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"
#include "rampart/v1/admin.pb.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using testing::Capture;
using testing::ChildProcess;
using testing::NetNs;
using testing::Shell;
using testing::WaitFor;

const std::string kBuild = RAMPART_BUILD_DIR;

// The whole file; "" when it cannot be read.
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
const std::string kCp = kBuild + "/controlplane/rampart-cp";

class FleetIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    char tmpl[] = "/tmp/rampart-fleet-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ns_ = std::make_unique<NetNs>(testing::UniqueName("rpf"));
    ASSERT_EQ(Shell(kCp + " ca init --dir " + dir_ + "/ca --hosts localhost,127.0.0.1 > " + dir_ + "/ca.log 2>&1"), 0)
        << ReadFile(dir_ + "/ca.log");
    control_plane_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + ns_->Path(), kCp, "serve", "--listen", "127.0.0.1:7443",
                                 "--ca-dir", dir_ + "/ca", "--state-dir", dir_ + "/cp", "--admin-socket", Admin()},
        dir_ + "/cp.log");
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(Admin()); }, 10s)) << Logs("");
  }

  void TearDown() override {
    agents_.clear();
    control_plane_.reset();
    for (const auto& pins : pin_dirs_) Shell("rm -rf " + pins);
    ns_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Admin() const { return dir_ + "/cp-admin.sock"; }

  // `rampart-cp token create`: the token alone on stdout.
  std::string CreateToken(const std::string& ttl) {
    std::string token = Capture(kCp + " token create --ttl " + ttl + " --admin-socket " + Admin() + " 2>/dev/null");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  // rampartd as node `name`, its state in dir/<name>; `extra` picks how it
  // comes by its identity (--join TOKEN, or nothing to reuse an earlier join).
  ChildProcess& StartAgent(const std::string& name, const std::vector<std::string>& extra) {
    const std::string pins = "/sys/fs/bpf/" + testing::UniqueName("rampart-f");
    pin_dirs_.push_back(pins);
    std::vector<std::string> argv = {"nsenter", "--net=" + ns_->Path(), kBuild + "/agent/rampartd",
                                     "--control-plane", "127.0.0.1:7443", "--node-name", name,
                                     "--state-dir", dir_ + "/" + name, "--socket", Socket(name),
                                     "--pin-dir", pins};
    argv.insert(argv.end(), extra.begin(), extra.end());
    agents_.push_back(std::make_unique<ChildProcess>(argv, dir_ + "/" + name + ".log"));
    return *agents_.back();
  }

  std::string Socket(const std::string& name) const { return dir_ + "/" + name + ".sock"; }

  v1::AgentStatus Status(const std::string& name) {
    std::string json =
        Capture(kBuild + "/agent/rampartctl --socket " + Socket(name) + " status --json 2>/dev/null");
    v1::AgentStatus status;
    if (!google::protobuf::util::JsonStringToMessage(json, &status).ok()) return v1::AgentStatus();
    return status;
  }

  bool Connected(const std::string& name) {
    return Status(name).control_plane().state() == v1::CONNECTION_STATE_CONNECTED;
  }

  v1::ListNodesReply Nodes() {
    v1::ListNodesReply reply;
    const std::string json = Capture(kCp + " nodes --json --admin-socket " + Admin() + " 2>/dev/null");
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &reply).ok()) << json;
    return reply;
  }

  // Waits for an agent that must give up at start; returns its log.
  std::string ExitedWithError(ChildProcess& agent, const std::string& name) {
    EXPECT_TRUE(WaitFor([&] { return !agent.Running(); }, 20s)) << name << " kept running" << Logs(name);
    return ReadFile(dir_ + "/" + name + ".log");
  }

  std::string Logs(const std::string& name) {
    return "\n--- " + name + ".log\n" + Capture("tail -20 " + dir_ + "/" + name + ".log 2>/dev/null") +
           "--- cp.log\n" + Capture("tail -20 " + dir_ + "/cp.log");
  }

  std::string dir_;
  std::unique_ptr<NetNs> ns_;
  std::unique_ptr<ChildProcess> control_plane_;
  std::vector<std::unique_ptr<ChildProcess>> agents_;
  std::vector<std::string> pin_dirs_;
};

TEST_F(FleetIdentity, JoinedNodeGetsItsOwnIdentityAndRestartsWithoutAToken) {
  const std::string token = CreateToken("10m");
  ASSERT_FALSE(token.empty()) << Logs("");
  ChildProcess& first = StartAgent("web-1", {"--join", token});
  ASSERT_TRUE(WaitFor([&] { return Connected("web-1"); }, 20s)) << Logs("web-1");

  // The key was made on the node and is private; the token is nowhere on disk.
  const std::string identity = dir_ + "/web-1/node.pem";
  ASSERT_TRUE(std::filesystem::exists(identity));
  EXPECT_EQ(std::filesystem::status(identity).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string secret = token.substr(7, 16);
  EXPECT_EQ(Capture("grep -rl " + secret + " " + dir_ + " 2>/dev/null"), "") << "the token's secret was stored";
  const std::string subject = Capture("openssl x509 -in " + identity + " -noout -ext subjectAltName,extendedKeyUsage");
  EXPECT_NE(subject.find("URI:spiffe://rampart.local/agent/web-1"), std::string::npos) << subject;
  EXPECT_NE(subject.find("TLS Web Client Authentication"), std::string::npos) << subject;
  EXPECT_EQ(subject.find("Server Authentication"), std::string::npos) << subject;

  const v1::ListNodesReply nodes = Nodes();
  ASSERT_EQ(nodes.nodes_size(), 1) << nodes.ShortDebugString();
  EXPECT_EQ(nodes.nodes(0).name(), "web-1");

  // Restarted without --join: the stored identity is enough.
  EXPECT_EQ(first.Stop(), 0);
  StartAgent("web-1", {});
  EXPECT_TRUE(WaitFor([&] { return Connected("web-1"); }, 20s)) << "restart without a token" << Logs("web-1");
}

TEST_F(FleetIdentity, UsedAndExpiredTokensAreRefusedWithAClearError) {
  const std::string token = CreateToken("10m");
  StartAgent("web-1", {"--join", token});
  ASSERT_TRUE(WaitFor([&] { return Connected("web-1"); }, 20s)) << Logs("web-1");

  // The same token again, for another node.
  const std::string reused = ExitedWithError(StartAgent("web-2", {"--join", token}), "web-2");
  EXPECT_NE(reused.find("already used"), std::string::npos) << reused;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/web-2/node.pem"));

  const std::string short_lived = CreateToken("1s");
  std::this_thread::sleep_for(2s);
  const std::string expired = ExitedWithError(StartAgent("web-3", {"--join", short_lived}), "web-3");
  EXPECT_NE(expired.find("expired"), std::string::npos) << expired;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/web-3/node.pem"));

  // A token whose pin names another CA: the agent refuses the control plane.
  std::string wrong_pin = CreateToken("10m");
  const size_t pin = wrong_pin.find("sha256:") + 7;
  wrong_pin[pin] = wrong_pin[pin] == '0' ? '1' : '0';
  const std::string pinned = ExitedWithError(StartAgent("web-4", {"--join", wrong_pin}), "web-4");
  EXPECT_NE(pinned.find("pin"), std::string::npos) << pinned;

  // Secrets never reach a log.
  for (const std::string& t : {token, short_lived, wrong_pin}) {
    const std::string secret = t.substr(7, 16);
    EXPECT_EQ(ReadFile(dir_ + "/cp.log").find(secret), std::string::npos);
    for (const char* agent : {"web-1", "web-2", "web-3", "web-4"}) {
      EXPECT_EQ(ReadFile(dir_ + "/" + agent + ".log").find(secret), std::string::npos) << agent;
    }
  }
}

TEST_F(FleetIdentity, DeletedNodeIsShutOut) {
  ChildProcess& agent = StartAgent("web-1", {"--join", CreateToken("10m")});
  ASSERT_TRUE(WaitFor([&] { return Connected("web-1"); }, 20s)) << Logs("web-1");
  ASSERT_EQ(Shell(kCp + " node delete web-1 --admin-socket " + Admin() + " > " + dir_ + "/delete.log 2>&1"), 0)
      << ReadFile(dir_ + "/delete.log");
  EXPECT_NE(Shell(kCp + " node delete ghost --admin-socket " + Admin() + " 2>/dev/null"), 0);

  // Its certificate no longer opens a stream.
  EXPECT_EQ(agent.Stop(), 0);
  StartAgent("web-1", {});
  std::this_thread::sleep_for(3s);
  const v1::AgentStatus status = Status("web-1");
  EXPECT_NE(status.control_plane().state(), v1::CONNECTION_STATE_CONNECTED) << status.ShortDebugString();
  EXPECT_NE(ReadFile(dir_ + "/cp.log").find("revoked"), std::string::npos) << Logs("web-1");
}

}  // namespace
}  // namespace rampart
