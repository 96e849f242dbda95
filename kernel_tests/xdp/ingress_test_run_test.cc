// The ingress XDP program under BPF_PROG_TEST_RUN: each row is a crafted
// packet, the verdict it must get, and the counters that must move.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "agent/common/strings.h"
#include "agent/datapath/bpffs.h"
#include "agent/datapath/datapath.h"
#include "agent/policy/compiler.h"
#include "agent/policy/loader.h"
#include "empty.skel.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/packet_builder.h"

namespace rampart {
namespace {

using testing::PacketBuilder;

constexpr char kPolicy[] = R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: table}
spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - name: web
          from: [10.1.0.0/16, "2001:db8:1::/48"]
          ports: ["tcp/443", "tcp/8443-8445"]
        - name: dns
          from: [10.0.0.0/8]
          ports: ["udp/53"]
        - name: ssh-admin
          from: [10.1.2.3/32]
          ports: ["tcp/22"]
)";

struct Row {
  PacketBuilder packet;
  int verdict;         // XDP_PASS or XDP_DROP
  std::string reason;  // the reason counter that must move by one
  std::string rule;    // the rule counter that must move by one, or ""
};

class IngressTestRun : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    pin_dir_ = "/sys/fs/bpf/" + testing::UniqueName("rampart-t");
    auto datapath = datapath::Datapath::Open({.pin_dir = pin_dir_, .hook = datapath::IngressHook::kAuto});
    ASSERT_TRUE(datapath.ok()) << datapath.status();
    datapath_ = std::move(*datapath);
  }
  void TearDown() override {
    datapath_.reset();
    if (!pin_dir_.empty()) (void)datapath::RemovePinDir(pin_dir_);
  }

  void Apply(const std::string& yaml, uint64_t version, const policy::DatapathCapacity& capacity = {}) {
    auto policies = policy::ParsePolicyYaml(yaml, "table.yaml");
    ASSERT_TRUE(policies.ok()) << policies.status();
    v1::PolicyBundle bundle;
    bundle.set_version(version);
    for (auto& p : *policies) *bundle.add_policies() = p;
    auto compiled = policy::CompilePolicy(bundle, capacity);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    ASSERT_TRUE(datapath_->Apply(*compiled).ok());
    compiled_ = std::move(*compiled);
  }

  // Shorter (non-host) prefixes of the active generation, per map.
  struct ShorterPrefixes {
    size_t in_hash = 0;
    size_t in_trie = 0;
    size_t full_length_in_trie = 0;
  };
  ShorterPrefixes CountShorterPrefixes() {
    ShorterPrefixes out;
    const uint32_t gen = *datapath_->writer().ActiveGeneration();
    rp_prefix_key pkey{}, next_pkey{};
    for (void* prev = nullptr;
         bpf_map_get_next_key(datapath_->object().ingress_prefixes_fd(), prev, &next_pkey) == 0;
         pkey = next_pkey, prev = &pkey) {
      if (next_pkey.gen == gen) ++out.in_hash;
    }
    rp_lpm_key key{}, next_key{};
    for (void* prev = nullptr; bpf_map_get_next_key(datapath_->object().ingress_lpm_fd(), prev, &next_key) == 0;
         key = next_key, prev = &key) {
      if (next_key.gen != gen) continue;
      (next_key.prefixlen == 32 + 128 ? out.full_length_in_trie : out.in_trie) += 1;
    }
    return out;
  }

  rp_lenset ActiveLenset(rp_family family) {
    const uint32_t gen = *datapath_->writer().ActiveGeneration();
    uint32_t index = RP_LENSET_INDEX(gen, RP_DIR_INGRESS, family);
    rp_lenset set{};
    EXPECT_EQ(bpf_map_lookup_elem(datapath_->object().lensets_fd(), &index, &set), 0);
    return set;
  }

  std::map<std::string, uint64_t> Counters() {
    auto counters = datapath_->ReadCounters();
    EXPECT_TRUE(counters.ok()) << counters.status();
    std::map<std::string, uint64_t> out;
    for (const auto& r : counters->by_reason()) out[r.direction() + " reason:" + r.reason()] = r.packets();
    for (const auto& r : counters->by_rule()) out[r.direction() + " rule:" + r.rule()] = r.packets();
    return out;
  }

  int TestRun(const std::vector<uint8_t>& frame) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<__u32>(frame.size()),
                .repeat = 1);
    int err = bpf_prog_test_run_opts(datapath_->object().xdp_ingress_fd(), &opts);
    EXPECT_EQ(err, 0) << "bpf_prog_test_run_opts: " << strerror(errno);
    return static_cast<int>(opts.retval);
  }

  void Check(const std::vector<Row>& rows) {
    for (const Row& row : rows) {
      SCOPED_TRACE(row.packet.Describe());
      auto before = Counters();
      EXPECT_EQ(TestRun(row.packet.Build()), row.verdict);
      auto after = Counters();
      for (const auto& [name, value] : after) {
        uint64_t expected = before[name];
        if (name == "ingress reason:" + row.reason || (!row.rule.empty() && name == "ingress rule:" + row.rule)) {
          expected += 1;
        }
        EXPECT_EQ(value, expected) << name;
      }
    }
  }

  std::string pin_dir_;
  std::unique_ptr<datapath::Datapath> datapath_;
  policy::CompiledPolicy compiled_;  // the last one applied
};

