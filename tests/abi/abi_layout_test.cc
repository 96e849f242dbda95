// Pins the kernel/user ABI (bpf/include/rampart/abi.h). The BPF programs and the
// agent compile the same header; these numbers are what pinned maps and a
// running datapath of the previous release hold. A change here is an ABI
// change: give the affected pinned map a new version suffix, and never reuse a
// reason code.
#include <gtest/gtest.h>

#include <cstddef>

#include "rampart/abi.h"

namespace {

// Sizes and alignments, checked when the test compiles (STYLE.md section 1).
static_assert(sizeof(struct rp_lpm_key) == 24, "rp_lpm_key: prefixlen, gen, addr[16]");
static_assert(sizeof(struct rp_lpm_value) == 4, "rp_lpm_value: ruleset");
static_assert(sizeof(struct rp_port_rule) == 12, "rp_port_rule: ports, proto, pad[3], rule_id");
static_assert(sizeof(struct rp_ruleset) == 8 + 32 * 12, "rp_ruleset: count, pad, 32 rules");
static_assert(sizeof(struct rp_gen_config) == 16, "rp_gen_config: version, ingress_default, pad[7]");
static_assert(sizeof(struct rp_state) == 8, "rp_state: active_gen, pad");
static_assert(alignof(struct rp_lpm_key) == 4);
static_assert(alignof(struct rp_port_rule) == 4);
static_assert(alignof(struct rp_ruleset) == 4);
static_assert(alignof(struct rp_gen_config) == 8);

// --- Field offsets: explicit padding, no holes the compiler fills ---

TEST(AbiLayoutTest, LpmKeyIsPrefixLengthThenGenerationThenMappedAddress) {
  EXPECT_EQ(offsetof(struct rp_lpm_key, prefixlen), 0u);
  EXPECT_EQ(offsetof(struct rp_lpm_key, gen), 4u);
  EXPECT_EQ(offsetof(struct rp_lpm_key, addr), 8u);
  EXPECT_EQ(sizeof(rp_lpm_key::addr), 16u);
}

TEST(AbiLayoutTest, LpmValueIsTheRulesetIndexAlone) {
  EXPECT_EQ(offsetof(struct rp_lpm_value, ruleset), 0u);
  EXPECT_EQ(sizeof(rp_lpm_value::ruleset), 4u);
}

TEST(AbiLayoutTest, PortRuleHasPortsThenProtocolThenExplicitPadThenRuleId) {
  EXPECT_EQ(offsetof(struct rp_port_rule, port_first), 0u);
  EXPECT_EQ(offsetof(struct rp_port_rule, port_last), 2u);
  EXPECT_EQ(offsetof(struct rp_port_rule, proto), 4u);
  EXPECT_EQ(offsetof(struct rp_port_rule, pad), 5u);
  EXPECT_EQ(sizeof(rp_port_rule::pad), 3u);
  EXPECT_EQ(offsetof(struct rp_port_rule, rule_id), 8u);
}

TEST(AbiLayoutTest, RulesetIsCountAndPadThenAFixedArrayOfPortRules) {
  EXPECT_EQ(offsetof(struct rp_ruleset, count), 0u);
  EXPECT_EQ(offsetof(struct rp_ruleset, pad), 4u);
  EXPECT_EQ(offsetof(struct rp_ruleset, rules), 8u);
  EXPECT_EQ(sizeof(rp_ruleset::rules), RP_RULESET_MAX_RULES * sizeof(struct rp_port_rule));
}

TEST(AbiLayoutTest, GenerationConfigIsVersionThenDefaultActionThenExplicitPad) {
  EXPECT_EQ(offsetof(struct rp_gen_config, version), 0u);
  EXPECT_EQ(sizeof(rp_gen_config::version), 8u);
  EXPECT_EQ(offsetof(struct rp_gen_config, ingress_default), 8u);
  EXPECT_EQ(offsetof(struct rp_gen_config, pad), 9u);
  EXPECT_EQ(sizeof(rp_gen_config::pad), 7u);
}

TEST(AbiLayoutTest, StateIsActiveGenerationThenExplicitPad) {
  EXPECT_EQ(offsetof(struct rp_state, active_gen), 0u);
  EXPECT_EQ(offsetof(struct rp_state, pad), 4u);
}

// --- Constants: generations and map sizes are part of the pinned maps ---

TEST(AbiConstantsTest, ThereAreExactlyTwoPolicyGenerations) {
  // The writer picks the inactive generation as active_gen ^ 1.
  EXPECT_EQ(RP_GENERATIONS, 2);
}

TEST(AbiConstantsTest, MapCapacitiesPerGenerationAreFixed) {
  EXPECT_EQ(RP_MAX_PREFIXES, 16384);
  EXPECT_EQ(RP_MAX_RULESETS, 4096);
  EXPECT_EQ(RP_RULESET_MAX_RULES, 32);
  EXPECT_EQ(RP_MAX_RULES, 4096);
}

// --- Codes: append-only ---

TEST(AbiCodesTest, ActionsKeepTheirNumbers) {
  EXPECT_EQ(static_cast<int>(RP_ACTION_ALLOW), 0);
  EXPECT_EQ(static_cast<int>(RP_ACTION_DENY), 1);
}

TEST(AbiCodesTest, ReasonCodesKeepTheirNumbers) {
  EXPECT_EQ(static_cast<int>(RP_REASON_ALLOW_RULE), 0);
  EXPECT_EQ(static_cast<int>(RP_REASON_ALLOW_DEFAULT), 1);
  EXPECT_EQ(static_cast<int>(RP_REASON_DROP_DEFAULT), 2);
  EXPECT_EQ(static_cast<int>(RP_REASON_PASS_NOT_IP), 3);
  EXPECT_EQ(static_cast<int>(RP_REASON_DROP_MALFORMED), 4);
  EXPECT_EQ(static_cast<int>(RP_REASON_PASS_ICMPV6_ND), 5);
}

TEST(AbiCodesTest, ReasonCounterMapHasSixteenSlots) {
  // RP_REASON_MAX sizes the per-CPU reason counters; new reasons go below it.
  EXPECT_EQ(static_cast<int>(RP_REASON_MAX), 16);
  EXPECT_LT(static_cast<int>(RP_REASON_PASS_ICMPV6_ND), static_cast<int>(RP_REASON_MAX));
}

}  // namespace
