// High availability with the real binaries (docs/operations.md "High
// availability"): three etcd members, two rampart-cp replicas serving the same
// etcd store with the same fleet CA, and rampartd joined with both replicas'
// addresses. Killing the replica an agent is connected to moves the agent to
// the other one at once, with its policy version kept, and the survivor
// pushes the next version; losing an etcd member stops no apply. Deleting a
// node through one replica ends its stream on the other. Everything runs in a
// namespace of the test's own, over its loopback.
#include <google/protobuf/util/json_util.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
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
using testing::VethPair;
using testing::WaitFor;

const std::string kBuild = RAMPART_BUILD_DIR;
const std::string kCp = kBuild + "/controlplane/rampart-cp";
constexpr int kEtcdMembers = 3;
constexpr int kReplicas = 2;

// The whole file; "" when it cannot be read.
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Ports inside the test's own namespace: nothing else listens there.
std::string EtcdClient(int member) { return "127.0.0.1:" + std::to_string(23790 + member); }
std::string EtcdPeerUrl(int member) { return "http://127.0.0.1:" + std::to_string(23800 + member); }
std::string ReplicaAddress(int replica) { return "127.0.0.1:" + std::to_string(7443 + replica); }

long Millis(std::chrono::steady_clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

class FleetHa : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    char tmpl[] = "/tmp/rampart-ha-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // etcd's data in memory when possible: its fsyncs cost little there.
    std::string etcd_tmpl = access("/dev/shm", W_OK) == 0 ? "/dev/shm/rampart-ha-etcd-XXXXXX" : dir_ + "/etcd-XXXXXX";
    ASSERT_NE(mkdtemp(etcd_tmpl.data()), nullptr);
    etcd_dir_ = etcd_tmpl;
    ns_ = std::make_unique<NetNs>(testing::UniqueName("rph"));
    // The interface the policies name; the peer end only gives it a link.
    peer_ = std::make_unique<NetNs>(testing::UniqueName("rpq"));
    interface_ = testing::UniqueName("rpv");
    veth_ = std::make_unique<VethPair>(testing::VethEnd{ns_.get(), interface_, "10.232.0.1/24", ""},
                                       testing::VethEnd{peer_.get(), "eth0", "10.232.0.2/24", ""});
    StartEtcd();
    for (int i = 0; i < kEtcdMembers; ++i) {
      ASSERT_TRUE(WaitFor([&] { return EtcdHealthy(i); }, 20s)) << "etcd member " << i << " not healthy\n"
                                                                << Capture("tail -5 " + EtcdLog(i));
    }
    ASSERT_EQ(Shell(kCp + " ca init --dir " + dir_ + "/ca --hosts localhost,127.0.0.1 > " + dir_ + "/ca.log 2>&1"), 0)
        << ReadFile(dir_ + "/ca.log");
    for (int i = 0; i < kReplicas; ++i) StartReplica(i);
    for (int i = 0; i < kReplicas; ++i) {
      ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(Admin(i)); }, 15s)) << Logs("");
    }
  }

  void TearDown() override {
    agents_.clear();
    for (auto& replica : replicas_) replica.reset();
    etcd_.clear();
    for (const auto& pins : pin_dirs_) Shell("rm -rf " + pins);
    veth_.reset();
    peer_.reset();
    ns_.reset();
    if (!etcd_dir_.empty()) std::filesystem::remove_all(etcd_dir_);
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }

  void StartEtcd() {
    std::string initial_cluster;
    for (int i = 0; i < kEtcdMembers; ++i) {
      initial_cluster += (i ? "," : "") + std::string("m") + std::to_string(i) + "=" + EtcdPeerUrl(i);
    }
    for (int i = 0; i < kEtcdMembers; ++i) {
      const std::string client_url = "http://" + EtcdClient(i);
      etcd_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{"nsenter", "--net=" + ns_->Path(), "etcd", "--name=m" + std::to_string(i),
                                   "--data-dir=" + etcd_dir_ + "/m" + std::to_string(i),
                                   "--listen-client-urls=" + client_url, "--advertise-client-urls=" + client_url,
                                   "--listen-peer-urls=" + EtcdPeerUrl(i),
                                   "--initial-advertise-peer-urls=" + EtcdPeerUrl(i),
                                   "--initial-cluster=" + initial_cluster, "--initial-cluster-state=new",
                                   "--initial-cluster-token=" + ns_->name(),
                                   // Elections in half a second, so losing the leader costs little.
                                   "--heartbeat-interval=50", "--election-timeout=500", "--logger=zap",
                                   "--log-level=error"},
          EtcdLog(i)));
    }
  }

  std::string EtcdLog(int member) const { return dir_ + "/etcd-m" + std::to_string(member) + ".log"; }

  bool EtcdHealthy(int member) {
    return Capture(ns_->Exec() + "curl -sf --max-time 1 http://" + EtcdClient(member) + "/health 2>/dev/null")
               .find("\"health\":\"true\"") != std::string::npos;
  }

  // The member that is raft leader now; -1 when none says so.
  int EtcdLeader() {
    for (int i = 0; i < kEtcdMembers; ++i) {
      if (!etcd_[i]->Running()) continue;
      const std::string metrics =
          Capture(ns_->Exec() + "curl -sf --max-time 1 http://" + EtcdClient(i) + "/metrics 2>/dev/null");
      if (metrics.find("\netcd_server_is_leader 1") != std::string::npos) return i;
    }
    return -1;
  }

  void StartReplica(int i) {
    std::string endpoints;
    for (int m = 0; m < kEtcdMembers; ++m) endpoints += (m ? "," : "") + EtcdClient(m);
    replicas_[i] = std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + ns_->Path(), kCp, "serve", "--listen", ReplicaAddress(i),
                                 "--ca-dir", dir_ + "/ca", "--state-dir", dir_ + "/cp" + std::to_string(i),
                                 "--admin-socket", Admin(i), "--store", "etcd", "--etcd-endpoints", endpoints,
                                 "--etcd-prefix", "/rampart-ha-e2e/"},
        CpLog(i));
  }

  std::string Admin(int replica) const { return dir_ + "/cp" + std::to_string(replica) + "-admin.sock"; }
  std::string CpLog(int replica) const { return dir_ + "/cp" + std::to_string(replica) + ".log"; }

  int ReplicaAt(const std::string& address) const {
    for (int i = 0; i < kReplicas; ++i) {
      if (ReplicaAddress(i) == address) return i;
    }
    return -1;
  }

  // `rampart-cp token create` on `replica`: the token alone on stdout.
  std::string CreateToken(int replica) {
    std::string token = Capture(kCp + " token create --ttl 10m --admin-socket " + Admin(replica) + " 2>/dev/null");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  // rampartd as node `name`, joined with `token`, given the replicas in this order.
  void StartAgent(const std::string& name, const std::string& token, const std::vector<int>& order) {
    const std::string pins = "/sys/fs/bpf/" + testing::UniqueName("rampart-h");
    pin_dirs_.push_back(pins);
    std::string addresses;
    for (int replica : order) addresses += (addresses.empty() ? "" : ",") + ReplicaAddress(replica);
    agents_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"nsenter", "--net=" + ns_->Path(), kBuild + "/agent/rampartd", "--control-plane",
                                 addresses, "--join", token, "--node-name", name, "--state-dir", dir_ + "/" + name,
                                 "--socket", Socket(name), "--pin-dir", pins},
        AgentLog(name)));
  }

  std::string Socket(const std::string& name) const { return dir_ + "/" + name + ".sock"; }
  std::string AgentLog(const std::string& name) const { return dir_ + "/" + name + ".log"; }

  v1::AgentStatus Status(const std::string& name) {
    std::string json = Capture(kBuild + "/agent/rampartctl --socket " + Socket(name) + " status --json 2>/dev/null");
    v1::AgentStatus status;
    if (!google::protobuf::util::JsonStringToMessage(json, &status).ok()) return v1::AgentStatus();
    return status;
  }

  bool ConnectedTo(const std::string& name, int replica) {
    const v1::ControlPlaneStatus cp = Status(name).control_plane();
    return cp.state() == v1::CONNECTION_STATE_CONNECTED && cp.address() == ReplicaAddress(replica);
  }

  // The node as `replica` sees it; an empty state when it does not list it.
  v1::NodeState NodeOn(int replica, const std::string& name) {
    const std::string json = Capture(kCp + " nodes --json --admin-socket " + Admin(replica) + " 2>/dev/null");
    v1::ListNodesReply reply;
    if (!google::protobuf::util::JsonStringToMessage(json, &reply).ok()) return v1::NodeState();
    for (const v1::NodeState& node : reply.nodes()) {
      if (node.name() == name) return node;
    }
    return v1::NodeState();
  }

  // A policy on the test's interface allowing `port`.
  std::string WritePolicy(const std::string& port) {
    const std::string path = dir_ + "/policy-" + port + ".yaml";
    std::ofstream(path) << "apiVersion: rampart/v1\nkind: Policy\nmetadata: {name: web}\nspec:\n  interfaces: ["
                        << interface_ << "]\n  segmentation:\n    ingress:\n      default: deny\n      allow:\n"
                        << "        - {name: app, from: [10.232.0.0/24], ports: [tcp/" << port << "]}\n";
    return path;
  }

  int Apply(int replica, const std::string& port) {
    return Shell(kCp + " policy apply -f " + WritePolicy(port) + " --admin-socket " + Admin(replica) + " >> " + dir_ +
                 "/apply.log 2>&1");
  }

  bool WaitForVersion(const std::string& name, uint64_t version) {
    return WaitFor([&] { return Status(name).policy_version() == version; }, 20s);
  }

  std::string Logs(const std::string& agent) {
    std::string out;
    if (!agent.empty()) out += "\n--- " + agent + ".log\n" + Capture("tail -20 " + AgentLog(agent) + " 2>/dev/null");
    for (int i = 0; i < kReplicas; ++i) {
      out += "--- cp" + std::to_string(i) + ".log\n" + Capture("tail -15 " + CpLog(i) + " 2>/dev/null");
    }
    return out + "--- apply.log\n" + Capture("tail -5 " + dir_ + "/apply.log 2>/dev/null");
  }

  std::string dir_, etcd_dir_, interface_;
  std::unique_ptr<NetNs> ns_, peer_;
  std::unique_ptr<VethPair> veth_;
  std::vector<std::unique_ptr<ChildProcess>> etcd_;
  std::unique_ptr<ChildProcess> replicas_[kReplicas];
  std::vector<std::unique_ptr<ChildProcess>> agents_;
  std::vector<std::string> pin_dirs_;
};