TEST_F(IngressTestRun, AllowlistDecidesByPrefixProtocolAndPort) {
  Apply(kPolicy, 7);
  Check({
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 22), XDP_PASS, "allow_rule", "ssh-admin"},
      {PacketBuilder::Tcp("10.1.9.9", "10.9.0.1", 22), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Udp("10.1.2.3", "10.9.0.1", 53), XDP_PASS, "allow_rule", "dns"},  // inherited from /8
      {PacketBuilder::Udp("10.200.0.1", "10.9.0.1", 53), XDP_PASS, "allow_rule", "dns"},
      {PacketBuilder::Tcp("10.200.0.1", "10.9.0.1", 443), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 8443), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 8445), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 8446), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Udp("10.1.2.3", "10.9.0.1", 443), XDP_DROP, "drop_default", ""},  // tcp rule, udp packet
  });
}

TEST_F(IngressTestRun, Ipv6SourcesMatchIpv6PrefixesOnly) {
  Apply(kPolicy, 8);
  Check({
      {PacketBuilder::Tcp("2001:db8:1::5", "2001:db8:9::1", 443), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("2001:db8:2::5", "2001:db8:9::1", 443), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Udp("2001:db8:1::5", "2001:db8:9::1", 53), XDP_DROP, "drop_default", ""},  // dns is IPv4
      // An IPv4-mapped IPv6 source must not pose as the IPv4 peer 10.1.2.3.
      {PacketBuilder::Tcp("::ffff:10.1.2.3", "2001:db8:9::1", 443), XDP_DROP, "drop_malformed", ""},
  });
}

TEST_F(IngressTestRun, VlanTagsAndIpv6ExtensionHeadersAreWalked) {
  Apply(kPolicy, 9);
  Check({
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443).Vlan(100), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443).Vlan(100).Vlan(200), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Vlan(100), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("2001:db8:1::5", "2001:db8:9::1", 443).Ipv6HopByHop().Ipv6DestOptions(2), XDP_PASS,
       "allow_rule", "web"},
      {PacketBuilder::Tcp("2001:db8:1::5", "2001:db8:9::1", 22).Ipv6HopByHop(), XDP_DROP, "drop_default", ""},
  });
}

