// Micro-segmentation with real traffic between two namespaces: ingress rules
// (source prefix, protocol, port) and egress rules (destination prefix,
// protocol, port), IPv4 and IPv6; egress rules scoped to a cgroup v2; and the
// TC ingress hook giving the same verdicts as XDP.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "agent/datapath/cgroups.h"
#include "agent/datapath/datapath_object.h"
#include "kernel_tests/datapath/datapath_fixture.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/test_cgroup.h"

namespace rampart::testing {
namespace {

using namespace std::chrono_literals;

struct Expect {
  std::string spec;  // as for Probe: "tcp,SRC,DST,PORT"
  bool allowed;
  std::string why;
};

std::string Spec(const std::string& proto, const std::string& src, const std::string& dst, int port) {
  return proto + "," + src + "," + dst + "," + std::to_string(port);
}

std::vector<std::string> Specs(const std::vector<Expect>& table) {
  std::vector<std::string> out;
  for (const auto& row : table) out.push_back(row.spec);
  return out;
}

void CheckTable(const std::vector<Expect>& table, const std::map<std::string, std::string>& results,
                const std::string& context) {
  for (const auto& row : table) {
    const std::string& got = results.at(row.spec);
    EXPECT_EQ(got == "ok", row.allowed) << context << ": " << row.spec << " (" << row.why << ") got \"" << got
                                        << "\"";
  }
}

constexpr int kHttp = 8080, kOtherTcp = 9090, kDns = 5300;

// Client -> server: what an ingress policy allowing the client prefixes to
// tcp/8080 and udp/5300 must do, for one address family.
std::vector<Expect> IngressTable(const std::string& client, const std::string& other, const std::string& server) {
  return {
      {Spec("tcp", client, server, kHttp), true, "prefix, protocol and port match"},
      {Spec("tcp", client, server, kOtherTcp), false, "port not in the rule"},
      {Spec("tcp", other, server, kHttp), false, "source outside the prefix"},
      {Spec("udp", client, server, kDns), true, "prefix, protocol and port match"},
      {Spec("udp", client, server, kHttp), false, "udp to a port the rule gives to tcp only"},
      {Spec("udp", other, server, kDns), false, "source outside the prefix"},
  };
}

std::vector<Expect> IngressTables() {
  auto table = IngressTable(kClient4, kOther4, kServer4);
  auto v6 = IngressTable(kClient6, kOther6, kServer6);
  table.insert(table.end(), v6.begin(), v6.end());
  return table;
}

std::string IngressPolicy() {
  return PolicyYaml("web", std::string(R"(interfaces: [SERVER_IF]
segmentation:
  ingress:
    default: deny
    allow:
      - name: web
        from: [)") + kClientNet4 + ", \"" + kClientNet6 + R"("]
        ports: ["tcp/8080", "udp/5300"]
)");
}

class Segmentation : public DatapathNetTest {};

TEST_F(Segmentation, IngressAllowsAndDeniesBySourcePrefixPortAndProtocol) {
  OpenDatapath();
  Serve(*server_, {kHttp, kOtherTcp}, {kDns, kHttp}, "server");
  const auto table = IngressTables();

  // Without a policy everything gets through: the denials below are the datapath's.
  auto open = Probe(*client_, Specs(table));
  for (const auto& row : table) ASSERT_EQ(open[row.spec], "ok") << "before any policy: " << row.spec << Logs();

  Apply(IngressPolicy(), 1);
  auto before = Counters();
  CheckTable(table, Probe(*client_, Specs(table)), "ingress policy");
  auto after = Counters();
  EXPECT_GT(after["ingress drop_default"], before["ingress drop_default"]);
  EXPECT_GT(after["rule ingress/web"], before["rule ingress/web"]);
  EXPECT_EQ(after["ingress allow_default"], before["ingress allow_default"]) << "default deny allowed something";
}

constexpr int kDb = 7070, kOtherDb = 7071, kSyslog = 5301;

std::vector<Expect> EgressTable(const std::string& server, const std::string& client, const std::string& other) {
  return {
      {Spec("tcp", server, client, kDb), true, "prefix, protocol and port match"},
      {Spec("tcp", server, client, kOtherDb), false, "port not in the rule"},
      {Spec("tcp", server, other, kDb), false, "destination outside the prefix"},
      {Spec("udp", server, client, kSyslog), true, "prefix, protocol and port match"},
      {Spec("udp", server, client, kDb), false, "udp to a port the rule gives to tcp only"},
      {Spec("udp", server, other, kSyslog), false, "destination outside the prefix"},
  };
}

TEST_F(Segmentation, EgressAllowsAndDeniesByDestinationPrefixPortAndProtocol) {
  OpenDatapath();
  Serve(*client_, {kDb, kOtherDb}, {kSyslog, kDb}, "client-listeners");
  auto table = EgressTable(kServer4, kClient4, kOther4);
  auto v6 = EgressTable(kServer6, kClient6, kOther6);
  table.insert(table.end(), v6.begin(), v6.end());

  auto open = Probe(*server_, Specs(table));
  for (const auto& row : table) ASSERT_EQ(open[row.spec], "ok") << "before any policy: " << row.spec << Logs();

  // Ingress stays default allow, so the replies to the server's own
  // connections come back; egress is default deny with one rule.
  Apply(PolicyYaml("egress", std::string(R"(interfaces: [SERVER_IF]
segmentation:
  egress:
    default: deny
    allow:
      - name: to-clients
        to: [)") + kClientNet4 + ", \"" + kClientNet6 + R"("]
        ports: ["tcp/7070", "udp/5301"]
)"),
        1);
  auto before = Counters();
  CheckTable(table, Probe(*server_, Specs(table)), "egress policy");
  auto after = Counters();
  EXPECT_GT(after["egress drop_default"], before["egress drop_default"]);
  EXPECT_GT(after["rule egress/to-clients"], before["rule egress/to-clients"]);
  EXPECT_EQ(after["ingress drop_default"], before["ingress drop_default"]);
}

TEST_F(Segmentation, EgressRuleScopedToACgroupConfinesOnlyThatCgroup) {
  const std::string mount = datapath::Cgroup2Mount();
  ASSERT_FALSE(mount.empty()) << "no cgroup v2 mount on this host";
  const std::string name = "/" + UniqueName("rampart-test-");
  TestCgroup cgroup(mount + name);
  struct stat st {};
  ASSERT_EQ(stat(cgroup.path().c_str(), &st), 0);

  OpenDatapath();
  Serve(*client_, {kDb, kOtherDb}, {}, "client-listeners");
  const std::string policy = PolicyYaml("confine", std::string(R"(interfaces: [SERVER_IF]
segmentation:
  egress:
    default: allow
    allow:
      - name: db
        cgroup: )") + name + R"(
        to: [)" + kClient4 + R"(/32]
        ports: ["tcp/7070"]
)");
  policy::CompiledPolicy compiled = Compile(policy, 1);
  ASSERT_EQ(compiled.confined_cgroups, std::vector<uint64_t>{static_cast<uint64_t>(st.st_ino)})
      << "the cgroup did not resolve to its directory's inode";
  Apply(policy, 1);

  const std::vector<Expect> confined = {
      {Spec("tcp", kServer4, kClient4, kDb), true, "the confined cgroup's own rule"},
      {Spec("tcp", kServer4, kClient4, kOtherDb), false, "confined: no rule for this port"},
  };
  const std::vector<Expect> unconfined = {
      {Spec("tcp", kServer4, kClient4, kDb), true, "not in the cgroup: egress default allow"},
      {Spec("tcp", kServer4, kClient4, kOtherDb), true, "not in the cgroup: egress default allow"},
  };

  // The probe moves itself into the cgroup before it opens any socket.
  std::string inner = "echo $$ > " + cgroup.path() + "/cgroup.procs && exec " + Python() + " " + Tool() +
                      " probe --timeout 2";
  for (const auto& row : confined) inner += " " + row.spec;
  auto before = Counters();
  std::istringstream out(
      Capture("timeout 60 nsenter --net=" + server_->Path() + " sh -c " + ShellQuote(inner) + " 2>>" + dir_ + "/run.log"));
  std::map<std::string, std::string> results;
  for (std::string line; std::getline(out, line);) {
    if (auto sp = line.find(' '); sp != std::string::npos) results[line.substr(0, sp)] = line.substr(sp + 1);
  }
  for (const auto& row : confined) {
    ASSERT_TRUE(results.contains(row.spec)) << "the confined probe did not run" << Logs();
  }
  CheckTable(confined, results, "process in " + name);
  auto after = Counters();
  EXPECT_GT(after["egress drop_confined"], before["egress drop_confined"]);
  EXPECT_EQ(after["egress drop_default"], before["egress drop_default"]);

  CheckTable(unconfined, Probe(*server_, Specs(unconfined)), "process outside " + name);
  EXPECT_EQ(Counter("egress drop_confined"), after["egress drop_confined"]) << "an unconfined process was confined";
}

TEST_F(Segmentation, TcIngressHookGivesTheSameVerdictsAsXdp) {
  Serve(*server_, {kHttp, kOtherTcp}, {kDns, kHttp}, "server");
  const auto table = IngressTables();
  const uint32_t ifindex = if_nametoindex(server_if_.c_str());
  ASSERT_NE(ifindex, 0u);

  auto ingress_hook = [&]() -> std::string {
    std::string hook;
    for (const auto& a : datapath_->Attachments()) {
      if (a.ifname == server_if_ && a.direction == "ingress") hook += (hook.empty() ? "" : ",") + a.hook;
    }
    return hook;
  };

  // First at generic XDP.
  datapath::DatapathOptions options;
  options.hook = datapath::IngressHook::kXdpGeneric;
  OpenDatapath(options);
  Apply(IngressPolicy(), 1);
  EXPECT_EQ(ingress_hook(), "xdp-generic");
  auto xdp = Probe(*client_, Specs(table));
  CheckTable(table, xdp, "xdp-generic");

  // The agent restarts configured for TC ingress: same pins, same device.
  datapath_.reset();
  {
    options.pin_dir = pin_dir_;
    options.hook = datapath::IngressHook::kTc;
    auto reopened = datapath::Datapath::Open(options);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    datapath_ = std::move(*reopened);
  }
  Apply(IngressPolicy(), 2);
  EXPECT_EQ(ingress_hook(), "tc");
  std::map<std::string, std::string> directions;
  for (const auto& a : datapath_->Attachments()) directions[a.direction] = a.hook;
  EXPECT_EQ(directions, (std::map<std::string, std::string>{{"egress", "tc"}, {"ingress", "tc"}}));

  // The kernel agrees: no XDP program left on the device, and the TC ingress
  // filter runs our TC ingress program.
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  ASSERT_EQ(bpf_xdp_query(static_cast<int>(ifindex), 0, &query), 0);
  EXPECT_EQ(query.prog_id, 0u);
  EXPECT_EQ(query.skb_prog_id, 0u);
  EXPECT_EQ(query.drv_prog_id, 0u);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = datapath::kTcHandle, .priority = datapath::kTcPriority);
  ASSERT_EQ(bpf_tc_query(&hook, &opts), 0);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(datapath_->object().tc_ingress_fd(), &info, &len), 0);
  EXPECT_EQ(opts.prog_id, info.id);

  auto before = Counters();
  auto tc = Probe(*client_, Specs(table));
  CheckTable(table, tc, "tc");
  for (const auto& row : table) {
    EXPECT_EQ(tc.at(row.spec) == "ok", xdp.at(row.spec) == "ok") << "TC ingress and XDP disagree on " << row.spec;
  }
  auto after = Counters();
  EXPECT_GT(after["ingress drop_default"], before["ingress drop_default"]) << "TC ingress counted no drops";
  EXPECT_GT(after["rule ingress/web"], before["rule ingress/web"]);
}

}  // namespace
}  // namespace rampart::testing
