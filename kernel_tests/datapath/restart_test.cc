// Restart without a gap, with the real binaries: rampart-cp and rampartd run
// in the server namespace (mutual TLS over its loopback), the policy comes
// from the control plane, and rampartd is killed with SIGKILL and started
// again while
//   - an allowed TCP connection carries one message every 50 ms, echoed by
//     the server: it must never break, and neither side may retransmit (a
//     retransmission means a packet of the allowed flow was lost);
//   - a prober connects to a denied port again and again: no attempt may
//     connect, before, during or after the restart.
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "kernel_tests/datapath/datapath_fixture.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "rampart/v1/agent_api.pb.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

const std::string kBuild = RAMPART_BUILD_DIR;
const std::string kSource = RAMPART_SOURCE_DIR;
constexpr int kAllowed = 8080, kDenied = 9090;

class RestartWithoutAGap : public DatapathNetTest {
 protected:
  bool WithIpv6() const override { return false; }

  ChildProcess& Program(const std::vector<std::string>& argv, const std::string& log) {
    logs_.push_back(dir_ + "/" + log + ".log");
    children_.push_back(std::make_unique<ChildProcess>(argv, logs_.back()));
    return *children_.back();
  }

  void StartAgent() {
    agent_ = &Program({"nsenter", "--net=" + server_->Path(), kBuild + "/agent/rampartd", "--control-plane",
                       "127.0.0.1:7443", "--server-name", "localhost", "--ca", dir_ + "/certs/ca.crt", "--cert",
                       dir_ + "/certs/node.crt", "--key", dir_ + "/certs/node.key", "--node-name", "restart-node",
                       "--label", "role=web", "--state-dir", dir_ + "/agent", "--socket", dir_ + "/agent.sock",
                       "--pin-dir", pin_dir_},
                      "agent");
  }

  v1::AgentStatus Status() {
    std::string json =
        Capture(kBuild + "/agent/rampartctl --socket " + dir_ + "/agent.sock status --json 2>/dev/null");
    v1::AgentStatus status;
    if (!google::protobuf::util::JsonStringToMessage(json, &status).ok()) return v1::AgentStatus();
    return status;
  }

  const v1::AttachedProgram* Ingress(const v1::AgentStatus& status) {
    for (const auto& p : status.programs()) {
      if (p.direction() == "ingress") return &p;
    }
    return nullptr;
  }

  ChildProcess* agent_ = nullptr;
};

