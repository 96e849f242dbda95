// PolicyTracer against the semantics of docs/policy-reference.md: each row is
// a packet, the verdict the reference gives it, the reason the datapath
// counts and the rule (or prefix) that decides. The tracer reads the same
// compiled form the datapath maps are written from; that the kernel agrees
// with it is kernel_tests/xdp/policy_trace_test.cc's business.
#include "agent/policy/policy_tracer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "agent/policy/compiler.h"
#include "agent/policy/loader.h"
#include "agent/policy/validate.h"

namespace rampart::policy {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPaymentsCgroup = 4242;

// Two policies, merged on the node: "web" says ingress deny, "ops" says
// nothing (allow), so the node denies by default (reference: "Selection and merging").
constexpr char kPolicies[] = R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: web}
spec:
  interfaces: [eth0]
  segmentation:
    ingress:
      default: deny
      allow:
        - name: https
          from: [10.1.0.0/16, "2001:db8:1::/48"]
          ports: ["tcp/443", "tcp/8443-8445"]
        - name: dns
          from: [10.0.0.0/8]
          ports: ["udp/53"]
        - name: admin-ssh
          from: [10.1.2.3]
          ports: ["tcp/22"]
        - name: any-v6-web
          from: ["::/0"]
          ports: ["tcp/80"]
    egress:
      default: allow
      allow:
        - name: payments-to-db
          unit: payments.service
          to: [10.20.0.0/16]
          ports: ["tcp/5432"]
        - name: metrics
          to: [10.30.0.1]
          ports: ["tcp/9090"]
  rateLimits:
    - name: https-per-source
      match: {ports: ["tcp/443"]}
      packetsPerSecond: 2000
      burst: 4000
---
apiVersion: rampart/v1
kind: Policy
metadata: {name: ops}
spec:
  segmentation:
    ingress:
      allow:
        - name: node-exporter
          from: ["2001:db8:ff::7"]
          ports: ["tcp/9100"]
)";

CompiledPolicy Compile(const std::string& yaml, const CgroupResolver& resolve = {},
                       const DatapathCapacity& capacity = {}) {
  auto policies = ParsePolicyYaml(yaml, "trace.yaml");
  EXPECT_TRUE(policies.ok()) << policies.status();
  if (!policies.ok()) return {};
  EXPECT_TRUE(ValidatePolicySet(*policies).ok());
  v1::PolicyBundle bundle;
  bundle.set_version(9);
  for (const auto& p : *policies) *bundle.add_policies() = p;
  auto compiled = CompilePolicy(bundle, capacity, resolve);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *std::move(compiled) : CompiledPolicy{};
}

std::optional<uint64_t> PaymentsRunning(const std::string& kind, const std::string& name) {
  if (kind == "unit" && name == "payments.service") return kPaymentsCgroup;
  return std::nullopt;
}

Address Addr(const std::string& text) {
  auto address = ParseTraceAddress(text);
  EXPECT_TRUE(address.ok()) << address.status();
  return address.ok() ? *address : Address{};
}

TracedPacket Packet(rp_direction direction, const std::string& src, const std::string& dst, uint8_t proto,
                    uint16_t dport, uint64_t cgroup = 0) {
  return TracedPacket{.direction = direction,
                      .source = Addr(src),
                      .destination = Addr(dst),
                      .protocol = proto,
                      .source_port = 40000,
                      .destination_port = dport,
                      .cgroup_id = cgroup};
}

TracedPacket In(const std::string& src, uint8_t proto, uint16_t dport) {
  const bool v6 = src.find(':') != std::string::npos;
  return Packet(RP_DIR_INGRESS, src, v6 ? "2001:db8:9::1" : "10.9.0.1", proto, dport);
}

TracedPacket Out(const std::string& dst, uint8_t proto, uint16_t dport, uint64_t cgroup) {
  const bool v6 = dst.find(':') != std::string::npos;
  return Packet(RP_DIR_EGRESS, v6 ? "2001:db8:9::1" : "10.9.0.1", dst, proto, dport, cgroup);
}

