// rampartctl policy show | policy trace against a real rampartd: the agent
// starts from a last-known-good bundle (no control plane) in a server
// namespace with a veth to a client namespace. What `policy show --json`
// reports is the bundle and its node-wide merge; what `policy trace` says
// about a packet is what real connections then meet (allowed, dropped by
// default, dropped by the blocklist), with the exit codes scripts rely on;
// `policy trace --http` gives the node's DLP verdict on a leaking response.
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"
#include "rampart/v1/agent_api.pb.h"
#include "rampart/v1/policy.pb.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::NetNs;
using testing::Shell;
using testing::VethPair;
using testing::WaitFor;

const std::string kBuild = RAMPART_BUILD_DIR;
constexpr char kServerIp[] = "10.233.0.1";
constexpr char kClientIp[] = "10.233.0.2";

constexpr char kListener[] = R"(
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
for p in sys.argv[1:]:
    threading.Thread(target=tcp, args=(int(p),), daemon=True).start()
threading.Event().wait()
)";

// A card number that is not a well-known test number: DLP calls it high.
constexpr char kLeak[] =
    "GET /cards/1 HTTP/1.1\r\nHost: shop\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"card\":\"4539148803436467\"}";

class RampartctlPolicyEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    char tmpl[] = "/tmp/rampart-ctl-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pin_dir_ = "/sys/fs/bpf/" + testing::UniqueName("rampart-c");
    server_ = std::make_unique<NetNs>(testing::UniqueName("rts"));
    client_ = std::make_unique<NetNs>(testing::UniqueName("rtc"));
    server_if_ = testing::UniqueName("rtv");
    veth_ = std::make_unique<VethPair>(testing::VethEnd{server_.get(), server_if_, "10.233.0.1/24", ""},
                                       testing::VethEnd{client_.get(), "eth0", "10.233.0.2/24", ""});
    std::ofstream(dir_ + "/listener.py") << kListener;
    listener_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + server_->Path(), "python3", dir_ + "/listener.py", "8080",
                                 "9090"},
        dir_ + "/listener.log");
    ASSERT_TRUE(WaitFor([&] { return Connects(8080) && Connects(9090); }, 10s)) << "listener never came up";

    // The last-known-good the agent enforces at start, as a control plane would have sent it.
    v1::PolicyBundle bundle;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(
          version: 5
          policies {
            api_version: "rampart/v1" kind: "Policy" metadata { name: "web" } source: "web.yaml"
            spec {
              interfaces: ")pb" + server_if_ + R"pb("
              segmentation {
                ingress {
                  default_action: DEFAULT_ACTION_DENY
                  allow { name: "http" from: "10.233.0.0/24" ports: "tcp/8080" }
                }
              }
              rate_limits { name: "http-per-source" match { ports: "tcp/8080" } packets_per_second: 100000 }
              inspection { dlp { verdict { action: VERDICT_ACTION_BLOCK min_severity: "high" } } }
            }
          })pb",
        &bundle));
    std::filesystem::create_directories(dir_ + "/agent");
    std::ofstream(dir_ + "/agent/last-known-good.pb", std::ios::binary) << bundle.SerializeAsString();
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + server_->Path(), kBuild + "/agent/rampartd", "--node-name",
                                 "ctl-e2e", "--state-dir", dir_ + "/agent", "--socket", dir_ + "/agent.sock",
                                 "--pin-dir", pin_dir_},
        dir_ + "/agent.log");
    ASSERT_TRUE(WaitFor([&] { return Ctl("policy show --json").exit == 0; }, 15s)) << Logs();
  }

  void TearDown() override {
    agent_.reset();
    listener_.reset();
    if (!pin_dir_.empty()) Shell("rm -rf " + pin_dir_);
    veth_.reset();
    client_.reset();
    server_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Logs() { return "\n--- agent.log\n" + testing::Capture("tail -20 " + dir_ + "/agent.log"); }

  struct Result {
    int exit = -1;
    std::string out;  // stdout
    std::string err;  // stderr
  };

  Result Ctl(const std::string& args) {
    const std::string err_file = dir_ + "/ctl.err";
    const std::string command =
        kBuild + "/agent/rampartctl --socket " + dir_ + "/agent.sock " + args + " 2>" + err_file;
    Result r;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) r.out.append(buffer, n);
    r.exit = WEXITSTATUS(pclose(pipe));
    r.err = testing::Capture("cat " + err_file);
    return r;
  }

  template <typename Message>
  Message Json(const Result& r) {
    Message message;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &message).ok()) << r.out << r.err;
    return message;
  }

  // A real TCP connection from the client namespace.
  bool Connects(int port) {
    return Shell(client_->Exec() + "python3 -c \"import socket; s = socket.create_connection(('" + kServerIp + "', " +
                 std::to_string(port) + "), timeout=2); assert s.recv(6) == b'hello\\n'\" 2>/dev/null") == 0;
  }

  std::string Trace(int port) {
    return std::string("policy trace --from ") + kClientIp + " --to " + kServerIp + " --proto tcp --sport 40000 --dport " +
           std::to_string(port);
  }

  std::string dir_, pin_dir_, server_if_;
  std::unique_ptr<NetNs> server_, client_;
  std::unique_ptr<VethPair> veth_;
  std::unique_ptr<ChildProcess> listener_, agent_;
};

