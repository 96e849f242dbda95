// Pins the kernel/user ABI (bpf/include/rampart/abi.h). The BPF programs and
// the agent compile the same header; these numbers are what pinned maps and a
// running datapath hold. A change here is an ABI change: give the affected
// pinned map a new version suffix, and never reuse a reason code.
//
// BtfAgreesWithCxx checks the other side too: the struct sizes and member
// offsets recorded in the compiled BPF object's BTF must equal what the C++
// compiler sees (the alignchecker pattern of cilium/tetragon).
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "rampart/abi.h"

namespace {

static_assert(sizeof(struct rp_lpm_key) == 24);
static_assert(sizeof(struct rp_host_key) == 20);
static_assert(sizeof(struct rp_prefix_key) == 24);
static_assert(sizeof(struct rp_lenset) == 4 + RP_LENSET_MAX_LENGTHS);
static_assert(sizeof(struct rp_lpm_value) == 4);
static_assert(sizeof(struct rp_port_rule) == 24);
static_assert(sizeof(struct rp_ruleset) == 8 + RP_RULESET_MAX_RULES * 24);
static_assert(sizeof(struct rp_rate_limit) == 48);
static_assert(sizeof(struct rp_gen_config) == 16 + RP_MAX_RATE_LIMITS * 48);
static_assert(sizeof(struct rp_state) == 16);
static_assert(sizeof(struct rp_confined_key) == 16);
static_assert(sizeof(struct rp_block_key) == 40);
static_assert(sizeof(struct rp_block_value) == 16);
static_assert(sizeof(struct rp_bucket_key) == 44);
static_assert(sizeof(struct rp_bucket) == 48);
static_assert(sizeof(struct rp_drop_event) == 56);
static_assert(sizeof(struct rp_conn_tuple) == 40);
static_assert(sizeof(struct rp_capture_header) == 112);

TEST(AbiLayoutTest, CaptureHeaderCarriesIdentityLengthsOffsetThenTuple) {
  EXPECT_EQ(offsetof(struct rp_capture_header, ssl), 8u);
  EXPECT_EQ(offsetof(struct rp_capture_header, pid), 24u);
  EXPECT_EQ(offsetof(struct rp_capture_header, comm), 32u);
  EXPECT_EQ(offsetof(struct rp_capture_header, len), 48u);
  EXPECT_EQ(offsetof(struct rp_capture_header, captured), 52u);
  EXPECT_EQ(offsetof(struct rp_capture_header, direction), 56u);
  EXPECT_EQ(offsetof(struct rp_capture_header, stream_offset), 64u);
  EXPECT_EQ(offsetof(struct rp_capture_header, tuple), 72u);
  EXPECT_EQ(offsetof(struct rp_conn_tuple, local_port), 32u);
}

TEST(AbiLayoutTest, LpmKeyIsPrefixLengthThenGenerationThenMappedAddress) {
  EXPECT_EQ(offsetof(struct rp_lpm_key, prefixlen), 0u);
  EXPECT_EQ(offsetof(struct rp_lpm_key, gen), 4u);
  EXPECT_EQ(offsetof(struct rp_lpm_key, addr), 8u);
}

TEST(AbiLayoutTest, HostKeyIsGenerationThenMappedAddress) {
  EXPECT_EQ(offsetof(struct rp_host_key, gen), 0u);
  EXPECT_EQ(offsetof(struct rp_host_key, addr), 4u);
}

TEST(AbiLayoutTest, PrefixKeyIsGenerationLengthThenMaskedAddress) {
  EXPECT_EQ(offsetof(struct rp_prefix_key, gen), 0u);
  EXPECT_EQ(offsetof(struct rp_prefix_key, len), 4u);
  EXPECT_EQ(offsetof(struct rp_prefix_key, addr), 8u);  // 8-aligned: the program stores it as two words
}

TEST(AbiLayoutTest, LensetIsModeCountThenLengthsIndexedByGenerationDirectionFamily) {
  EXPECT_EQ(offsetof(struct rp_lenset, mode), 0u);
  EXPECT_EQ(offsetof(struct rp_lenset, count), 1u);
  EXPECT_EQ(offsetof(struct rp_lenset, lens), 4u);
  EXPECT_EQ(RP_LENSET_MAX_LENGTHS, 16);
  EXPECT_EQ(RP_LOOKUP_TRIE, 0);  // a zeroed entry keeps the trie
  EXPECT_EQ(RP_LOOKUP_LENSETS, 1);
  EXPECT_EQ(RP_FAMILY_IPV4, 0);
  EXPECT_EQ(RP_FAMILY_IPV6, 1);
  EXPECT_EQ(RP_LENSET_INDEX(0, RP_DIR_INGRESS, RP_FAMILY_IPV4), 0);
  EXPECT_EQ(RP_LENSET_INDEX(0, RP_DIR_EGRESS, RP_FAMILY_IPV6), 3);
  EXPECT_EQ(RP_LENSET_INDEX(1, RP_DIR_INGRESS, RP_FAMILY_IPV6), 5);
}

TEST(AbiLayoutTest, PortRuleHasPortsProtocolPadRuleIdThenCgroup) {
  EXPECT_EQ(offsetof(struct rp_port_rule, port_first), 0u);
  EXPECT_EQ(offsetof(struct rp_port_rule, port_last), 2u);
  EXPECT_EQ(offsetof(struct rp_port_rule, proto), 4u);
  EXPECT_EQ(offsetof(struct rp_port_rule, pad), 5u);
  EXPECT_EQ(offsetof(struct rp_port_rule, rule_id), 8u);
  EXPECT_EQ(offsetof(struct rp_port_rule, cgroup_id), 16u);
}

TEST(AbiLayoutTest, RateLimitIntervalsAndTolerancesAreEightByteAligned) {
  EXPECT_EQ(offsetof(struct rp_rate_limit, key_kind), 5u);
  EXPECT_EQ(offsetof(struct rp_rate_limit, limit_id), 8u);
  EXPECT_EQ(offsetof(struct rp_rate_limit, packet_interval_ps), 16u);
  EXPECT_EQ(offsetof(struct rp_rate_limit, packet_tolerance_ps), 24u);
  EXPECT_EQ(offsetof(struct rp_rate_limit, byte_interval_ps), 32u);
  EXPECT_EQ(offsetof(struct rp_rate_limit, byte_tolerance_ps), 40u);
}

TEST(AbiLayoutTest, GenerationConfigCarriesDefaultsThenRateLimits) {
  EXPECT_EQ(offsetof(struct rp_gen_config, version), 0u);
  EXPECT_EQ(offsetof(struct rp_gen_config, ingress_default), 8u);
  EXPECT_EQ(offsetof(struct rp_gen_config, egress_default), 9u);
  EXPECT_EQ(offsetof(struct rp_gen_config, rate_limit_count), 12u);
  EXPECT_EQ(offsetof(struct rp_gen_config, rate_limits), 16u);
}

TEST(AbiLayoutTest, StateHoldsGenerationSamplingAndBlocklistFlag) {
  EXPECT_EQ(offsetof(struct rp_state, active_gen), 0u);
  EXPECT_EQ(offsetof(struct rp_state, drop_sample_rate), 4u);
  EXPECT_EQ(offsetof(struct rp_state, block_entries), 8u);
}

TEST(AbiLayoutTest, BlockAndBucketKeysCarryTheMappedAddresses) {
  EXPECT_EQ(offsetof(struct rp_block_key, src), 8u);
  EXPECT_EQ(offsetof(struct rp_block_key, dst), 24u);
  EXPECT_EQ(offsetof(struct rp_bucket_key, src), 12u);
  EXPECT_EQ(offsetof(struct rp_bucket_key, dst), 28u);
  EXPECT_EQ(offsetof(struct rp_bucket, packet_tat_ps), 8u);
  EXPECT_EQ(offsetof(struct rp_drop_event, src), 24u);
}

TEST(AbiConstantsTest, GenerationsAndCapacitiesAreFixed) {
  EXPECT_EQ(RP_GENERATIONS, 2);
  EXPECT_EQ(RP_MAX_PREFIXES, 131072);
  EXPECT_EQ(RP_MAX_RULESETS, 4096);
  EXPECT_EQ(RP_RULESET_MAX_RULES, 32);
  EXPECT_EQ(RP_MAX_RULES, 4096);
  EXPECT_EQ(RP_MAX_RATE_LIMITS, 16);
  EXPECT_EQ(RP_MAX_CONFINED, 1024);
}

TEST(AbiCodesTest, CodesKeepTheirNumbers) {
  EXPECT_EQ(RP_ACTION_ALLOW, 0);
  EXPECT_EQ(RP_ACTION_DENY, 1);
  EXPECT_EQ(RP_DIR_INGRESS, 0);
  EXPECT_EQ(RP_DIR_EGRESS, 1);
  EXPECT_EQ(RP_REASON_ALLOW_RULE, 0);
  EXPECT_EQ(RP_REASON_ALLOW_DEFAULT, 1);
  EXPECT_EQ(RP_REASON_DROP_DEFAULT, 2);
  EXPECT_EQ(RP_REASON_PASS_NOT_IP, 3);
  EXPECT_EQ(RP_REASON_DROP_MALFORMED, 4);
  EXPECT_EQ(RP_REASON_PASS_ICMPV6_ND, 5);
  EXPECT_EQ(RP_REASON_DROP_BLOCKED, 6);
  EXPECT_EQ(RP_REASON_DROP_RATE_LIMIT, 7);
  EXPECT_EQ(RP_REASON_DROP_CONFINED, 8);
  EXPECT_EQ(RP_REASON_MAX, 16);
  EXPECT_EQ(RP_ERR_RINGBUF_FULL, 0);
  EXPECT_EQ(RP_ERR_BUCKET_UPDATE, 1);
  EXPECT_EQ(RP_ERR_BUCKET_CONTENDED, 2);
  EXPECT_EQ(RP_BLOCK_SOURCE, 1);
  EXPECT_EQ(RP_BLOCK_FLOW, 2);
  EXPECT_EQ(RP_LIMIT_BY_SOURCE, 0);
  EXPECT_EQ(RP_LIMIT_BY_FLOW, 1);
  EXPECT_EQ(RP_CAPTURE_WRITE, 0);
  EXPECT_EQ(RP_CAPTURE_READ, 1);
  EXPECT_EQ(RP_CAPTURE_TRUNCATED, 1);
  EXPECT_EQ(RP_CAPTURE_TUPLE_KNOWN, 2);
  EXPECT_EQ(RP_CAPTURE_PEER_CERT, 4);
  EXPECT_EQ(RP_CAP_CALLS, 0);
  EXPECT_EQ(RP_CAP_BYTES_LOST, 5);
  EXPECT_EQ(RP_CAP_TUPLE_MISSES, 6);
  EXPECT_EQ(RP_CAP_PEER_CERTS, 7);
  EXPECT_EQ(RP_CAP_PEER_CERTS_TRUNCATED, 8);
  EXPECT_EQ(RP_CAP_PEER_CERTS_LOST, 9);
  static_assert(RP_PEER_CERT_MAX <= RP_CAPTURE_MAX_CHUNK, "a certificate record reuses the chunk buffer");
  EXPECT_EQ(RP_CAPTURE_MAX_CHUNK, 16384);
}

// The BPF side: what clang recorded for the same structs in datapath.bpf.o.
class BtfAgreesWithCxx : public ::testing::Test {
 protected:
  void SetUp() override {
    btf_ = btf__parse(RAMPART_DATAPATH_OBJECT, nullptr);
    ASSERT_NE(btf_, nullptr) << "cannot read BTF of " << RAMPART_DATAPATH_OBJECT;
  }
  void TearDown() override { btf__free(btf_); }