TEST_F(RestartWithoutAGap, KillNineAndRestartKeepEstablishedConnectionAndDenials) {
  ASSERT_EQ(Shell("bash " + kSource + "/scripts/make-demo-certs.sh " + dir_ + "/certs restart-node"), 0);
  pin_dir_ = "/sys/fs/bpf/" + UniqueName("rampart-r");  // removed in TearDown
  Serve(*server_, {kAllowed, kDenied}, {}, "server");
  Program({"nsenter", "--net=" + server_->Path(), kBuild + "/controlplane/rampart-cp", "serve", "--listen",
           "127.0.0.1:7443", "--cert", dir_ + "/certs/server.crt", "--key", dir_ + "/certs/server.key",
           "--client-ca", dir_ + "/certs/ca.crt", "--state-dir", dir_ + "/cp", "--admin-socket",
           dir_ + "/cp-admin.sock"},
          "cp");
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/cp-admin.sock"); }, 10s)) << Logs();
  ASSERT_TRUE(WaitFor([&] { return Status().control_plane().state() == v1::CONNECTION_STATE_CONNECTED; }, 15s))
      << Logs();

  const std::string policy = dir_ + "/web.yaml";
  std::ofstream(policy) << PolicyYaml("web", "nodeSelector: {role: web}\ninterfaces: [" + server_if_ +
                                                 "]\nsegmentation:\n  ingress:\n    default: deny\n    allow:\n"
                                                 "      - {name: app, from: [" + kClientNet4 +
                                                 "], ports: [\"tcp/8080\"]}\n");
  ASSERT_EQ(Shell(kBuild + "/controlplane/rampart-cp policy apply -f " + policy + " --admin-socket " + dir_ +
                  "/cp-admin.sock"),
            0);
  ASSERT_TRUE(WaitFor([&] { return Status().policy_version() == 1; }, 15s)) << Logs();
  const v1::AgentStatus first = Status();
  const v1::AttachedProgram* first_ingress = Ingress(first);
  ASSERT_NE(first_ingress, nullptr) << first.DebugString();
  const std::string allowed = "tcp,-," + std::string(kServer4) + "," + std::to_string(kAllowed);
  const std::string denied = "tcp,-," + std::string(kServer4) + "," + std::to_string(kDenied);
  auto probe = Probe(*client_, {allowed, denied}, 1.0);
  ASSERT_EQ(probe[allowed], "ok") << Logs();
  ASSERT_NE(probe[denied], "ok") << "the policy does not deny; nothing to show";

  const std::string stop = dir_ + "/stop", echo_ready = dir_ + "/echo.ready";
  ChildProcess& echo =
      Start(*client_,
            {"echo-client", "--dst", kServer4, "--port", std::to_string(kAllowed), "--interval", "0.05", "--ready",
             echo_ready, "--stop", stop, "--out", dir_ + "/echo.json"},
            "echo-client");
  ChildProcess& prober = Start(*client_,
                               {"deny-probe", "--dst", kServer4, "--port", std::to_string(kDenied), "--timeout",
                                "0.2", "--stop", stop, "--out", dir_ + "/deny.json"},
                               "deny-probe");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(echo_ready); }, 10s)) << Logs();
  std::this_thread::sleep_for(500ms);

  agent_->Kill9();
  std::this_thread::sleep_for(1s);  // nobody in user space: the pinned programs enforce
  EXPECT_EQ(Status().policy_version(), 0u) << "the agent should be gone";
  StartAgent();
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::AgentStatus s = Status();
        return s.policy_version() == 1 && s.programs_size() == 2;
      },
      20s))
      << Logs();
  std::this_thread::sleep_for(1s);  // and a while after the restart

  std::ofstream(stop) << "stop\n";
  ASSERT_TRUE(WaitFor([&] { return !echo.Running() && !prober.Running(); }, 15s)) << Logs();
  auto echo_json = ParseJson(ReadFile(dir_ + "/echo.json"));
  auto deny_json = ParseJson(ReadFile(dir_ + "/deny.json"));
  const std::string echo_text = echo_json.ShortDebugString(), deny_text = deny_json.ShortDebugString();
  std::cout << "echo client: " << echo_text << "\ndenied-port prober: " << deny_text << "\n";

  EXPECT_EQ(echo_json.fields().at("errors").list_value().values_size(), 0) << echo_text;
  EXPECT_EQ(Number(echo_json, "echoed"), Number(echo_json, "sent")) << echo_text;
  EXPECT_GE(Number(echo_json, "sent"), 30) << "the connection did not carry messages through the restart: "
                                           << echo_text;
  EXPECT_EQ(Number(echo_json, "client_retrans"), 0) << "a client segment was lost: " << echo_text;
  EXPECT_EQ(Number(echo_json, "server_retrans"), 0) << "a server segment was lost: " << echo_text;
  EXPECT_GE(Number(deny_json, "attempts"), 5) << deny_text;
  EXPECT_EQ(Number(deny_json, "connected"), 0) << "a denied connection got through: " << deny_text;

  // The restarted agent adopted the pinned XDP link (same link, new program)
  // instead of detaching and attaching again.
  const v1::AgentStatus second = Status();
  const v1::AttachedProgram* second_ingress = Ingress(second);
  ASSERT_NE(second_ingress, nullptr) << second.DebugString();
  EXPECT_EQ(second_ingress->hook(), first_ingress->hook());
  if (first_ingress->link_id() != 0) {
    EXPECT_EQ(second_ingress->link_id(), first_ingress->link_id());
  }
  EXPECT_NE(second_ingress->program_id(), first_ingress->program_id()) << "the restart did not load its own program";

  probe = Probe(*client_, {allowed, denied}, 1.0);
  EXPECT_EQ(probe[allowed], "ok");
  EXPECT_NE(probe[denied], "ok");
}

}  // namespace
}  // namespace rampart::testing
