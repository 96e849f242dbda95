// The policy compiler: how a bundle becomes LPM prefixes, port-rule sets and
// rule names (bpf/include/rampart/abi.h), and which bundles it refuses.
#include "agent/policy/compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/common/strings.h"
#include "agent/policy/validate.h"

namespace rampart::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Rule {
  std::string name;
  std::vector<std::string> from;
  std::vector<std::string> ports;
};

v1::Policy MakePolicy(const std::string& name, std::vector<Rule> rules,
                      v1::DefaultAction ingress_default = v1::DEFAULT_ACTION_UNSPECIFIED,
                      std::vector<std::string> interfaces = {"eth0"}) {
  v1::Policy policy;
  policy.set_api_version("rampart/v1");
  policy.set_kind("Policy");
  policy.mutable_metadata()->set_name(name);
  for (const std::string& interface : interfaces) policy.mutable_spec()->add_interfaces(interface);
  auto* ingress = policy.mutable_spec()->mutable_segmentation()->mutable_ingress();
  ingress->set_default_action(ingress_default);
  for (const Rule& rule : rules) {
    v1::SegmentationRule* allow = ingress->add_allow();
    allow->set_name(rule.name);
    for (const std::string& from : rule.from) allow->add_from(from);
    for (const std::string& port : rule.ports) allow->add_ports(port);
  }
  return policy;
}

v1::PolicyBundle MakeBundle(std::vector<v1::Policy> policies, uint64_t version = 7) {
  v1::PolicyBundle bundle;
  bundle.set_version(version);
  for (v1::Policy& policy : policies) *bundle.add_policies() = std::move(policy);
  return bundle;
}

// A bundle of one policy, "web", with `rules`.
v1::PolicyBundle WebPolicy(std::vector<Rule> rules, uint64_t version = 7) {
  return MakeBundle({MakePolicy("web", std::move(rules))}, version);
}

CompiledPolicy MustCompile(const v1::PolicyBundle& bundle, const DatapathCapacity& capacity = {}) {
  auto compiled = CompilePolicy(bundle, capacity);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *std::move(compiled) : CompiledPolicy{};
}

// The error CompilePolicy gives for a bundle that does not fit `capacity`.
std::string CapacityError(const v1::PolicyBundle& bundle, const DatapathCapacity& capacity) {
  auto compiled = CompilePolicy(bundle, capacity);
  if (compiled.ok()) {
    ADD_FAILURE() << "expected the bundle not to fit; it compiled to " << compiled->ingress.prefixes.size()
                  << " prefixes and " << compiled->ingress.rulesets.size() << " rulesets";
    return "";
  }
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kResourceExhausted) << compiled.status();
  return std::string(compiled.status().message());
}

IpPrefix MustParsePrefix(std::string_view text) {
  auto prefix = IpPrefix::Parse(text);
  EXPECT_TRUE(prefix.ok()) << text << ": " << prefix.status();
  return prefix.ok() ? *prefix : IpPrefix{};
}

// One port rule as "tcp/443 web.https" (policy and rule name from `rules`).
std::string Describe(const CompiledPolicy& compiled, const rp_port_rule& rule) {
  std::string proto = rule.proto == IPPROTO_TCP ? "tcp" : rule.proto == IPPROTO_UDP ? "udp" : "proto?";
  std::string ports = rule.port_first == rule.port_last ? std::to_string(rule.port_first)
                                                        : rampart::StrCat(rule.port_first, "-", rule.port_last);
  std::string name = "<rule id out of range>";
  if (rule.rule_id < compiled.ingress.rules.size()) {
    const RuleName& rule_name = compiled.ingress.rules[rule.rule_id];
    name = rampart::StrCat(rule_name.policy, ".", rule_name.rule);
  }
  return rampart::StrCat(proto, "/", ports, " ", name);
}

std::vector<std::string> Describe(const CompiledPolicy& compiled, const rp_ruleset& set) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < set.count && i < RP_RULESET_MAX_RULES; ++i) out.push_back(Describe(compiled, set.rules[i]));
  return out;
}

