// PolicyTracer (rampartctl policy trace) against the real programs: random
// policies are compiled once, published to the datapath and given to the
// tracer; random packets then run through XDP ingress and TC egress with
// BPF_PROG_TEST_RUN, and for each one the tracer's verdict, reason, deciding
// rule and rate limit must be what the kernel did: the same verdict, the same
// reason counter and rule counter moving by one, the same token bucket
// taking the packet. Egress packets under test run carry this process's
// cgroup (the kernel gives the test skb a socket of the caller's cgroup), so
// unit scoping and confinement are exercised too.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "agent/common/strings.h"
#include "agent/datapath/bpffs.h"
#include "agent/datapath/cgroups.h"
#include "agent/datapath/datapath.h"
#include "agent/policy/compiler.h"
#include "agent/policy/policy_tracer.h"
#include "agent/policy/validate.h"
#include "kernel_tests/fixtures/kernel_env.h"
#include "kernel_tests/fixtures/packet_builder.h"

namespace rampart {
namespace {

using policy::Address;
using testing::PacketBuilder;

constexpr int kPoliciesPerTest = 6;
constexpr int kPacketsPerPolicy = 400;

// This process's cgroup v2 id: what bpf_skb_cgroup_id() reports for test-run skbs.
uint64_t OwnCgroupId() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("0::")) continue;
    struct stat st{};
    if (stat((datapath::Cgroup2Mount() + line.substr(3)).c_str(), &st) == 0) return st.st_ino;
  }
  return 0;
}

class Random {
 public:
  explicit Random(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Int(0, static_cast<int>(items.size()) - 1))];
  }

 private:
  std::mt19937 rng_;
};

// Addresses stay in a small space (10.0.0.0/14 and 2001:db8:0-3:0-3::/64
// with a small last group) so random prefixes overlap and nest.
Address RandomAddress(Random& r, bool ipv4) {
  Address a{};
  if (ipv4) {
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = static_cast<uint8_t>(r.Int(0, 3));
    a[14] = static_cast<uint8_t>(r.Chance(0.5) ? r.Int(0, 3) : r.Int(0, 255));
    a[15] = static_cast<uint8_t>(r.Int(0, 255));
  } else {
    const uint8_t prefix[] = {0x20, 0x01, 0x0d, 0xb8};
    std::copy(std::begin(prefix), std::end(prefix), a.begin());
    a[5] = static_cast<uint8_t>(r.Int(0, 3));
    a[7] = static_cast<uint8_t>(r.Int(0, 3));
    a[15] = static_cast<uint8_t>(r.Int(0, 15));
  }
  return a;
}

// `inside` with its first `mapped_len` bits replaced by the prefix's.
Address Within(const policy::IpPrefix& prefix, Address inside) {
  for (int bit = 0; bit < prefix.mapped_len; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    inside[bit / 8] = static_cast<uint8_t>((inside[bit / 8] & ~mask) | (prefix.addr[bit / 8] & mask));
  }
  return inside;
}

std::string RandomPrefix(Random& r) {
  const bool ipv4 = r.Chance(0.55);
  if (r.Chance(0.04)) return ipv4 ? "0.0.0.0/0" : "::/0";
  static const std::vector<int> kV4 = {8, 14, 16, 20, 22, 24, 28, 30, 32, 32};
  static const std::vector<int> kV6 = {32, 44, 48, 56, 62, 64, 120, 126, 128, 128};
  const int len = ipv4 ? r.Pick(kV4) : r.Pick(kV6);
  policy::IpPrefix p;
  p.ipv4 = ipv4;
  p.mapped_len = static_cast<uint8_t>(ipv4 ? 96 + len : len);
  p.addr = RandomAddress(r, ipv4);
  for (int bit = p.mapped_len; bit < 128; ++bit) p.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return p.ToString();
}

std::string RandomPorts(Random& r) {
  const char* proto = r.Chance(0.5) ? "tcp" : "udp";
  static const std::vector<int> kFirst = {22, 53, 80, 443, 5432, 8000, 8443, 30000, 1, 65535};
  const int first = r.Chance(0.7) ? r.Pick(kFirst) : r.Int(1, 2000);
  const int last = std::min(65535, first + (r.Chance(0.5) ? 0 : r.Pick(std::vector<int>{1, 5, 100, 1000})));
  return first == last ? rampart::StrCat(proto, "/", first) : rampart::StrCat(proto, "/", first, "-", last);
}