TEST_F(IngressTestRun, NonIpNeighbourDiscoveryMalformedAndFragments) {
  Apply(kPolicy, 10);
  Check({
      {PacketBuilder::Arp(), XDP_PASS, "pass_not_ip", ""},
      {PacketBuilder::Icmpv6("fe80::1", "ff02::1", 135), XDP_PASS, "pass_icmpv6_nd", ""},
      {PacketBuilder::Icmpv6("2001:db8:2::5", "2001:db8:9::1", 128), XDP_DROP, "drop_default", ""},  // echo
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443).TruncateTo(14 + 12), XDP_DROP, "drop_malformed", ""},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443).TruncateTo(14 + 20 + 2), XDP_DROP, "drop_malformed", ""},
      // A later fragment has no ports: it passes when its source may reach some port of its protocol.
      {PacketBuilder::Udp("10.1.2.3", "10.9.0.1", 53).LaterFragment(), XDP_PASS, "allow_rule", "dns"},
      {PacketBuilder::Udp("192.0.2.1", "10.9.0.1", 53).LaterFragment(), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("2001:db8:1::5", "2001:db8:9::1", 443).LaterFragment(), XDP_PASS, "allow_rule", "web"},
  });
}

TEST_F(IngressTestRun, DefaultAllowPassesWhatNoRuleNames) {
  Apply(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: open}
spec:
  segmentation:
    ingress:
      default: allow
      allow:
        - {name: web, from: [10.1.0.0/16], ports: ["tcp/443"]}
)",
        11);
  Check({
      {PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 22), XDP_PASS, "allow_default", ""},
      {PacketBuilder::Tcp("10.1.0.1", "10.9.0.1", 443), XDP_PASS, "allow_rule", "web"},
  });
}

TEST_F(IngressTestRun, NewPolicyReplacesTheOldOneWhole) {
  Apply(kPolicy, 12);
  EXPECT_EQ(TestRun(PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 22).Build()), XDP_PASS);
  Apply(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: narrow}
spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - {name: only-dns, from: [10.0.0.0/8], ports: ["udp/53"]}
)",
        13);
  EXPECT_EQ(*datapath_->ActiveVersion(), 13u);
  EXPECT_EQ(TestRun(PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 22).Build()), XDP_DROP);  // ssh-admin is gone
  EXPECT_EQ(TestRun(PacketBuilder::Udp("10.1.2.3", "10.9.0.1", 53).Build()), XDP_PASS);
}

TEST_F(IngressTestRun, ReopeningThePinsAdoptsThePolicyInForce) {
  Apply(kPolicy, 14);
  datapath_.reset();  // the agent exits; the pins keep the maps
  auto reopened = datapath::Datapath::Open({.pin_dir = pin_dir_, .hook = datapath::IngressHook::kAuto});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  datapath_ = std::move(*reopened);
  EXPECT_EQ(*datapath_->ActiveVersion(), 14u);
  EXPECT_EQ(TestRun(PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443).Build()), XDP_PASS);
  EXPECT_EQ(TestRun(PacketBuilder::Tcp("192.0.2.1", "10.9.0.1", 443).Build()), XDP_DROP);
}

// Full-length prefixes (/32, /128) are exact matches in the host map, which
// the program consults before the trie of shorter prefixes; a host still gets
// the rules of every prefix that covers it, and its neighbours do not get its own.
TEST_F(IngressTestRun, HostsAreExactMatchesThatKeepTheirCoveringRules) {
  Apply(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: hosts}
spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - {name: web, from: [10.1.0.0/16, "2001:db8:1::/48"], ports: ["tcp/443"]}
        - {name: ssh-admin, from: [10.1.2.3/32, "2001:db8:1::7/128"], ports: ["tcp/22"]}
)",
        15);
  Check({
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 22), XDP_PASS, "allow_rule", "ssh-admin"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 443), XDP_PASS, "allow_rule", "web"},  // from the /16
      {PacketBuilder::Tcp("10.1.2.4", "10.9.0.1", 22), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("2001:db8:1::7", "2001:db8:9::1", 22), XDP_PASS, "allow_rule", "ssh-admin"},
      {PacketBuilder::Tcp("2001:db8:1::7", "2001:db8:9::1", 443), XDP_PASS, "allow_rule", "web"},
      {PacketBuilder::Tcp("2001:db8:1::8", "2001:db8:9::1", 22), XDP_DROP, "drop_default", ""},
  });

  // The two hosts are in the host map of the active generation, not in the
  // trie; the two shorter prefixes (one length per family) in the per-length hash.
  const uint32_t gen = *datapath_->writer().ActiveGeneration();
  size_t hosts = 0;
  rp_host_key host{}, next_host{};
  for (void* prev = nullptr; bpf_map_get_next_key(datapath_->object().ingress_hosts_fd(), prev, &next_host) == 0;
       host = next_host, prev = &host) {
    if (next_host.gen == gen) ++hosts;
  }
  const ShorterPrefixes shorter = CountShorterPrefixes();
  EXPECT_EQ(hosts, 2u);
  EXPECT_EQ(shorter.full_length_in_trie, 0u);
  EXPECT_EQ(shorter.in_hash, 2u);  // 10.1.0.0/16 and 2001:db8:1::/48
  EXPECT_EQ(shorter.in_trie, 0u);
}