TracedPacket LaterFragment(TracedPacket p) {
  p.later_fragment = true;
  p.source_port = p.destination_port = 0;
  return p;
}

TracedPacket Icmpv6(const std::string& src, uint8_t type) {
  TracedPacket p = Packet(RP_DIR_INGRESS, src, "2001:db8:9::1", 58, 0);
  p.source_port = 0;
  p.icmp6_type = type;
  return p;
}

struct Row {
  std::string what;
  TracedPacket packet;
  bool allowed;
  rp_reason reason;
  std::string rule;    // "policy/rule" that admitted it, or ""
  std::string prefix;  // the host entry or prefix the peer matched, or "" for none
};

std::string RuleOf(const PacketTrace& t) { return t.rule ? t.rule->policy + "/" + t.rule->rule : ""; }

void CheckRows(const CompiledPolicy& policy, const std::vector<Row>& rows,
               const std::vector<BlocklistEntry>& blocklist = {}) {
  PolicyTracer tracer(policy);
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    PacketTrace t = tracer.Trace(row.packet, blocklist);
    std::string steps;
    for (const auto& s : t.steps) steps += s + "\n";
    SCOPED_TRACE(steps);
    EXPECT_EQ(t.allowed, row.allowed);
    EXPECT_EQ(t.reason, row.reason);
    EXPECT_EQ(RuleOf(t), row.rule);
    EXPECT_EQ(t.prefix ? t.prefix->ToString() : "", row.prefix);
  }
}

TEST(PolicyTracer, IngressIpv4DecidesByLongestPrefixThenProtocolAndPort) {
  const CompiledPolicy policy = Compile(kPolicies);
  CheckRows(policy, {
      {"host entry, rule of a covering prefix", In("10.1.2.3", IPPROTO_TCP, 443), true, RP_REASON_ALLOW_RULE,
       "web/https", "10.1.2.3/32"},
      {"host entry, its own rule", In("10.1.2.3", IPPROTO_TCP, 22), true, RP_REASON_ALLOW_RULE, "web/admin-ssh",
       "10.1.2.3/32"},
      {"a neighbour does not get the host's rule", In("10.1.9.9", IPPROTO_TCP, 22), false, RP_REASON_DROP_DEFAULT, "",
       "10.1.0.0/16"},
      {"inherited from the /8", In("10.1.9.9", IPPROTO_UDP, 53), true, RP_REASON_ALLOW_RULE, "web/dns",
       "10.1.0.0/16"},
      {"outside the /16: only the /8's rules", In("10.200.0.1", IPPROTO_TCP, 443), false, RP_REASON_DROP_DEFAULT, "",
       "10.0.0.0/8"},
      {"protocol must match the rule's", In("10.1.9.9", IPPROTO_UDP, 443), false, RP_REASON_DROP_DEFAULT, "",
       "10.1.0.0/16"},
      {"first port of a range", In("10.1.9.9", IPPROTO_TCP, 8443), true, RP_REASON_ALLOW_RULE, "web/https",
       "10.1.0.0/16"},
      {"last port of a range", In("10.1.9.9", IPPROTO_TCP, 8445), true, RP_REASON_ALLOW_RULE, "web/https",
       "10.1.0.0/16"},
      {"one past the range", In("10.1.9.9", IPPROTO_TCP, 8446), false, RP_REASON_DROP_DEFAULT, "", "10.1.0.0/16"},
      {"::/0 does not cover IPv4", In("192.0.2.1", IPPROTO_TCP, 80), false, RP_REASON_DROP_DEFAULT, "", "0.0.0.0/0"},
      {"ICMP meets the default", In("10.1.2.3", IPPROTO_ICMP, 0), false, RP_REASON_DROP_DEFAULT, "", "10.1.2.3/32"},
  });
}