TEST_F(FleetHa, KillingTheConnectedReplicaMovesTheAgentToTheOtherWithItsVersionKept) {
  StartAgent("web-1", CreateToken(0), {0, 1});
  ASSERT_TRUE(WaitFor([&] { return Status("web-1").control_plane().state() == v1::CONNECTION_STATE_CONNECTED; }, 20s))
      << Logs("web-1");
  ASSERT_EQ(Apply(0, "8080"), 0) << Logs("web-1");
  ASSERT_TRUE(WaitForVersion("web-1", 1)) << Logs("web-1");

  const int lost = ReplicaAt(Status("web-1").control_plane().address());
  ASSERT_NE(lost, -1) << Status("web-1").ShortDebugString();
  const int survivor = 1 - lost;
  const auto killed_at = std::chrono::steady_clock::now();
  replicas_[lost]->Kill9();

  ASSERT_TRUE(WaitFor([&] { return ConnectedTo("web-1", survivor); }, 10s)) << Logs("web-1");
  const long failover_ms = Millis(std::chrono::steady_clock::now() - killed_at);
  std::cout << "failover: the agent was connected to replica " << survivor << " " << failover_ms
            << " ms after replica " << lost << " was killed (status polled every ~50 ms)\n";
  RecordProperty("failover_ms", static_cast<int>(failover_ms));
  EXPECT_LT(failover_ms, 2000);
  EXPECT_EQ(Status("web-1").policy_version(), 1u);
  EXPECT_TRUE(WaitFor(
      [&] {
        const v1::NodeState node = NodeOn(survivor, "web-1");
        return node.connected() && node.applied_version() == 1;
      },
      10s))
      << NodeOn(survivor, "web-1").ShortDebugString() << Logs("web-1");

  // The survivor takes the next version, also with the etcd leader gone.
  const int leader = EtcdLeader();
  ASSERT_NE(leader, -1) << "no etcd member says it leads";
  etcd_[leader]->Kill9();
  ASSERT_EQ(Apply(survivor, "9090"), 0) << "apply with etcd member " << leader << " killed" << Logs("web-1");
  ASSERT_TRUE(WaitForVersion("web-1", 2)) << Logs("web-1");
  EXPECT_TRUE(WaitFor(
      [&] {
        const v1::NodeState node = NodeOn(survivor, "web-1");
        return node.connected() && node.applied_version() == 2 && node.status() == v1::NODE_SYNC_STATUS_IN_SYNC;
      },
      10s))
      << NodeOn(survivor, "web-1").ShortDebugString();
  EXPECT_TRUE(ConnectedTo("web-1", survivor)) << Status("web-1").ShortDebugString();
}