// Overlapping prefixes of several lengths per family, each length with ports
// of its own, plus hosts and an IPv6 ::/0. The same packets must get the same
// verdicts and counters whichever structure holds the shorter prefixes: the
// per-length hashes (lengths within the cap), the trie (over the cap), or one
// of each (the cap is per family).
constexpr char kNestedPolicy[] = R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: nested}
spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - {name: v4-8, from: [10.0.0.0/8], ports: ["udp/53"]}
        - {name: v4-16, from: [10.1.0.0/16], ports: ["tcp/443"]}
        - {name: v4-24, from: [10.1.2.0/24], ports: ["tcp/8080"]}
        - {name: v4-host, from: [10.1.2.3/32], ports: ["tcp/22"]}
        - {name: v6-32, from: ["2001:db8::/32"], ports: ["udp/53"]}
        - {name: v6-48, from: ["2001:db8:1::/48"], ports: ["tcp/443"]}
        - {name: v6-56, from: ["2001:db8:1:200::/56"], ports: ["tcp/9000"]}
        - {name: v6-64, from: ["2001:db8:1:203::/64"], ports: ["tcp/8080"]}
        - {name: v6-host, from: ["2001:db8:1:203::3"], ports: ["tcp/22"]}
        - {name: v6-any, from: ["::/0"], ports: ["udp/5353"]}
)";

std::vector<Row> NestedRows() {
  return {
      // IPv4: each length adds its port; the longer keep the shorter ones' ports.
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 22), XDP_PASS, "allow_rule", "v4-host"},
      {PacketBuilder::Tcp("10.1.2.3", "10.9.0.1", 8080), XDP_PASS, "allow_rule", "v4-24"},
      {PacketBuilder::Tcp("10.1.2.9", "10.9.0.1", 8080), XDP_PASS, "allow_rule", "v4-24"},
      {PacketBuilder::Tcp("10.1.2.9", "10.9.0.1", 443), XDP_PASS, "allow_rule", "v4-16"},
      {PacketBuilder::Udp("10.1.2.9", "10.9.0.1", 53), XDP_PASS, "allow_rule", "v4-8"},
      {PacketBuilder::Tcp("10.1.2.9", "10.9.0.1", 22), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("10.1.3.9", "10.9.0.1", 8080), XDP_DROP, "drop_default", ""},  // outside the /24
      {PacketBuilder::Tcp("10.1.3.9", "10.9.0.1", 443), XDP_PASS, "allow_rule", "v4-16"},
      {PacketBuilder::Tcp("10.2.0.1", "10.9.0.1", 443), XDP_DROP, "drop_default", ""},  // outside the /16
      {PacketBuilder::Udp("10.2.0.1", "10.9.0.1", 53), XDP_PASS, "allow_rule", "v4-8"},
      {PacketBuilder::Udp("11.0.0.1", "10.9.0.1", 53), XDP_DROP, "drop_default", ""},
      // IPv4 never inherits the IPv6 ::/0 rule.
      {PacketBuilder::Udp("10.1.2.3", "10.9.0.1", 5353), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Udp("192.0.2.1", "10.9.0.1", 5353), XDP_DROP, "drop_default", ""},
      // IPv6, four shorter lengths under a host.
      {PacketBuilder::Tcp("2001:db8:1:203::3", "2001:db8:9::1", 22), XDP_PASS, "allow_rule", "v6-host"},
      {PacketBuilder::Tcp("2001:db8:1:203::3", "2001:db8:9::1", 9000), XDP_PASS, "allow_rule", "v6-56"},
      {PacketBuilder::Tcp("2001:db8:1:203::9", "2001:db8:9::1", 8080), XDP_PASS, "allow_rule", "v6-64"},
      {PacketBuilder::Tcp("2001:db8:1:203::9", "2001:db8:9::1", 22), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("2001:db8:1:2ff::9", "2001:db8:9::1", 8080), XDP_DROP, "drop_default", ""},  // /56 only
      {PacketBuilder::Tcp("2001:db8:1:2ff::9", "2001:db8:9::1", 9000), XDP_PASS, "allow_rule", "v6-56"},
      {PacketBuilder::Tcp("2001:db8:1:300::9", "2001:db8:9::1", 9000), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Tcp("2001:db8:1:300::9", "2001:db8:9::1", 443), XDP_PASS, "allow_rule", "v6-48"},
      {PacketBuilder::Udp("2001:db8:ffff::1", "2001:db8:9::1", 53), XDP_PASS, "allow_rule", "v6-32"},
      {PacketBuilder::Tcp("2001:db8:ffff::1", "2001:db8:9::1", 443), XDP_DROP, "drop_default", ""},
      {PacketBuilder::Udp("2001:db9::1", "2001:db8:9::1", 5353), XDP_PASS, "allow_rule", "v6-any"},
      {PacketBuilder::Udp("2001:db8:1:203::3", "2001:db8:9::1", 5353), XDP_PASS, "allow_rule", "v6-any"},
      {PacketBuilder::Udp("2001:db9::1", "2001:db8:9::1", 53), XDP_DROP, "drop_default", ""},
  };
}