// A random bundle of two policies (so defaults and rules merge), with
// egress rules scoped to units that resolve, at random, to this process's
// cgroup or to one no packet comes from.
v1::PolicyBundle RandomBundle(Random& r, uint64_t version) {
  v1::PolicyBundle bundle;
  bundle.set_version(version);
  int rules = 0;
  for (int p = 0; p < 2; ++p) {
    v1::Policy* policy = bundle.add_policies();
    policy->set_api_version("rampart/v1");
    policy->set_kind("Policy");
    policy->mutable_metadata()->set_name(rampart::StrCat("random-", p));
    auto* seg = policy->mutable_spec()->mutable_segmentation();
    for (auto* dir : {seg->mutable_ingress(), seg->mutable_egress()}) {
      const bool egress = dir == seg->mutable_egress();
      dir->set_default_action(r.Chance(0.5) ? v1::DEFAULT_ACTION_DENY
                              : r.Chance(0.5) ? v1::DEFAULT_ACTION_ALLOW
                                              : v1::DEFAULT_ACTION_UNSPECIFIED);
      // At most 2 port ranges per rule and 12 rules keep every prefix within
      // the 32 port rules it may reach.
      const int count = r.Int(1, 3);
      for (int i = 0; i < count; ++i, ++rules) {
        v1::SegmentationRule* rule = dir->add_allow();
        rule->set_name(rampart::StrCat("rule-", rules));
        std::set<std::string> prefixes;
        for (int n = r.Int(1, 3); n > 0; --n) prefixes.insert(RandomPrefix(r));
        for (const auto& prefix : prefixes) egress ? rule->add_to(prefix) : rule->add_from(prefix);
        std::set<std::string> ports;
        for (int n = r.Int(1, 2); n > 0; --n) ports.insert(RandomPorts(r));
        for (const auto& port : ports) rule->add_ports(port);
        if (egress && r.Chance(0.4)) rule->set_unit(r.Chance(0.6) ? "self.service" : "elsewhere.service");
      }
    }
    for (int n = r.Int(0, 2); n > 0; --n) {
      v1::RateLimit* limit = policy->mutable_spec()->add_rate_limits();
      limit->set_name(rampart::StrCat("limit-", policy->spec().rate_limits_size()));
      std::set<std::string> ports;
      for (int k = r.Int(1, 2); k > 0; --k) ports.insert(RandomPorts(r));
      for (const auto& port : ports) limit->mutable_match()->add_ports(port);
      limit->set_key(r.Chance(0.5) ? v1::RATE_LIMIT_KEY_FLOW : v1::RATE_LIMIT_KEY_SOURCE);
      // Rates no test run can exhaust: the comparison is about which bucket
      // takes the packet; emptying one is rate_limit_test.cc's business.
      limit->set_packets_per_second(100'000'000);
      limit->set_burst(3600ull * 100'000'000);
    }
  }
  return bundle;
}

class PolicyTraceAgainstKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    RAMPART_REQUIRE_KERNEL_OR_SKIP();
    own_cgroup_ = OwnCgroupId();
    ASSERT_NE(own_cgroup_, 0u) << "no cgroup v2 id for this process";
    pin_dir_ = "/sys/fs/bpf/" + testing::UniqueName("rampart-tr");
    datapath::DatapathOptions options;
    options.pin_dir = pin_dir_;
    auto datapath = datapath::Datapath::Open(options);
    ASSERT_TRUE(datapath.ok()) << datapath.status();
    datapath_ = std::move(*datapath);
    ASSERT_TRUE(datapath_->SetDropSampleRate(0).ok());
  }
  void TearDown() override {
    datapath_.reset();
    if (!pin_dir_.empty()) (void)datapath::RemovePinDir(pin_dir_);
  }

  policy::CompiledPolicy Publish(const v1::PolicyBundle& bundle, const policy::DatapathCapacity& capacity = {}) {
    std::vector<v1::Policy> policies(bundle.policies().begin(), bundle.policies().end());
    absl::Status valid = policy::ValidatePolicySet(policies);
    EXPECT_TRUE(valid.ok()) << valid << "\n" << bundle.DebugString();
    const uint64_t self = own_cgroup_;
    auto compiled = policy::CompilePolicy(bundle, capacity, [self](const std::string&, const std::string& name) {
      return name == "self.service" ? std::optional<uint64_t>(self) : std::optional<uint64_t>(987654321);
    });
    EXPECT_TRUE(compiled.ok()) << compiled.status() << "\n" << bundle.DebugString();
    if (!compiled.ok()) return {};
    absl::Status applied = datapath_->Apply(*compiled);
    EXPECT_TRUE(applied.ok()) << applied;
    return *std::move(compiled);
  }

  std::vector<policy::BlocklistEntry> Blocklist() {
    auto entries = datapath_->blocklist().List();
    EXPECT_TRUE(entries.ok()) << entries.status();
    std::vector<policy::BlocklistEntry> out;
    if (!entries.ok()) return out;
    for (const auto& e : *entries) {
      out.push_back({.kind = e.kind, .source = e.flow.src, .destination = e.flow.dst, .protocol = e.flow.proto,
                     .source_port = e.flow.sport, .destination_port = e.flow.dport});
    }
    return out;
  }

  // "ingress reason:allow_rule", "egress rule:random-0/rule-3" -> packets.
  std::map<std::string, uint64_t> Counters() {
    auto counters = datapath_->ReadCounters();
    EXPECT_TRUE(counters.ok()) << counters.status();
    std::map<std::string, uint64_t> out;
    if (!counters.ok()) return out;
    for (const auto& r : counters->by_reason()) out[r.direction() + " reason:" + r.reason()] = r.packets();
    for (const auto& r : counters->by_rule()) {
      out[r.direction() + " rule:" + r.policy() + "/" + r.rule()] = r.packets();
    }
    return out;
  }

  // Passed packets of every bucket, by key bytes.
  std::map<std::string, uint64_t> Buckets() {
    std::map<std::string, uint64_t> out;
    rp_bucket_key key{}, next{};
    for (void* prev = nullptr; bpf_map_get_next_key(datapath_->object().buckets_fd(), prev, &next) == 0;
         key = next, prev = &key) {
      rp_bucket bucket{};
      if (bpf_map_lookup_elem(datapath_->object().buckets_fd(), &next, &bucket) == 0) {
        out[std::string(reinterpret_cast<const char*>(&next), sizeof(next))] = bucket.passed_packets;
      }
    }
    return out;
  }

  static std::string BucketKey(const policy::CompiledRateLimit& limit, uint64_t version,
                               const policy::TracedPacket& p) {
    rp_bucket_key key{};
    key.limit_id = limit.limit.limit_id + static_cast<uint32_t>(version) * RP_MAX_RATE_LIMITS;
    std::copy(p.source.begin(), p.source.end(), key.src);
    if (limit.limit.key_kind == RP_LIMIT_BY_FLOW) {
      key.proto = p.protocol;
      key.sport = p.source_port;
      key.dport = p.destination_port;
      std::copy(p.destination.begin(), p.destination.end(), key.dst);
    }
    return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
  }

  // The kernel's verdict on one frame: true when it passed.
  bool Run(rp_direction direction, const std::vector<uint8_t>& frame) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = 1);
    const int fd = direction == RP_DIR_INGRESS ? datapath_->object().xdp_ingress_fd()
                                               : datapath_->object().tc_egress_fd();
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &opts), 0) << "bpf_prog_test_run_opts: " << strerror(errno);
    return direction == RP_DIR_INGRESS ? opts.retval == XDP_PASS : opts.retval == TC_ACT_OK;
  }

  uint64_t own_cgroup_ = 0;
  std::string pin_dir_;
  std::unique_ptr<datapath::Datapath> datapath_;
};

// A random packet aimed at the policy: peers inside its prefixes (or near
// them), ports at the edges of its ranges, now and then a blocked peer or
// flow, a later fragment or ICMPv6.
struct RandomPacket {
  policy::TracedPacket traced;
  PacketBuilder frame;
};