TEST_F(FleetHa, DeletingANodeThroughOneReplicaEndsItsStreamOnTheOther) {
  // Joined through replica 1 (listed first), connected to it; deleted through replica 0.
  StartAgent("web-1", CreateToken(0), {1, 0});
  ASSERT_TRUE(WaitFor([&] { return ConnectedTo("web-1", 1) && NodeOn(1, "web-1").connected(); }, 20s))
      << Logs("web-1");

  const auto deleted_at = std::chrono::steady_clock::now();
  ASSERT_EQ(Shell(kCp + " node delete web-1 --admin-socket " + Admin(0) + " > " + dir_ + "/delete.log 2>&1"), 0)
      << ReadFile(dir_ + "/delete.log");
  ASSERT_TRUE(WaitFor([&] { return !NodeOn(1, "web-1").connected(); }, 5s)) << Logs("web-1");
  const long cut_ms = Millis(std::chrono::steady_clock::now() - deleted_at);
  std::cout << "delete: the stream on the other replica ended " << cut_ms << " ms after `node delete` returned\n";
  EXPECT_LT(cut_ms, 3000);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(AgentLog("web-1")).find("node deleted") != std::string::npos; }, 5s))
      << Logs("web-1");

  // Its reconnects, to either replica, are refused.
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_FALSE(NodeOn(0, "web-1").connected()) << Logs("web-1");
    ASSERT_FALSE(NodeOn(1, "web-1").connected()) << Logs("web-1");
    std::this_thread::sleep_for(100ms);
  }
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_NE(ReadFile(CpLog(i)).find("node \"web-1\" was revoked"), std::string::npos)
        << "replica " << i << " did not refuse the reconnect" << Logs("web-1");
  }
}

}  // namespace
}  // namespace rampart