TEST(PolicyTracer, IngressIpv6MatchesIpv6PrefixesOnly) {
  const CompiledPolicy policy = Compile(kPolicies);
  CheckRows(policy, {
      {"IPv6 range", In("2001:db8:1::5", IPPROTO_TCP, 8444), true, RP_REASON_ALLOW_RULE, "web/https",
       "2001:db8:1::/48"},
      {"IPv6 past the range, still covered by ::/0 for tcp/80 only", In("2001:db8:1::5", IPPROTO_TCP, 8446), false,
       RP_REASON_DROP_DEFAULT, "", "2001:db8:1::/48"},
      {"::/0", In("2001:db8:2::5", IPPROTO_TCP, 80), true, RP_REASON_ALLOW_RULE, "web/any-v6-web", "::/0"},
      {"an IPv4 rule never admits IPv6", In("2001:db8:1::5", IPPROTO_UDP, 53), false, RP_REASON_DROP_DEFAULT, "",
       "2001:db8:1::/48"},
      {"a /128 host of another policy", In("2001:db8:ff::7", IPPROTO_TCP, 9100), true, RP_REASON_ALLOW_RULE,
       "ops/node-exporter", "2001:db8:ff::7/128"},
      {"the host also inherits ::/0", In("2001:db8:ff::7", IPPROTO_TCP, 80), true, RP_REASON_ALLOW_RULE,
       "web/any-v6-web", "2001:db8:ff::7/128"},
      {"neighbour discovery always passes", Icmpv6("2001:db8:77::1", 135), true, RP_REASON_PASS_ICMPV6_ND, "", ""},
      {"other ICMPv6 meets the default", Icmpv6("2001:db8:77::1", 128), false, RP_REASON_DROP_DEFAULT, "", "::/0"},
  });
}

TEST(PolicyTracer, LaterFragmentsPassWhenThePeerMayReachSomePortOfTheirProtocol) {
  const CompiledPolicy policy = Compile(kPolicies);
  CheckRows(policy, {
      {"udp fragment from the dns /8", LaterFragment(In("10.200.0.1", IPPROTO_UDP, 0)), true, RP_REASON_ALLOW_RULE,
       "web/dns", "10.0.0.0/8"},
      {"tcp fragment from the dns /8", LaterFragment(In("10.200.0.1", IPPROTO_TCP, 0)), false,
       RP_REASON_DROP_DEFAULT, "", "10.0.0.0/8"},
  });
}

TEST(PolicyTracer, DefaultAllowWhenNoPolicySaysDeny) {
  const CompiledPolicy policy = Compile(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: open}
spec:
  segmentation:
    ingress:
      allow:
        - {name: web, from: [10.0.0.0/8], ports: ["tcp/80"]}
)");
  CheckRows(policy, {
      {"rule", In("10.0.0.1", IPPROTO_TCP, 80), true, RP_REASON_ALLOW_RULE, "open/web", "10.0.0.0/8"},
      {"no rule, default allow", In("10.0.0.1", IPPROTO_TCP, 81), true, RP_REASON_ALLOW_DEFAULT, "", "10.0.0.0/8"},
      {"no prefix, default allow", In("192.0.2.1", IPPROTO_TCP, 80), true, RP_REASON_ALLOW_DEFAULT, "", ""},
      {"egress: nothing said, allow", Out("192.0.2.1", IPPROTO_UDP, 53, 0), true, RP_REASON_ALLOW_DEFAULT, "", ""},
  });
}

TEST(PolicyTracer, AnEmptyPolicyNeverDrops) {
  const CompiledPolicy policy;  // what the datapath holds before any policy
  CheckRows(policy, {
      {"ingress", In("10.0.0.1", IPPROTO_TCP, 80), true, RP_REASON_ALLOW_DEFAULT, "", ""},
      {"egress", Out("2001:db8::1", IPPROTO_TCP, 80, 7), true, RP_REASON_ALLOW_DEFAULT, "", ""},
  });
}