RandomPacket MakePacket(Random& r, const policy::CompiledPolicy& compiled, const std::vector<Address>& blocked_peers,
                        const std::vector<policy::TracedPacket>& blocked_flows, uint64_t own_cgroup) {
  if (!blocked_flows.empty() && r.Chance(0.05)) {
    const policy::TracedPacket& flow = r.Pick(blocked_flows);
    policy::TracedPacket p = flow;
    if (r.Chance(0.5)) {
      // The reply leaving through egress: the same flow reversed.
      p.direction = RP_DIR_EGRESS;
      std::swap(p.source, p.destination);
      std::swap(p.source_port, p.destination_port);
      p.cgroup_id = own_cgroup;
    } else if (r.Chance(0.5)) {
      p.source_port = static_cast<uint16_t>(p.source_port + 1);  // the same peer on another flow
    }
    const std::string src = policy::FormatTraceAddress(p.source), dst = policy::FormatTraceAddress(p.destination);
    auto frame = p.protocol == IPPROTO_TCP ? PacketBuilder::Tcp(src, dst, p.destination_port)
                                           : PacketBuilder::Udp(src, dst, p.destination_port);
    frame.SourcePort(p.source_port);
    return {p, frame};
  }

  policy::TracedPacket p;
  p.direction = r.Chance(0.5) ? RP_DIR_INGRESS : RP_DIR_EGRESS;
  const policy::CompiledDirection& dir = p.direction == RP_DIR_INGRESS ? compiled.ingress : compiled.egress;
  Address peer;
  if (!blocked_peers.empty() && r.Chance(0.05)) {
    peer = r.Pick(blocked_peers);
  } else if (!dir.prefixes.empty() && r.Chance(0.75)) {
    const policy::IpPrefix& prefix = r.Pick(dir.prefixes).first;
    peer = Within(prefix, RandomAddress(r, prefix.ipv4));
  } else {
    peer = RandomAddress(r, r.Chance(0.5));
  }
  const bool ipv4 = peer[10] == 0xff && peer[11] == 0xff && peer[0] == 0;
  const Address local = ipv4 ? *policy::ParseTraceAddress("10.9.0.1") : *policy::ParseTraceAddress("2001:db8:9::1");
  p.source = p.direction == RP_DIR_INGRESS ? peer : local;
  p.destination = p.direction == RP_DIR_INGRESS ? local : peer;
  p.cgroup_id = p.direction == RP_DIR_EGRESS ? own_cgroup : 0;
  const std::string src = policy::FormatTraceAddress(p.source), dst = policy::FormatTraceAddress(p.destination);

  if (!ipv4 && r.Chance(0.08)) {
    p.protocol = 58;
    p.icmp6_type = static_cast<uint8_t>(r.Pick(std::vector<int>{128, 129, 133, 134, 135, 136, 137, 138, 1}));
    return {p, PacketBuilder::Icmpv6(src, dst, p.icmp6_type)};
  }
  // A destination port at an edge of some port rule of the direction, or anywhere.
  std::vector<int> ports = {1, 65535};
  for (const auto& set : dir.rulesets) {
    for (uint32_t i = 0; i < set.count; ++i) {
      for (int edge : {set.rules[i].port_first - 1, int{set.rules[i].port_first}, int{set.rules[i].port_last},
                       set.rules[i].port_last + 1}) {
        if (edge >= 1 && edge <= 65535) ports.push_back(edge);
      }
    }
  }
  for (const auto& limit : compiled.rate_limits) {
    ports.push_back(limit.limit.port_first);
    ports.push_back(limit.limit.port_last);
  }
  p.protocol = r.Chance(0.5) ? IPPROTO_TCP : IPPROTO_UDP;
  p.destination_port = static_cast<uint16_t>(r.Chance(0.8) ? r.Pick(ports) : r.Int(1, 65535));
  p.source_port = static_cast<uint16_t>(r.Int(1024, 65535));
  auto frame = p.protocol == IPPROTO_TCP ? PacketBuilder::Tcp(src, dst, p.destination_port)
                                         : PacketBuilder::Udp(src, dst, p.destination_port);
  frame.SourcePort(p.source_port);
  if (r.Chance(0.07)) {
    frame.LaterFragment();
    p.later_fragment = true;
    p.source_port = p.destination_port = 0;  // the parser reads no ports from it
  }
  return {p, frame};
}