TEST_F(RampartctlPolicyEndToEnd, ShowReportsTheBundleInForceAndItsMerge) {
  Result show = Ctl("policy show --json");
  ASSERT_EQ(show.exit, 0) << show.err;
  const auto policy = Json<v1::AppliedPolicy>(show);
  EXPECT_EQ(policy.version(), 5u);
  EXPECT_EQ(policy.source(), "last-known-good");
  ASSERT_EQ(policy.interfaces_size(), 1);
  EXPECT_EQ(policy.interfaces(0), server_if_);
  EXPECT_EQ(policy.ingress_default(), "deny");
  EXPECT_EQ(policy.egress_default(), "allow");
  ASSERT_EQ(policy.bundle().policies_size(), 1);
  EXPECT_EQ(policy.bundle().policies(0).spec().segmentation().ingress().allow(0).name(), "http");
  ASSERT_EQ(policy.families_size(), 1);
  EXPECT_EQ(policy.families(0).family(), "dlp");
  EXPECT_EQ(policy.families(0).action(), "block");

  Result table = Ctl("policy show");
  ASSERT_EQ(table.exit, 0) << table.err;
  EXPECT_NE(table.out.find("Policy version: 5 (from last-known-good)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("web     http  10.233.0.0/24  tcp/8080"), std::string::npos) << table.out;
}

TEST_F(RampartctlPolicyEndToEnd, TheTracesVerdictIsWhatRealConnectionsMeet) {
  Result allowed = Ctl(Trace(8080) + " --json");
  EXPECT_EQ(allowed.exit, 0) << allowed.out << allowed.err;
  const auto allow = Json<v1::PacketTrace>(allowed);
  EXPECT_EQ(allow.verdict(), "allow");
  EXPECT_EQ(allow.reason(), "allow_rule");
  EXPECT_EQ(allow.rule(), "http");
  EXPECT_EQ(allow.prefix(), "10.233.0.0/24");
  EXPECT_EQ(allow.rate_limit(), "web/http-per-source");
  EXPECT_TRUE(allow.enforced());
  EXPECT_TRUE(Connects(8080));

  Result dropped = Ctl(Trace(9090));
  EXPECT_EQ(dropped.exit, 3) << dropped.out << dropped.err;
  EXPECT_NE(dropped.out.find("rule web/http tcp/8080: port 9090 is outside 8080"), std::string::npos) << dropped.out;
  EXPECT_NE(dropped.out.find("Verdict: DROP (drop_default)"), std::string::npos) << dropped.out;
  EXPECT_FALSE(Connects(9090));

  // The blocklist comes first, read from the map the programs read.
  Result block = Ctl(std::string("block add ") + kClientIp + " --ttl 60 --json");
  ASSERT_EQ(block.exit, 0) << block.err;
  EXPECT_EQ(block.out, std::string("{\"source\":\"") + kClientIp + "\",\"ttl_ms\":\"60000\"}\n");
  Result blocked = Ctl(Trace(8080) + " --json");
  EXPECT_EQ(blocked.exit, 3) << blocked.out;
  const auto trace = Json<v1::PacketTrace>(blocked);
  EXPECT_EQ(trace.reason(), "drop_blocked");
  EXPECT_EQ(trace.blocked_by().source(), kClientIp);
  EXPECT_FALSE(Connects(8080));
  Result unblock = Ctl(std::string("block del ") + kClientIp + " --json");
  EXPECT_EQ(unblock.exit, 0);
  EXPECT_EQ(unblock.out, "{\"removed\":true}\n");
  EXPECT_EQ(Ctl(Trace(8080)).exit, 0);
  EXPECT_TRUE(Connects(8080));

  // An interface without Rampart's programs: the packet passes unseen.
  Result elsewhere = Ctl(Trace(9090) + " --interface lo --json");
  EXPECT_EQ(elsewhere.exit, 0) << elsewhere.out;
  EXPECT_EQ(Json<v1::PacketTrace>(elsewhere).reason(), "not_attached");

  Result bad = Ctl("policy trace --from 10.233.0.2 --to 2001:db8::1 --proto tcp --dport 1");
  EXPECT_EQ(bad.exit, 2);
  EXPECT_EQ(bad.err, "rampartctl: --from 10.233.0.2 and --to 2001:db8::1 are not of one address family\n");
}

TEST_F(RampartctlPolicyEndToEnd, HttpTraceGivesTheNodesDlpVerdict) {
  std::ofstream(dir_ + "/leak.http") << kLeak;
  Result leak = Ctl("policy trace --http " + dir_ + "/leak.http --json");
  EXPECT_EQ(leak.exit, 3) << leak.out << leak.err;
  const auto trace = Json<v1::HttpTrace>(leak);
  EXPECT_EQ(trace.policy_version(), 5u);
  EXPECT_EQ(trace.messages(), 2u);
  ASSERT_EQ(trace.findings_size(), 1) << leak.out;
  EXPECT_EQ(trace.findings(0).detector(), "dlp.credit_card");
  EXPECT_EQ(trace.findings(0).action(), "block");
  EXPECT_FALSE(trace.findings(0).is_request());
  EXPECT_EQ(leak.out.find("4539148803436467"), std::string::npos) << "plaintext in the output";
  // Tracing blocks nothing: the agent's blocklist is as it was.
  EXPECT_EQ(Ctl("block list --json").out, "{\"entries\":[]}\n");

  std::ofstream(dir_ + "/clean.http") << "GET / HTTP/1.1\r\nHost: shop\r\n\r\n";
  Result clean = Ctl("policy trace --http " + dir_ + "/clean.http");
  EXPECT_EQ(clean.exit, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("Verdict: nothing found"), std::string::npos) << clean.out;
}

TEST_F(RampartctlPolicyEndToEnd, AStoppedAgentIsOneClearLine) {
  EXPECT_EQ(agent_->Stop(), 0);
  Result status = Ctl("status");
  EXPECT_EQ(status.exit, 1);
  EXPECT_EQ(status.err, "rampartctl: cannot reach the agent at " + dir_ +
                            "/agent.sock: no such socket (is rampartd running? see --socket)\n");
}

}  // namespace
}  // namespace rampart