TEST(PolicyTracer, EgressRulesScopedToAUnitConfineItsCgroup) {
  const CompiledPolicy policy = Compile(kPolicies, PaymentsRunning);
  CheckRows(policy, {
      {"the unit to its database", Out("10.20.0.5", IPPROTO_TCP, 5432, kPaymentsCgroup), true, RP_REASON_ALLOW_RULE,
       "web/payments-to-db", "10.20.0.0/16"},
      {"the unit through a rule without a unit", Out("10.30.0.1", IPPROTO_TCP, 9090, kPaymentsCgroup), true,
       RP_REASON_ALLOW_RULE, "web/metrics", "10.30.0.1/32"},
      {"the unit elsewhere: confined", Out("192.0.2.1", IPPROTO_TCP, 443, kPaymentsCgroup), false,
       RP_REASON_DROP_CONFINED, "", ""},
      {"the unit, wrong port to its database: confined", Out("10.20.0.5", IPPROTO_TCP, 5433, kPaymentsCgroup), false,
       RP_REASON_DROP_CONFINED, "", "10.20.0.0/16"},
      {"another cgroup to the database: the rule is not for it, default allow",
       Out("10.20.0.5", IPPROTO_TCP, 5432, 77), true, RP_REASON_ALLOW_DEFAULT, "", "10.20.0.0/16"},
      {"no cgroup at all (forwarded): default allow", Out("192.0.2.1", IPPROTO_TCP, 443, 0), true,
       RP_REASON_ALLOW_DEFAULT, "", ""},
  });
}

TEST(PolicyTracer, AUnitThatIsNotRunningConfinesNothing) {
  const CompiledPolicy policy = Compile(kPolicies);  // no resolver: payments.service has no cgroup
  ASSERT_EQ(policy.warnings.size(), 1u);
  CheckRows(policy, {
      {"its rule waits", Out("10.20.0.5", IPPROTO_TCP, 5432, kPaymentsCgroup), true, RP_REASON_ALLOW_DEFAULT, "", ""},
      {"and nothing is confined", Out("192.0.2.1", IPPROTO_TCP, 443, kPaymentsCgroup), true, RP_REASON_ALLOW_DEFAULT,
       "", ""},
  });
}

TEST(PolicyTracer, EgressDefaultDeny) {
  const CompiledPolicy policy = Compile(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: closed}
spec:
  segmentation:
    egress:
      default: deny
      allow:
        - {name: dns, to: ["2001:db8::53", 10.0.0.53], ports: ["udp/53"]}
)");
  CheckRows(policy, {
      {"IPv6 host rule", Out("2001:db8::53", IPPROTO_UDP, 53, 5), true, RP_REASON_ALLOW_RULE, "closed/dns",
       "2001:db8::53/128"},
      {"IPv4 host rule", Out("10.0.0.53", IPPROTO_UDP, 53, 0), true, RP_REASON_ALLOW_RULE, "closed/dns",
       "10.0.0.53/32"},
      {"elsewhere", Out("10.0.0.54", IPPROTO_UDP, 53, 0), false, RP_REASON_DROP_DEFAULT, "", ""},
      {"ingress untouched", In("10.0.0.54", IPPROTO_UDP, 53), true, RP_REASON_ALLOW_DEFAULT, "", ""},
  });
}

TEST(PolicyTracer, TheBlocklistComesFirstInBothDirections) {
  const CompiledPolicy policy = Compile(kPolicies, PaymentsRunning);
  const std::vector<BlocklistEntry> blocklist = {
      {.kind = RP_BLOCK_SOURCE, .source = Addr("10.1.2.3")},
      {.kind = RP_BLOCK_FLOW,
       .source = Addr("10.1.7.7"),
       .destination = Addr("10.9.0.1"),
       .protocol = IPPROTO_TCP,
       .source_port = 40000,
       .destination_port = 443},
  };
  TracedPacket other_port = In("10.1.7.7", IPPROTO_TCP, 443);
  other_port.source_port = 40001;
  // Egress sees the blocked flow reversed: from the local port to the peer's.
  TracedPacket reply = Out("10.1.7.7", IPPROTO_TCP, 40000, 0);
  reply.source_port = 443;
  CheckRows(policy,
            {
                {"a blocked source, even on an allowed port", In("10.1.2.3", IPPROTO_TCP, 443), false,
                 RP_REASON_DROP_BLOCKED, "", ""},
                {"a blocked source is also blocked as a destination", Out("10.1.2.3", IPPROTO_TCP, 443, 0), false,
                 RP_REASON_DROP_BLOCKED, "", ""},
                {"a blocked flow", In("10.1.7.7", IPPROTO_TCP, 443), false, RP_REASON_DROP_BLOCKED, "", ""},
                {"the same peer from another port", other_port, true, RP_REASON_ALLOW_RULE, "web/https",
                 "10.1.0.0/16"},
                {"the blocked flow's replies", reply, false, RP_REASON_DROP_BLOCKED, "", ""},
            },
            blocklist);
}