  // Size of the struct in BTF, or -1 when the object does not use it.
  long Size(const char* name) {
    int id = btf__find_by_name_kind(btf_, name, BTF_KIND_STRUCT);
    return id < 0 ? -1 : btf__resolve_size(btf_, id);
  }
  long OffsetOf(const char* type, const char* member) {
    int id = btf__find_by_name_kind(btf_, type, BTF_KIND_STRUCT);
    if (id < 0) return -1;
    const btf_type* t = btf__type_by_id(btf_, id);
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++m) {
      if (std::string(btf__name_by_offset(btf_, m->name_off)) == member) return btf_member_bit_offset(t, i) / 8;
    }
    return -1;
  }
  struct btf* btf_ = nullptr;
};

#define RAMPART_EXPECT_SAME_SIZE(T) EXPECT_EQ(Size(#T), static_cast<long>(sizeof(struct T))) << #T

TEST_F(BtfAgreesWithCxx, EveryMapKeyValueAndEventHasTheSameSize) {
  RAMPART_EXPECT_SAME_SIZE(rp_lpm_key);
  RAMPART_EXPECT_SAME_SIZE(rp_host_key);
  RAMPART_EXPECT_SAME_SIZE(rp_prefix_key);
  RAMPART_EXPECT_SAME_SIZE(rp_lenset);
  RAMPART_EXPECT_SAME_SIZE(rp_lpm_value);
  RAMPART_EXPECT_SAME_SIZE(rp_port_rule);
  RAMPART_EXPECT_SAME_SIZE(rp_ruleset);
  RAMPART_EXPECT_SAME_SIZE(rp_rate_limit);
  RAMPART_EXPECT_SAME_SIZE(rp_gen_config);
  RAMPART_EXPECT_SAME_SIZE(rp_state);
  RAMPART_EXPECT_SAME_SIZE(rp_confined_key);
  RAMPART_EXPECT_SAME_SIZE(rp_block_key);
  RAMPART_EXPECT_SAME_SIZE(rp_block_value);
  RAMPART_EXPECT_SAME_SIZE(rp_bucket_key);
  RAMPART_EXPECT_SAME_SIZE(rp_bucket);
  // rp_drop_event travels through the ring buffer, which records no BTF
  // type; the static_assert and offset checks above pin it instead.
}

TEST_F(BtfAgreesWithCxx, MembersTheProgramsReadSitAtTheSameOffsets) {
  EXPECT_EQ(OffsetOf("rp_port_rule", "cgroup_id"), static_cast<long>(offsetof(rp_port_rule, cgroup_id)));
  EXPECT_EQ(OffsetOf("rp_gen_config", "rate_limits"), static_cast<long>(offsetof(rp_gen_config, rate_limits)));
  EXPECT_EQ(OffsetOf("rp_rate_limit", "byte_tolerance_ps"),
            static_cast<long>(offsetof(rp_rate_limit, byte_tolerance_ps)));
  EXPECT_EQ(OffsetOf("rp_state", "block_entries"), static_cast<long>(offsetof(rp_state, block_entries)));
  EXPECT_EQ(OffsetOf("rp_bucket", "dropped_packets"), static_cast<long>(offsetof(rp_bucket, dropped_packets)));
}

}  // namespace