// The port rules compiled for exactly `prefix` (family included).
std::vector<std::string> RulesOf(const CompiledPolicy& compiled, const IpPrefix& prefix) {
  for (const auto& [p, index] : compiled.ingress.prefixes) {
    if (p != prefix) continue;
    if (index >= compiled.ingress.rulesets.size()) {
      ADD_FAILURE() << prefix.ToString() << " points at ruleset " << index << " of "
                    << compiled.ingress.rulesets.size();
      return {};
    }
    return Describe(compiled, compiled.ingress.rulesets[index]);
  }
  ADD_FAILURE() << "no compiled entry for " << prefix.ToString();
  return {};
}

std::vector<std::string> RulesOf(const CompiledPolicy& compiled, std::string_view prefix) {
  return RulesOf(compiled, MustParsePrefix(prefix));
}

// What the datapath reaches for a packet from `source`: the writer stores the
// prefixes in order into one LPM trie keyed by (mapped address, mapped length),
// so a later entry with the same key replaces an earlier one, and the lookup
// takes the longest key that covers the IPv4-mapped source address.
std::vector<std::string> ReachedFrom(const CompiledPolicy& compiled, std::string_view source) {
  const IpPrefix address = MustParsePrefix(source);
  const std::pair<IpPrefix, uint32_t>* best = nullptr;
  for (const auto& entry : compiled.ingress.prefixes) {
    if (!entry.first.Contains(address)) continue;  // compares mapped bits only, like the trie
    if (best == nullptr || entry.first.mapped_len >= best->first.mapped_len) best = &entry;
  }
  if (best == nullptr || best->second >= compiled.ingress.rulesets.size()) return {};
  return Describe(compiled, compiled.ingress.rulesets[best->second]);
}

// --- What one rule compiles to ---

TEST(CompilePolicyTest, OneRuleGivesOnePrefixPointingAtItsPortRules) {
  CompiledPolicy compiled = MustCompile(WebPolicy({{"https", {"203.0.113.0/24"}, {"tcp/443", "udp/53"}}}));

  ASSERT_EQ(compiled.ingress.prefixes.size(), 1u);
  EXPECT_EQ(compiled.ingress.prefixes[0].first, MustParsePrefix("203.0.113.0/24"));
  ASSERT_EQ(compiled.ingress.rulesets.size(), 1u);
  EXPECT_EQ(compiled.ingress.prefixes[0].second, 0u);
  EXPECT_THAT(compiled.ingress.rules, ElementsAre(RuleName{"web", "https"}));

  const rp_ruleset& set = compiled.ingress.rulesets[0];
  ASSERT_EQ(set.count, 2u);
  EXPECT_EQ(set.rules[0].proto, 6);  // IPPROTO_TCP
  EXPECT_EQ(set.rules[0].port_first, 443);
  EXPECT_EQ(set.rules[0].port_last, 443);
  EXPECT_EQ(set.rules[0].rule_id, 0u);
  EXPECT_EQ(set.rules[1].proto, 17);  // IPPROTO_UDP
  EXPECT_EQ(set.rules[1].port_first, 53);
  EXPECT_EQ(set.rules[1].port_last, 53);
  EXPECT_EQ(set.rules[1].rule_id, 0u);
}

TEST(CompilePolicyTest, PortRangeKeepsBothEndsInHostByteOrder) {
  CompiledPolicy compiled = MustCompile(WebPolicy({{"alt", {"10.0.0.0/8"}, {"tcp/8443-8445"}}}));

  ASSERT_EQ(compiled.ingress.rulesets.size(), 1u);
  ASSERT_EQ(compiled.ingress.rulesets[0].count, 1u);
  EXPECT_EQ(compiled.ingress.rulesets[0].rules[0].port_first, 8443);  // not htons(8443)
  EXPECT_EQ(compiled.ingress.rulesets[0].rules[0].port_last, 8445);
}

TEST(CompilePolicyTest, RuleIdIndexesTheRuleNamesInBundleOrder) {
  CompiledPolicy compiled = MustCompile(MakeBundle({
      MakePolicy("web", {{"https", {"10.0.0.0/8"}, {"tcp/443"}}, {"dns", {"10.53.0.0/16"}, {"udp/53"}}}),
      MakePolicy("ops", {{"ssh", {"192.0.2.0/24"}, {"tcp/22"}}}),
  }));

  EXPECT_THAT(compiled.ingress.rules,
              ElementsAre(RuleName{"web", "https"}, RuleName{"web", "dns"}, RuleName{"ops", "ssh"}));
  EXPECT_THAT(RulesOf(compiled, "10.0.0.0/8"), ElementsAre("tcp/443 web.https"));
  EXPECT_THAT(RulesOf(compiled, "192.0.2.0/24"), ElementsAre("tcp/22 ops.ssh"));
}