TEST_F(IngressTestRun, NestedPrefixesDecideAlikeThroughLengthHashesAndTheTrie) {
  // Within the cap: every shorter prefix in the per-length hash.
  Apply(kNestedPolicy, 16);
  ASSERT_EQ(compiled_.ingress.lookup[RP_FAMILY_IPV4].mode, RP_LOOKUP_LENSETS);
  ASSERT_EQ(compiled_.ingress.lookup[RP_FAMILY_IPV6].mode, RP_LOOKUP_LENSETS);
  const rp_lenset v4 = ActiveLenset(RP_FAMILY_IPV4);
  EXPECT_EQ(v4.mode, RP_LOOKUP_LENSETS);
  ASSERT_EQ(v4.count, 4);  // /24, /16, /8 and the 0.0.0.0/0 that shields IPv4 from ::/0
  EXPECT_EQ(std::vector<int>(v4.lens, v4.lens + 4), (std::vector<int>{96 + 24, 96 + 16, 96 + 8, 96}));
  const rp_lenset v6 = ActiveLenset(RP_FAMILY_IPV6);
  EXPECT_EQ(v6.mode, RP_LOOKUP_LENSETS);
  ASSERT_EQ(v6.count, 5);
  EXPECT_EQ(std::vector<int>(v6.lens, v6.lens + 5), (std::vector<int>{64, 56, 48, 32, 0}));
  ShorterPrefixes shorter = CountShorterPrefixes();
  EXPECT_EQ(shorter.in_hash, 9u);
  EXPECT_EQ(shorter.in_trie, 0u);
  Check(NestedRows());

  // A cap of 4 lengths per family: IPv4 (4) stays on the hashes, IPv6 (5)
  // falls back to the trie.
  Apply(kNestedPolicy, 17, {.max_probed_lengths = 4});
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV4).mode, RP_LOOKUP_LENSETS);
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV6).mode, RP_LOOKUP_TRIE);
  shorter = CountShorterPrefixes();
  EXPECT_EQ(shorter.in_hash, 4u);
  EXPECT_EQ(shorter.in_trie, 5u);
  Check(NestedRows());

  // Over the cap in both families: the trie alone, as before length sets.
  Apply(kNestedPolicy, 18, {.max_probed_lengths = 0});
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV4).mode, RP_LOOKUP_TRIE);
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV6).mode, RP_LOOKUP_TRIE);
  shorter = CountShorterPrefixes();
  EXPECT_EQ(shorter.in_hash, 0u);
  EXPECT_EQ(shorter.in_trie, 9u);
  Check(NestedRows());

  // And back: the flip leaves no stale entry of either structure behind.
  Apply(kNestedPolicy, 19);
  shorter = CountShorterPrefixes();
  EXPECT_EQ(shorter.in_hash, 9u);
  EXPECT_EQ(shorter.in_trie, 0u);
  Check(NestedRows());
}

