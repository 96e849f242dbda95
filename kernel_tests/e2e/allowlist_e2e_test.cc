// End to end, with the real binaries: rampart-cp and rampartd run in a server
// namespace and talk over its loopback with mutual TLS; a client namespace
// reaches the server over a veth. The policy pushed by the control plane
// decides which real TCP connections and UDP datagrams get through, and
// `rampartctl status --json` must agree with what happened.
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/managed_node.h"
#include "kernel_tests/fixtures/netns.h"
#include "kernel_tests/fixtures/process.h"
#include "rampart/v1/agent_api.pb.h"
#include "rampart/v1/events.pb.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;
using testing::Capture;
using testing::ChildProcess;
using testing::NetNs;
using testing::Shell;
using testing::VethPair;
using testing::WaitFor;

const std::string kBuild = RAMPART_BUILD_DIR;
constexpr char kServerIp[] = "10.231.0.1";

// A TCP listener on each port given, and a UDP socket on 5353 that counts nothing.
constexpr char kListeners[] = R"(
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
for p in sys.argv[1:]:
    threading.Thread(target=tcp, args=(int(p),), daemon=True).start()
while True:
    u.recv(2048)
)";

class AllowlistEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    char tmpl[] = "/tmp/rampart-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = std::make_unique<NetNs>(testing::UniqueName("rps"));
    client_ = std::make_unique<NetNs>(testing::UniqueName("rpc"));
    server_if_ = testing::UniqueName("rpv");
    veth_ = std::make_unique<VethPair>(testing::VethEnd{server_.get(), server_if_, "10.231.0.1/24", ""},
                                       testing::VethEnd{client_.get(), "eth0", "10.231.0.2/24", ""});
    std::ofstream(dir_ + "/listeners.py") << kListeners;
    listeners_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + server_->Path(), "python3", dir_ + "/listeners.py", "8080",
                                 "9090"},
        dir_ + "/listeners.log");
    // Both daemons serve metrics; rampartd sends drop summaries every second.
    node_ = std::make_unique<testing::ManagedNode>(
        *server_, dir_,
        testing::ManagedNode::Options{.node_name = "e2e-node",
                                      .extra_agent_flags = {"--label", "role=web", "--drop-summary-interval", "1",
                                                            "--metrics-address", "127.0.0.1:9970"},
                                      .extra_cp_flags = {"--metrics-address", "127.0.0.1:9971"}});
    ASSERT_NO_FATAL_FAILURE(node_->Start());
  }

  void TearDown() override {
    node_.reset();  // rampartd, rampart-cp, the pins
    listeners_.reset();
    veth_.reset();
    client_.reset();
    server_.reset();
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  std::string Logs() { return node_->Logs(); }
  v1::AgentStatus Status() { return node_->Status(); }

  std::string WritePolicy(const std::string& name, const std::string& interface, const std::string& allow) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: " << name
                        << "}\nspec:\n  nodeSelector: {role: web}\n  interfaces: [" << interface
                        << "]\n  segmentation:\n    ingress:\n      default: deny\n      allow:\n" << allow;
    return path;
  }

  int Apply(const std::string& path) {
    return Shell(kBuild + "/controlplane/rampart-cp policy apply -f " + path + " --admin-socket " + dir_ +
               "/cp-admin.sock");
  }

  bool WaitForVersion(uint64_t version) {
    return WaitFor([&] { return Status().policy_version() == version; }, 15s);
  }

  // A real TCP connection from the client namespace; true when the server's greeting arrives.
  bool Connects(int port) {
    return Shell(client_->Exec() + "python3 -c \"import socket; s = socket.create_connection(('" + kServerIp + "', " +
               std::to_string(port) + "), timeout=2); assert s.recv(6) == b'hello\\n'\" 2>/dev/null") == 0;
  }

  void SendUdp(int port, int count) {
    ASSERT_EQ(Shell(client_->Exec() + "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                    "for _ in range(" + std::to_string(count) + "): s.sendto(b'x' * 32, ('" + kServerIp +
                  "', " + std::to_string(port) + "))\""),
              0);
  }

  uint64_t ReasonCount(const v1::AgentStatus& status, const std::string& direction, const std::string& reason) {
    for (const auto& r : status.counters().by_reason()) {
      if (r.direction() == direction && r.reason() == reason) return r.packets();
    }
    return 0;
  }

  uint64_t RuleCount(const v1::AgentStatus& status, const std::string& rule) {
    for (const auto& r : status.counters().by_rule()) {
      if (r.rule() == rule) return r.packets();
    }
    return 0;
  }

  std::string dir_, server_if_;
  std::unique_ptr<NetNs> server_, client_;
  std::unique_ptr<VethPair> veth_;
  std::unique_ptr<ChildProcess> listeners_;
  std::unique_ptr<testing::ManagedNode> node_;
};

TEST_F(AllowlistEndToEnd, PushedPolicyAllowsOnePortDropsAnotherAndCountersAgree) {
  ASSERT_TRUE(WaitFor([&] { return Connects(8080) && Connects(9090); }, 10s)) << "listeners never came up";

  ASSERT_EQ(Apply(WritePolicy("web", server_if_,
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\"]}\n")),
            0);
  ASSERT_TRUE(WaitForVersion(1)) << Logs();
  v1::AgentStatus before = Status();
  ASSERT_EQ(before.programs_size(), 2) << before.DebugString();
  for (const auto& program : before.programs()) {
    EXPECT_EQ(program.interface(), server_if_);
    EXPECT_NE(program.program_id(), 0u);
    if (program.direction() == "ingress") {
      EXPECT_EQ(program.hook(), "xdp-generic");  // `auto` on a veth
    } else {
      EXPECT_EQ(program.hook(), "tc");
    }
  }
  EXPECT_EQ(before.control_plane().state(), v1::CONNECTION_STATE_CONNECTED);

  EXPECT_TRUE(Connects(8080));
  EXPECT_FALSE(Connects(9090));
  SendUdp(5353, 7);

  v1::AgentStatus after = Status();
  // Every datagram to the unlisted UDP port was dropped and counted, plus the
  // SYN (and its retransmissions) to 9090.
  EXPECT_GE(after.counters().dropped_packets() - before.counters().dropped_packets(), 7u + 1u);
  // The accepted connection's packets were allowed by the rule that names them.
  const uint64_t allowed =
      ReasonCount(after, "ingress", "allow_rule") - ReasonCount(before, "ingress", "allow_rule");
  EXPECT_GE(allowed, 3u);  // SYN, ACK, FIN at least
  EXPECT_EQ(RuleCount(after, "http") - RuleCount(before, "http"), allowed);
  EXPECT_EQ(ReasonCount(after, "ingress", "allow_default"), 0u);  // default deny: nothing else got in

  // Exactness: with nothing else in flight, N datagrams move the drop counter by exactly N.
  v1::AgentStatus quiet = Status();
  SendUdp(5353, 25);
  EXPECT_EQ(Status().counters().dropped_packets() - quiet.counters().dropped_packets(), 25u);
}

TEST_F(AllowlistEndToEnd, PolicyForAMissingInterfaceIsRefusedAndTheOldOneStays) {
  ASSERT_TRUE(WaitFor([&] { return Connects(8080); }, 10s)) << "listeners never came up";
  ASSERT_EQ(Apply(WritePolicy("web", server_if_,
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\"]}\n")),
            0);
  ASSERT_TRUE(WaitForVersion(1)) << Logs();

  // Version 2 opens 9090 but names an interface this node lacks: the agent NACKs it.
  ASSERT_EQ(Apply(WritePolicy("web", "nosuchif0",
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\", \"tcp/9090\"]}\n")),
            0);
  ASSERT_TRUE(WaitFor([&] { return !Status().last_policy_error().empty(); }, 10s)) << Logs();
  v1::AgentStatus status = Status();
  EXPECT_EQ(status.policy_version(), 1u);
  EXPECT_NE(status.last_policy_error().find("spec.interfaces[0]: interface \"nosuchif0\" does not exist"),
            std::string::npos)
      << status.last_policy_error();
  EXPECT_TRUE(Connects(8080));
  EXPECT_FALSE(Connects(9090));  // nothing of version 2 was applied

  // The control plane records the refusal against the node.
  std::string nodes = Capture(kBuild + "/controlplane/rampart-cp nodes --json --admin-socket " + dir_ + "/cp-admin.sock");
  EXPECT_NE(nodes.find("nosuchif0"), std::string::npos) << nodes;
}

TEST_F(AllowlistEndToEnd, AgentKilledHardKeepsEnforcingAndRestartsFromLastKnownGood) {
  ASSERT_TRUE(WaitFor([&] { return Connects(8080); }, 10s)) << "listeners never came up";
  ASSERT_EQ(Apply(WritePolicy("web", server_if_,
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\"]}\n")),
            0);
  ASSERT_TRUE(WaitForVersion(1)) << Logs();

  node_->KillAgent();
  EXPECT_TRUE(Connects(8080));
  EXPECT_FALSE(Connects(9090));  // the pinned program still drops

  node_->StopControlPlane();  // the restarted agent must not need it
  node_->StartAgent();
  ASSERT_TRUE(WaitForVersion(1)) << Logs();
  v1::AgentStatus status = Status();
  EXPECT_EQ(status.policy_source(), "last-known-good");
  EXPECT_NE(status.control_plane().state(), v1::CONNECTION_STATE_CONNECTED);
  EXPECT_TRUE(Connects(8080));
  EXPECT_FALSE(Connects(9090));
}

// The node's drops travel to the control plane as summaries on the event
// stream: exact counts by reason, and the sampled source, which
// `rampart-cp events --drops` shows.
TEST_F(AllowlistEndToEnd, DropsReachTheControlPlaneAsSummaries) {
  ASSERT_TRUE(WaitFor([&] { return Connects(8080); }, 10s)) << "listeners never came up";
  ASSERT_EQ(Apply(WritePolicy("web", server_if_,
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\"]}\n")),
            0);
  ASSERT_TRUE(WaitForVersion(1)) << Logs();

  SendUdp(5353, 40);

  // Every summary the control plane holds, as JSON lines.
  const std::string events = dir_ + "/events.json";
  uint64_t dropped = 0;
  v1::FleetEvent last;
  ASSERT_TRUE(WaitFor(
      [&] {
        Shell(kBuild + "/controlplane/rampart-cp events --drops --json --admin-socket " + dir_ + "/cp-admin.sock > " +
              events + " 2>&1");
        std::ifstream in(events);
        dropped = 0;
        for (std::string line; std::getline(in, line);) {
          v1::FleetEvent event;
          if (!google::protobuf::util::JsonStringToMessage(line, &event).ok()) continue;
          dropped += event.drops().dropped_packets();
          last = event;
        }
        return dropped >= 40;
      },
      15s))
      << "summaries added up to " << dropped << " dropped packets\n"
      << Capture("cat " + events) << Capture(kBuild + "/agent/rampartctl --socket " + dir_ + "/agent.sock status")
      << Capture(kBuild + "/controlplane/rampart-cp events --stats --admin-socket " + dir_ + "/cp-admin.sock") << Logs();
  EXPECT_EQ(last.node(), "e2e-node");
  bool named_reason = false, named_source = false;
  for (const auto& r : last.drops().by_reason()) named_reason |= r.reason() == "drop_default";
  for (const auto& s : last.drops().top_sources()) named_source |= s.source() == "10.231.0.2";
  EXPECT_TRUE(named_reason) << last.ShortDebugString();
  EXPECT_TRUE(named_source) << last.ShortDebugString();

  // The text view names the node and the reason on one line.
  const std::string text =
      Capture(kBuild + "/controlplane/rampart-cp events --admin-socket " + dir_ + "/cp-admin.sock");
  EXPECT_NE(text.find("e2e-node  drops    dropped"), std::string::npos) << text;
  EXPECT_NE(text.find("drop_default/ingress="), std::string::npos) << text;
}

// Both daemons serve Prometheus metrics; what they say agrees with what happened.
TEST_F(AllowlistEndToEnd, AgentAndControlPlaneServePrometheusMetrics) {
  ASSERT_TRUE(WaitFor([&] { return Connects(8080); }, 10s)) << "listeners never came up";
  ASSERT_EQ(Apply(WritePolicy("web", server_if_,
                              "        - {name: http, from: [10.231.0.0/24], ports: [\"tcp/8080\"]}\n")),
            0);
  ASSERT_TRUE(WaitForVersion(1)) << Logs();
  SendUdp(5353, 12);
  EXPECT_TRUE(Connects(8080));

  const std::string agent = Capture(server_->Exec() + "curl -sf http://127.0.0.1:9970/metrics");
  EXPECT_NE(agent.find("rampart_drops_total{direction=\"ingress\",reason=\"drop_default\"} 12"), std::string::npos)
      << agent;
  EXPECT_NE(agent.find("rampart_policy_version{source=\"control-plane\"} 1"), std::string::npos) << agent;
  EXPECT_NE(agent.find("rampart_rule_hits_total{direction=\"ingress\",policy=\"web\",rule=\"http\"}"),
            std::string::npos)
      << agent;
  EXPECT_NE(agent.find("rampart_control_plane_connection_state{state=\"connected\"} 1"), std::string::npos) << agent;

  const std::string cp = Capture(server_->Exec() + "curl -sf http://127.0.0.1:9971/metrics");
  EXPECT_NE(cp.find("rampart_cp_policy_version 1"), std::string::npos) << cp;
  EXPECT_NE(cp.find("rampart_cp_nodes{status=\"in_sync\"} 1"), std::string::npos) << cp;
}

}  // namespace
}  // namespace rampart