TEST(CompilePolicyTest, PrefixNamedByTwoRulesReachesThePortsOfBoth) {
  CompiledPolicy compiled = MustCompile(MakeBundle({
      MakePolicy("web", {{"https", {"10.0.0.0/8"}, {"tcp/443"}}}),
      MakePolicy("ops", {{"ssh", {"10.0.0.0/8"}, {"tcp/22"}}}),
  }));

  ASSERT_EQ(compiled.ingress.prefixes.size(), 1u);
  EXPECT_THAT(RulesOf(compiled, "10.0.0.0/8"), UnorderedElementsAre("tcp/443 web.https", "tcp/22 ops.ssh"));
}

// --- Covering prefixes: one longest-prefix lookup decides ---

TEST(CompilePolicyTest, LongerPrefixInheritsThePortRulesOfACoveringShorterPrefix) {
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"ssh", {"10.0.0.0/8"}, {"tcp/22"}},
      {"https", {"10.1.0.0/16"}, {"tcp/443"}},
  }));

  EXPECT_THAT(RulesOf(compiled, "10.1.0.0/16"), UnorderedElementsAre("tcp/22 web.ssh", "tcp/443 web.https"));
  EXPECT_THAT(RulesOf(compiled, "10.0.0.0/8"), ElementsAre("tcp/22 web.ssh"));
  EXPECT_THAT(ReachedFrom(compiled, "10.1.2.3"), UnorderedElementsAre("tcp/22 web.ssh", "tcp/443 web.https"));
  EXPECT_THAT(ReachedFrom(compiled, "10.2.0.1"), ElementsAre("tcp/22 web.ssh"));
  EXPECT_THAT(ReachedFrom(compiled, "192.0.2.1"), IsEmpty());
}

TEST(CompilePolicyTest, PrefixInheritsFromEveryCoveringPrefixButNotFromSiblings) {
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"a", {"10.0.0.0/8"}, {"tcp/1"}},
      {"b", {"10.1.0.0/16"}, {"tcp/2"}},
      {"c", {"10.1.2.0/24"}, {"tcp/3"}},
      {"d", {"10.2.0.0/16"}, {"tcp/4"}},
  }));

  EXPECT_THAT(RulesOf(compiled, "10.1.2.0/24"), UnorderedElementsAre("tcp/1 web.a", "tcp/2 web.b", "tcp/3 web.c"));
  EXPECT_THAT(RulesOf(compiled, "10.2.0.0/16"), UnorderedElementsAre("tcp/1 web.a", "tcp/4 web.d"));
}

TEST(CompilePolicyTest, Ipv6PrefixInheritsFromACoveringIpv6Prefix) {
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"ssh", {"2001:db8::/32"}, {"tcp/22"}},
      {"https", {"2001:db8:1::/48"}, {"tcp/443"}},
  }));

  EXPECT_THAT(RulesOf(compiled, "2001:db8:1::/48"), UnorderedElementsAre("tcp/22 web.ssh", "tcp/443 web.https"));
  EXPECT_THAT(ReachedFrom(compiled, "2001:db8:2::1"), ElementsAre("tcp/22 web.ssh"));
}

// --- IPv4 and IPv6 share the trie but never each other's rules ---

TEST(CompilePolicyTest, Ipv6DefaultRouteGetsAnEmptyIpv4BlockSoIpv4SourcesDoNotInheritIt) {
  CompiledPolicy compiled = MustCompile(WebPolicy({{"ssh", {"::/0"}, {"tcp/22"}}}));

  IpPrefix any_v4 = Ipv4MappedBlock();
  any_v4.ipv4 = true;
  EXPECT_EQ(any_v4, MustParsePrefix("0.0.0.0/0"));
  ASSERT_EQ(compiled.ingress.prefixes.size(), 2u);
  EXPECT_THAT(RulesOf(compiled, any_v4), IsEmpty());
  EXPECT_THAT(RulesOf(compiled, "::/0"), ElementsAre("tcp/22 web.ssh"));
  EXPECT_THAT(ReachedFrom(compiled, "192.0.2.1"), IsEmpty());
  EXPECT_THAT(ReachedFrom(compiled, "2001:db8::1"), ElementsAre("tcp/22 web.ssh"));
}