TEST(PolicyTracer, TheFirstRateLimitOfTheProtocolAndPortAppliesToAdmittedIngress) {
  const CompiledPolicy policy = Compile(kPolicies);
  PolicyTracer tracer(policy);
  PacketTrace limited = tracer.Trace(In("10.1.9.9", IPPROTO_TCP, 443));
  ASSERT_TRUE(limited.rate_limit.has_value());
  EXPECT_EQ(limited.rate_limit->name, "https-per-source");
  EXPECT_THAT(limited.steps.back(), HasSubstr("2000 packets/s, burst 4000"));
  EXPECT_FALSE(tracer.Trace(In("10.1.9.9", IPPROTO_TCP, 8443)).rate_limit.has_value());
  EXPECT_FALSE(tracer.Trace(In("10.200.0.1", IPPROTO_TCP, 443)).rate_limit.has_value()) << "dropped before";
  EXPECT_FALSE(tracer.Trace(Out("10.30.0.1", IPPROTO_TCP, 443, 0)).rate_limit.has_value()) << "egress";

  const CompiledPolicy open = Compile(R"(
apiVersion: rampart/v1
kind: Policy
metadata: {name: open}
spec:
  rateLimits:
    - {name: first, match: {ports: ["udp/1-100"]}, packetsPerSecond: 10}
    - {name: second, match: {ports: ["udp/53", "tcp/53"]}, key: flow, bytesPerSecond: 1Mi}
)");
  PolicyTracer open_tracer(open);
  PacketTrace by_default = open_tracer.Trace(In("192.0.2.1", IPPROTO_UDP, 53));
  EXPECT_EQ(by_default.reason, RP_REASON_ALLOW_DEFAULT) << "admitted by default allow, then limited";
  ASSERT_TRUE(by_default.rate_limit.has_value());
  EXPECT_EQ(by_default.rate_limit->name, "first") << "the first in bundle order wins";
  PacketTrace second = open_tracer.Trace(In("192.0.2.1", IPPROTO_TCP, 53));
  ASSERT_TRUE(second.rate_limit.has_value());
  EXPECT_EQ(second.rate_limit->name, "second");
  EXPECT_THAT(second.steps.back(), HasSubstr("one bucket per flow, 1048576 bytes/s"));
  PacketTrace fragment = open_tracer.Trace(LaterFragment(In("192.0.2.1", IPPROTO_TCP, 0)));
  ASSERT_TRUE(fragment.rate_limit.has_value()) << "a later fragment meets the first limit of its protocol";
  EXPECT_EQ(fragment.rate_limit->name, "second");
}

TEST(PolicyTracer, ExplainsWhyEachRuleOfThePrefixDidNotMatch) {
  const CompiledPolicy policy = Compile(kPolicies, PaymentsRunning);
  PolicyTracer tracer(policy);
  PacketTrace t = tracer.Trace(In("10.1.9.9", IPPROTO_TCP, 8080));
  EXPECT_EQ(t.lookup, PeerLookup::kPrefix);
  ASSERT_EQ(t.checks.size(), 3u);  // tcp/443, tcp/8443-8445 (https), udp/53 (dns, from the /8)
  for (const auto& c : t.checks) EXPECT_FALSE(c.matched);
  EXPECT_EQ(t.checks[0].mismatch, "port 8080 is outside 443");
  EXPECT_EQ(t.checks[1].mismatch, "port 8080 is outside 8443-8445");
  EXPECT_EQ(t.checks[2].mismatch, "the packet is tcp");
  EXPECT_THAT(t.steps.back(), HasSubstr("no rule admits tcp port 8080; ingress default: deny: dropped"));

  PacketTrace scoped = tracer.Trace(Out("10.20.0.5", IPPROTO_TCP, 5432, 0));
  ASSERT_EQ(scoped.checks.size(), 1u);
  EXPECT_THAT(scoped.checks[0].mismatch, HasSubstr("only for unit payments.service (cgroup 4242)"));
  PacketTrace confined = tracer.Trace(Out("192.0.2.1", IPPROTO_TCP, 443, kPaymentsCgroup));
  EXPECT_TRUE(confined.confined);
  EXPECT_THAT(confined.steps.back(), HasSubstr("unit payments.service (cgroup 4242) is confined"));
}