TEST_F(PolicyTraceAgainstKernel, RandomPacketsGetTheTracersVerdict) {
  const uint32_t seed = ::testing::UnitTest::GetInstance()->random_seed() ^ 0x52504c54;
  SCOPED_TRACE(rampart::StrCat("seed ", seed, " (rerun with --gtest_random_seed to repeat)"));
  Random r(seed);
  std::map<std::string, int> seen;  // reasons covered, so a degenerate generator shows
  for (int round = 0; round < kPoliciesPerTest; ++round) {
    const uint64_t version = 100 + static_cast<uint64_t>(round);
    const v1::PolicyBundle bundle = RandomBundle(r, version);
    SCOPED_TRACE(bundle.DebugString());
    // Odd rounds probe at most 2 shorter lengths per family, so families
    // with more use the trie: the tracer must match either lookup.
    policy::DatapathCapacity capacity;
    if (round % 2 == 1) capacity.max_probed_lengths = 2;
    SCOPED_TRACE(rampart::StrCat("max_probed_lengths ", capacity.max_probed_lengths));
    const policy::CompiledPolicy compiled = Publish(bundle, capacity);
    if (HasFailure()) return;

    // Block a few peers of this policy, and a few flows, in the real map.
    std::vector<Address> blocked_peers;
    std::vector<policy::TracedPacket> blocked_flows;
    for (int i = 0; i < 2; ++i) {
      const auto& prefixes = (i == 0 ? compiled.ingress : compiled.egress).prefixes;
      if (prefixes.empty()) continue;
      const policy::IpPrefix& prefix = r.Pick(prefixes).first;
      blocked_peers.push_back(Within(prefix, RandomAddress(r, prefix.ipv4)));
      ASSERT_TRUE(datapath_->blocklist().BlockSource(blocked_peers.back(), std::chrono::minutes(5), 0).ok());
      Address local = prefix.ipv4 ? *policy::ParseTraceAddress("10.9.0.1")
                                  : *policy::ParseTraceAddress("2001:db8:9::1");
      policy::TracedPacket flow{.direction = RP_DIR_INGRESS,
                                .source = Within(prefix, RandomAddress(r, prefix.ipv4)),
                                .destination = local,
                                .protocol = static_cast<uint8_t>(r.Chance(0.5) ? IPPROTO_TCP : IPPROTO_UDP),
                                .source_port = static_cast<uint16_t>(r.Int(1024, 65000)),
                                .destination_port = static_cast<uint16_t>(r.Int(1, 65535))};
      datapath::FlowTuple tuple{.src = flow.source, .dst = flow.destination, .proto = flow.protocol,
                                .sport = flow.source_port, .dport = flow.destination_port};
      ASSERT_TRUE(datapath_->blocklist().BlockFlow(tuple, std::chrono::minutes(5), 0).ok());
      blocked_flows.push_back(flow);
    }
    const std::vector<policy::BlocklistEntry> blocklist = Blocklist();
    policy::PolicyTracer tracer(compiled);

    for (int n = 0; n < kPacketsPerPolicy; ++n) {
      RandomPacket packet = MakePacket(r, compiled, blocked_peers, blocked_flows, own_cgroup_);
      const policy::PacketTrace trace = tracer.Trace(packet.traced, blocklist);
      std::string steps;
      for (const auto& s : trace.steps) steps += "  " + s + "\n";
      const char* dir = packet.traced.direction == RP_DIR_INGRESS ? "ingress" : "egress";
      SCOPED_TRACE(rampart::StrCat(dir, " ", packet.frame.Describe(), "\ntracer:\n", steps));
      const std::string reason = datapath::ReasonName(trace.reason);
      seen[rampart::StrCat(dir, " ", reason)]++;

      auto before = Counters();
      auto buckets_before = Buckets();
      EXPECT_EQ(Run(packet.traced.direction, packet.frame.Build()), trace.allowed);
      auto after = Counters();
      auto buckets_after = Buckets();

      std::set<std::string> moved = {rampart::StrCat(dir, " reason:", reason)};
      if (trace.rule && trace.allowed) moved.insert(rampart::StrCat(dir, " rule:", trace.rule->policy, "/", trace.rule->rule));
      for (const auto& [name, value] : after) {
        EXPECT_EQ(value, before[name] + (moved.contains(name) ? 1 : 0)) << name;
      }
      uint64_t passed_before = 0, passed_after = 0;
      for (const auto& [key, passed] : buckets_before) passed_before += passed;
      for (const auto& [key, passed] : buckets_after) passed_after += passed;
      if (trace.allowed && trace.rate_limit) {
        const std::string key = BucketKey(*trace.rate_limit, version, packet.traced);
        EXPECT_EQ(buckets_after[key], buckets_before[key] + 1)
            << "rate limit " << trace.rate_limit->policy << "/" << trace.rate_limit->name << " took no token";
        EXPECT_EQ(passed_after, passed_before + 1);
      } else {
        EXPECT_EQ(passed_after, passed_before) << "a bucket took the packet, the tracer names no rate limit";
      }
      if (HasFailure()) return;  // one explained mismatch beats a thousand
    }
  }
  // The generator must reach every way the pipeline decides.
  for (const char* must : {"ingress allow_rule", "ingress drop_blocked", "egress allow_rule", "egress drop_blocked",
                           "egress drop_confined", "ingress pass_icmpv6_nd"}) {
    EXPECT_GT(seen[must], 0) << must << " never came up";
  }
  std::string summary;
  for (const auto& [what, count] : seen) summary += rampart::StrCat(what, "=", count, " ");
  RecordProperty("verdicts", summary);
  std::cout << "verdicts compared: " << summary << "\n";
}

}  // namespace
}  // namespace rampart