TEST(CompilePolicyTest, Ipv4PrefixesUnderAnIpv6DefaultRouteInheritOnlyIpv4Rules) {
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"ssh", {"::/0"}, {"tcp/22"}},
      {"http", {"0.0.0.0/0"}, {"tcp/80"}},
      {"https", {"10.0.0.0/8"}, {"tcp/443"}},
  }));

  EXPECT_THAT(RulesOf(compiled, "0.0.0.0/0"), ElementsAre("tcp/80 web.http"));
  EXPECT_THAT(RulesOf(compiled, "10.0.0.0/8"), UnorderedElementsAre("tcp/80 web.http", "tcp/443 web.https"));
  EXPECT_THAT(ReachedFrom(compiled, "10.9.9.9"), UnorderedElementsAre("tcp/80 web.http", "tcp/443 web.https"));
  EXPECT_THAT(ReachedFrom(compiled, "2001:db8::1"), ElementsAre("tcp/22 web.ssh"));
}

// An IPv6 prefix inside ::ffff:0:0/96 shares its map key with the IPv4 prefix
// of the same block (the datapath stores IPv4 sources there, and drops IPv6
// packets from such sources as malformed). Either the validator refuses it, or
// the compiled maps keep its IPv6 rule away from IPv4 sources.
TEST(CompilePolicyTest, Ipv6PrefixInsideTheIpv4MappedBlockNeverReachesIpv4Sources) {
  v1::PolicyBundle bundle = WebPolicy({{"mapped", {"::ffff:10.0.0.0/104"}, {"tcp/22"}}});
  if (absl::Status valid = ValidatePolicySet({bundle.policies().begin(), bundle.policies().end()}); !valid.ok()) {
    SUCCEED() << "refused before compiling: " << valid;
    return;
  }

  CompiledPolicy compiled = MustCompile(bundle);

  EXPECT_THAT(ReachedFrom(compiled, "10.1.2.3"), IsEmpty())
      << "BUG (compiler.cc): the IPv6 rule for ::ffff:10.0.0.0/104 gets the map key of the IPv4 prefix "
         "10.0.0.0/8, so IPv4 sources in 10.0.0.0/8 reach it";
}

// --- Deduplication ---

TEST(CompilePolicyTest, PrefixesReachingTheSameRulesShareOneRuleset) {
  CompiledPolicy compiled =
      MustCompile(WebPolicy({{"https", {"10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"}, {"tcp/443"}}}));

  ASSERT_EQ(compiled.ingress.prefixes.size(), 3u);
  EXPECT_EQ(compiled.ingress.rulesets.size(), 1u);
  for (const auto& [prefix, index] : compiled.ingress.prefixes) EXPECT_EQ(index, 0u) << prefix.ToString();
}

TEST(CompilePolicyTest, RulesetsWithTheSamePortsButDifferentRulesStayApart) {
  // Counters are per rule, so equal ports under different rule ids are not equal sets.
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"a", {"10.0.0.0/8"}, {"tcp/443"}},
      {"b", {"192.168.0.0/16"}, {"tcp/443"}},
  }));

  EXPECT_EQ(compiled.ingress.rulesets.size(), 2u);
  EXPECT_THAT(RulesOf(compiled, "10.0.0.0/8"), ElementsAre("tcp/443 web.a"));
  EXPECT_THAT(RulesOf(compiled, "192.168.0.0/16"), ElementsAre("tcp/443 web.b"));
}

// --- Default action, interfaces, version ---

TEST(CompilePolicyTest, DefaultIsAllowWhenNoPolicySaysDeny) {
  CompiledPolicy compiled = MustCompile(MakeBundle({
      MakePolicy("a", {}, v1::DEFAULT_ACTION_UNSPECIFIED),
      MakePolicy("b", {}, v1::DEFAULT_ACTION_ALLOW),
  }));

  EXPECT_EQ(compiled.ingress.default_action, RP_ACTION_ALLOW);
}