// A family with more distinct lengths than the datapath probes (18 nested
// IPv4 prefixes, 10.0.0.0/8 to /25) keeps them in the trie under the default
// cap; the other family still uses the hashes.
TEST_F(IngressTestRun, AFamilyOverTheLengthCapUsesTheTrie) {
  std::string yaml = R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: deep}
spec:
  segmentation:
    ingress:
      default: deny
      allow:
        - {name: v6, from: ["2001:db8:1::/48"], ports: ["tcp/443"]}
)";
  for (int len = 8; len <= 25; ++len) {
    yaml += rampart::StrCat("        - {name: len", len, ", from: [10.0.0.0/", len, "], ports: [\"tcp/", 1000 + len,
                            "\"]}\n");
  }
  Apply(yaml, 20);
  ASSERT_EQ(compiled_.ingress.lookup[RP_FAMILY_IPV4].lengths.size(), 18u);
  EXPECT_GT(18u, static_cast<size_t>(RP_LENSET_MAX_LENGTHS));
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV4).mode, RP_LOOKUP_TRIE);
  EXPECT_EQ(ActiveLenset(RP_FAMILY_IPV6).mode, RP_LOOKUP_LENSETS);
  const ShorterPrefixes shorter = CountShorterPrefixes();
  EXPECT_EQ(shorter.in_trie, 18u);
  EXPECT_EQ(shorter.in_hash, 1u);
  Check({
      {PacketBuilder::Tcp("10.0.0.1", "10.9.0.1", 1008), XDP_PASS, "allow_rule", "len8"},
      {PacketBuilder::Tcp("10.0.0.1", "10.9.0.1", 1025), XDP_PASS, "allow_rule", "len25"},
      {PacketBuilder::Tcp("10.0.0.200", "10.9.0.1", 1025), XDP_DROP, "drop_default", ""},  // outside the /25
      {PacketBuilder::Tcp("10.0.0.200", "10.9.0.1", 1024), XDP_PASS, "allow_rule", "len24"},
      {PacketBuilder::Tcp("10.128.0.1", "10.9.0.1", 1009), XDP_DROP, "drop_default", ""},  // outside the /9
      {PacketBuilder::Tcp("10.128.0.1", "10.9.0.1", 1008), XDP_PASS, "allow_rule", "len8"},
      {PacketBuilder::Tcp("2001:db8:1::1", "2001:db8:9::1", 443), XDP_PASS, "allow_rule", "v6"},
      {PacketBuilder::Tcp("2001:db8:2::1", "2001:db8:9::1", 443), XDP_DROP, "drop_default", ""},
  });
}

// One test loads every BPF object, so a verifier regression fails loudly.
TEST(BpfObjects, EveryObjectPassesTheVerifier) {
  RAMPART_REQUIRE_KERNEL_OR_SKIP();
  const std::string pins = "/sys/fs/bpf/" + testing::UniqueName("rampart-t");
  ASSERT_TRUE(datapath::PreparePinDir(pins).ok());
  auto object = datapath::DatapathObject::Load(pins);
  EXPECT_TRUE(object.ok()) << object.status();
  object->reset();
  empty_bpf* empty = empty_bpf__open_and_load();
  EXPECT_NE(empty, nullptr) << "empty.bpf.o: " << strerror(errno);
  empty_bpf__destroy(empty);
  (void)datapath::RemovePinDir(pins);
}

}  // namespace
}  // namespace rampart