// The allowlist step of a trace.
std::string AllowlistStep(const PacketTrace& t) {
  for (const std::string& step : t.steps) {
    if (step.rfind("allowlist: ", 0) == 0) return step;
  }
  ADD_FAILURE() << "no allowlist step";
  return "";
}

TEST(PolicyTracer, NamesTheStructureThatFindsAShorterPrefix) {
  // IPv4 ingress lengths, longest first: /16, /8 and the 0.0.0.0/0 that ::/0 brings.
  const CompiledPolicy policy = Compile(kPolicies, PaymentsRunning);
  PolicyTracer tracer(policy);
  EXPECT_THAT(AllowlistStep(tracer.Trace(In("10.1.9.9", IPPROTO_TCP, 443))),
              HasSubstr("matches prefix 10.1.0.0/16 (the longest that covers it; hash probe 1 of 3)"));
  EXPECT_THAT(AllowlistStep(tracer.Trace(In("10.200.0.1", IPPROTO_UDP, 53))),
              HasSubstr("matches prefix 10.0.0.0/8 (the longest that covers it; hash probe 2 of 3)"));
  EXPECT_THAT(AllowlistStep(tracer.Trace(In("10.1.2.3", IPPROTO_TCP, 22))), HasSubstr("matches host entry 10.1.2.3/32: "));

  // Over the length cap the family's shorter prefixes are in the trie; the
  // prefix found is the same.
  const CompiledPolicy trie = Compile(kPolicies, PaymentsRunning, {.max_probed_lengths = 0});
  PolicyTracer trie_tracer(trie);
  EXPECT_THAT(AllowlistStep(trie_tracer.Trace(In("10.200.0.1", IPPROTO_UDP, 53))),
              HasSubstr("matches prefix 10.0.0.0/8 (the longest that covers it; LPM trie)"));
}

TEST(PolicyTracer, SpellingsOfAddressesAndProtocols) {
  bool ipv4 = false;
  auto v4 = ParseTraceAddress("10.0.0.5", &ipv4);
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(ipv4);
  EXPECT_EQ(FormatTraceAddress(*v4), "10.0.0.5");
  auto v6 = ParseTraceAddress("2001:db8::5", &ipv4);
  ASSERT_TRUE(v6.ok());
  EXPECT_FALSE(ipv4);
  EXPECT_EQ(FormatTraceAddress(*v6), "2001:db8::5");
  EXPECT_THAT(std::string(ParseTraceAddress("::ffff:10.0.0.5").status().message()), HasSubstr("IPv4-mapped"));
  EXPECT_THAT(std::string(ParseTraceAddress("10.0.0.0/8").status().message()), HasSubstr("bad address"));
  EXPECT_THAT(std::string(ParseTraceAddress("web").status().message()), HasSubstr("bad address \"web\""));
  EXPECT_EQ(*ParseProtocol("tcp"), IPPROTO_TCP);
  EXPECT_EQ(*ParseProtocol("icmpv6"), 58);
  EXPECT_EQ(*ParseProtocol("47"), 47);
  EXPECT_FALSE(ParseProtocol("256").ok());
  EXPECT_FALSE(ParseProtocol("sctp").ok());
  EXPECT_EQ(ProtocolName(47), "47");
}

}  // namespace
}  // namespace rampart::policy