TEST(CompilePolicyTest, DefaultIsDenyWhenAnyPolicySaysDeny) {
  for (int deny_at = 0; deny_at < 3; ++deny_at) {
    std::vector<v1::Policy> policies = {
        MakePolicy("a", {}, v1::DEFAULT_ACTION_ALLOW),
        MakePolicy("b", {}, v1::DEFAULT_ACTION_UNSPECIFIED),
        MakePolicy("c", {}, v1::DEFAULT_ACTION_ALLOW),
    };
    policies[deny_at].mutable_spec()->mutable_segmentation()->mutable_ingress()->set_default_action(
        v1::DEFAULT_ACTION_DENY);

    EXPECT_EQ(MustCompile(MakeBundle(policies)).ingress.default_action, RP_ACTION_DENY) << "deny in policy " << deny_at;
  }
}

TEST(CompilePolicyTest, InterfacesAreTheSortedUniqueUnionOfAllPolicies) {
  CompiledPolicy compiled = MustCompile(MakeBundle({
      MakePolicy("a", {}, v1::DEFAULT_ACTION_ALLOW, {"eth1", "eth0"}),
      MakePolicy("b", {}, v1::DEFAULT_ACTION_ALLOW, {"eth0", "ens5"}),
  }));

  EXPECT_THAT(compiled.interfaces, ElementsAre("ens5", "eth0", "eth1"));
}

TEST(CompilePolicyTest, EmptyBundleCompilesToDefaultAllowWithNothingInTheMaps) {
  v1::PolicyBundle bundle;
  bundle.set_version(42);

  CompiledPolicy compiled = MustCompile(bundle);

  EXPECT_EQ(compiled.version, 42u);
  EXPECT_EQ(compiled.ingress.default_action, RP_ACTION_ALLOW);
  EXPECT_THAT(compiled.ingress.prefixes, IsEmpty());
  EXPECT_THAT(compiled.ingress.rulesets, IsEmpty());
  EXPECT_THAT(compiled.ingress.rules, IsEmpty());
  EXPECT_THAT(compiled.interfaces, IsEmpty());
}

TEST(CompilePolicyTest, CompiledPolicyCarriesTheBundleVersion) {
  EXPECT_EQ(MustCompile(WebPolicy({{"https", {"10.0.0.0/8"}, {"tcp/443"}}}, 9)).version, 9u);
}

// --- Capacity: refused before anything is written, naming both sizes ---

// `n` rules, each from its own /24 with its own port: n prefixes, n distinct rulesets.
v1::PolicyBundle DistinctRules(int n) {
  std::vector<Rule> rules;
  for (int i = 0; i < n; ++i) {
    rules.push_back(
        {rampart::StrCat("r", i), {rampart::StrCat("10.0.", i, ".0/24")}, {rampart::StrCat("tcp/", 1000 + i)}});
  }
  return WebPolicy(rules);
}

TEST(CompilePolicyTest, BundleExactlyAtEveryLimitCompiles) {
  DatapathCapacity capacity{.max_prefixes = 4, .max_rulesets = 4, .max_rules_per_prefix = 1, .max_rules = 4};

  CompiledPolicy compiled = MustCompile(DistinctRules(4), capacity);

  EXPECT_EQ(compiled.ingress.prefixes.size(), 4u);
  EXPECT_EQ(compiled.ingress.rulesets.size(), 4u);
  EXPECT_EQ(compiled.ingress.rules.size(), 4u);
}

TEST(CompilePolicyTest, TooManyRulesIsRefusedNamingBothSizes) {
  DatapathCapacity capacity;
  capacity.max_rules = 2;

  EXPECT_EQ(CapacityError(DistinctRules(3), capacity),
            "policy does not fit the datapath maps: 3 allow rules, the maps hold 2 per generation");
}

TEST(CompilePolicyTest, TooManyPrefixesIsRefusedNamingBothSizes) {
  DatapathCapacity capacity;
  capacity.max_prefixes = 16;

  EXPECT_EQ(CapacityError(DistinctRules(20), capacity),
            "policy does not fit the datapath maps: 20 source prefixes, the maps hold 16 per generation");
}

TEST(CompilePolicyTest, TheAddedIpv4BlockCountsAgainstThePrefixCapacity) {
  DatapathCapacity capacity;
  capacity.max_prefixes = 1;

  EXPECT_EQ(CapacityError(WebPolicy({{"ssh", {"::/0"}, {"tcp/22"}}}), capacity),
            "policy does not fit the datapath maps: 2 source prefixes, the maps hold 1 per generation");
}

TEST(CompilePolicyTest, TooManyRulesetsIsRefusedNamingBothSizes) {
  DatapathCapacity capacity;
  capacity.max_rulesets = 2;

  EXPECT_EQ(CapacityError(DistinctRules(3), capacity),
            "policy does not fit the datapath maps: 3 distinct port-rule sets, the maps hold 2 per generation");
}

TEST(CompilePolicyTest, RulesetErrorNamesHowManyRulesetsTheBundleNeeds) {
  DatapathCapacity capacity;
  capacity.max_rulesets = 2;

  EXPECT_EQ(CapacityError(DistinctRules(5), capacity),
            "policy does not fit the datapath maps: 5 distinct port-rule sets, the maps hold 2 per generation")
      << "BUG (compiler.cc): the ruleset count is reported when the limit is first passed, not the total needed";
}

TEST(CompilePolicyTest, PortRulesPerPrefixCountTheInheritedRules) {
  DatapathCapacity capacity;
  capacity.max_rules_per_prefix = 2;
  v1::PolicyBundle bundle = WebPolicy({
      {"ops", {"10.0.0.0/8"}, {"tcp/22", "tcp/23"}},
      {"https", {"10.1.0.0/16"}, {"tcp/443"}},
  });

  EXPECT_EQ(CapacityError(bundle, capacity),
            "policy does not fit the datapath maps: source prefix 10.1.0.0/16 reaches 3 port rules, a prefix can "
            "reach at most 2");
}

TEST(CompilePolicyTest, DefaultCapacityIsTheAbiMapSizes) {
  DatapathCapacity capacity;

  EXPECT_EQ(capacity.max_prefixes, size_t{RP_MAX_PREFIXES});
  EXPECT_EQ(capacity.max_rulesets, size_t{RP_MAX_RULESETS});
  EXPECT_EQ(capacity.max_rules_per_prefix, size_t{RP_RULESET_MAX_RULES});
  EXPECT_EQ(capacity.max_rules, size_t{RP_MAX_RULES});
  EXPECT_EQ(capacity.max_probed_lengths, size_t{RP_LENSET_MAX_LENGTHS});
}

// ---- The lookup of shorter prefixes: per-length hash probes or the trie ----

TEST(PrefixLookupTest, ListsEachFamilysShorterLengthsLongestFirstWithoutHosts) {
  CompiledPolicy compiled = MustCompile(WebPolicy({
      {"a", {"10.0.0.0/8", "10.1.2.0/24", "192.168.0.0/16", "10.1.0.0/16", "10.1.2.3/32"}, {"tcp/443"}},
      {"b", {"2001:db8::/32", "2001:db8:1::/64", "2001:db8::1/128", "2001:db8:2::/64"}, {"tcp/22"}},
  }));

  const PrefixLookup& v4 = compiled.ingress.lookup[RP_FAMILY_IPV4];
  EXPECT_EQ(v4.mode, RP_LOOKUP_LENSETS);
  EXPECT_THAT(v4.lengths, ElementsAre(96 + 24, 96 + 16, 96 + 8));  // /32 is a host: the host map
  const PrefixLookup& v6 = compiled.ingress.lookup[RP_FAMILY_IPV6];
  EXPECT_EQ(v6.mode, RP_LOOKUP_LENSETS);
  EXPECT_THAT(v6.lengths, ElementsAre(64, 32));
  EXPECT_EQ(DescribePrefixLookup(compiled.ingress), "IPv4 3 lengths (hash probes), IPv6 2 lengths (hash probes)");
}

TEST(PrefixLookupTest, TheIpv4BlockAddedUnderAnIpv6CoverIsAnIpv4Length) {
  CompiledPolicy compiled = MustCompile(WebPolicy({{"any6", {"::/0"}, {"udp/53"}}}));

  EXPECT_THAT(compiled.ingress.lookup[RP_FAMILY_IPV4].lengths, ElementsAre(96));  // 0.0.0.0/0
  EXPECT_THAT(compiled.ingress.lookup[RP_FAMILY_IPV6].lengths, ElementsAre(0));
}

TEST(PrefixLookupTest, HostsOnlyNeedNoShorterLookupAtAll) {
  CompiledPolicy compiled = MustCompile(WebPolicy({{"h", {"10.0.0.1", "2001:db8::1"}, {"tcp/443"}}}));

  for (const PrefixLookup& lookup : compiled.ingress.lookup) {
    EXPECT_EQ(lookup.mode, RP_LOOKUP_LENSETS);
    EXPECT_THAT(lookup.lengths, IsEmpty());
  }
  EXPECT_EQ(DescribePrefixLookup(compiled.ingress), "IPv4 no shorter prefixes, IPv6 no shorter prefixes");
}

TEST(PrefixLookupTest, AFamilyOverTheCapFallsBackToTheTrieAlone) {
  DatapathCapacity capacity;
  capacity.max_probed_lengths = 2;
  CompiledPolicy compiled = MustCompile(WebPolicy({
                                            {"v4", {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"}, {"tcp/443"}},
                                            {"v6", {"2001:db8::/32", "2001:db8:1::/48"}, {"tcp/443"}},
                                        }),
                                        capacity);

  const PrefixLookup& v4 = compiled.ingress.lookup[RP_FAMILY_IPV4];
  EXPECT_EQ(v4.mode, RP_LOOKUP_TRIE);
  EXPECT_THAT(v4.lengths, ElementsAre(96 + 24, 96 + 16, 96 + 8));  // still listed, for logs and the tracer
  EXPECT_EQ(compiled.ingress.lookup[RP_FAMILY_IPV6].mode, RP_LOOKUP_LENSETS);  // the cap is per family
  EXPECT_EQ(DescribePrefixLookup(compiled.ingress), "IPv4 3 lengths (LPM trie), IPv6 2 lengths (hash probes)");
}

TEST(PrefixLookupTest, ExactlyTheCapStillProbes) {
  DatapathCapacity capacity;
  capacity.max_probed_lengths = 3;
  CompiledPolicy compiled =
      MustCompile(WebPolicy({{"v4", {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"}, {"tcp/443"}}}), capacity);

  EXPECT_EQ(compiled.ingress.lookup[RP_FAMILY_IPV4].mode, RP_LOOKUP_LENSETS);
}

TEST(PrefixLookupTest, TheCapNeverExceedsWhatTheDatapathProbes) {
  DatapathCapacity capacity;
  capacity.max_probed_lengths = 1000;
  std::vector<std::string> nested;
  for (int len = 8; len <= 8 + RP_LENSET_MAX_LENGTHS; ++len) nested.push_back(rampart::StrCat("10.0.0.0/", len));
  CompiledPolicy compiled = MustCompile(WebPolicy({{"deep", nested, {"tcp/443"}}}), capacity);

  EXPECT_EQ(compiled.ingress.lookup[RP_FAMILY_IPV4].lengths.size(), size_t{RP_LENSET_MAX_LENGTHS} + 1);
  EXPECT_EQ(compiled.ingress.lookup[RP_FAMILY_IPV4].mode, RP_LOOKUP_TRIE);
}

TEST(PrefixLookupTest, EachDirectionPlansItsOwnLookup) {
  v1::Policy policy = MakePolicy("web", {{"in", {"10.0.0.0/8"}, {"tcp/443"}}});
  auto* egress = policy.mutable_spec()->mutable_segmentation()->mutable_egress();
  v1::SegmentationRule* out = egress->add_allow();
  out->set_name("out");
  out->add_to("2001:db8::/32");
  out->add_to("2001:db8::/48");
  out->add_ports("tcp/443");
  CompiledPolicy compiled = MustCompile(MakeBundle({policy}));

  EXPECT_THAT(compiled.ingress.lookup[RP_FAMILY_IPV4].lengths, ElementsAre(96 + 8));
  EXPECT_THAT(compiled.ingress.lookup[RP_FAMILY_IPV6].lengths, IsEmpty());
  EXPECT_THAT(compiled.egress.lookup[RP_FAMILY_IPV4].lengths, IsEmpty());
  EXPECT_THAT(compiled.egress.lookup[RP_FAMILY_IPV6].lengths, ElementsAre(48, 32));
}

}  // namespace
}  // namespace rampart::policy
