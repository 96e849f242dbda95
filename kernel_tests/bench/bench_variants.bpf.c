// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark-only XDP programs: prefixes of Rampart's ingress pipeline
 * (bpf/lib/packet.h, bpf/lib/verdict.h), to show where the time of the full
 * program goes. They share the datapath's maps: loaded with pin_root_path set
 * to a Datapath's pin directory, libbpf reuses the pinned maps by name, so they
 * see the policy that Datapath::Apply wrote. Never attached; only run under
 * BPF_PROG_TEST_RUN by kernel_tests/bench. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "packet.h"
#include "verdict.h"

/* Set by user space through the skeleton, for bench_lpm_alone. */
struct rp_lpm_key bench_key = {};

/* Keys for bench_lpm_sweep, filled by user space; each run looks up the next
 * one, so consecutive runs walk different paths of the trie, as packets from
 * many sources would, instead of one path that stays in the CPU caches. */
#define RP_BENCH_SWEEP_KEYS 65536
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_BENCH_SWEEP_KEYS);
	__type(key, __u32);
	__type(value, struct rp_lpm_key);
} bench_keys SEC(".maps");
__u32 bench_cursor = 0;
__u32 bench_sweep_len = 1; /* keys in use, a power of two */

/* Keeps the parsed flow alive, so the parse cannot be optimised away. */
#define RP_BENCH_KEEP(var) asm volatile("" ::"r"(&(var)) : "memory")

/* Ethernet, VLAN, IPv4/IPv6 with extension headers, ports: no maps. */
SEC("xdp")
int bench_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};
	int parsed = rp_parse_packet(data, data_end, &flow);
	RP_BENCH_KEEP(flow);
	return parsed == RP_PARSE_OK ? XDP_PASS : XDP_DROP;
}

/* Looks up the state, the generation's config and the source (host hash,
 * then trie), as rp_verdict does. Returns the ruleset index + 1, or 0 on a miss. */
static __always_inline __u32 bench_lpm(const struct rp_flow *flow)
{
	__u32 zero = 0;
	struct rp_state *state = bpf_map_lookup_elem(&rampart_state, &zero);
	if (!state)
		return 0;
	__u32 gen = state->active_gen & 1;
	struct rp_gen_config *cfg = bpf_map_lookup_elem(&rampart_gencfg, &gen);
	if (!cfg)
		return 0;
	struct rp_host_key host = { .gen = gen };
	__builtin_memcpy(host.addr, flow->saddr, 16);
	struct rp_lpm_value *hit = bpf_map_lookup_elem(&rampart_ing_hosts, &host);
	if (!hit) {
		struct rp_lpm_key key = { .prefixlen = 32 + 128, .gen = gen };
		__builtin_memcpy(key.addr, flow->saddr, 16);
		hit = bpf_map_lookup_elem(&rampart_ing_lpm, &key);
	}
	return hit ? hit->ruleset + 1 : 0;
}

/* Parse, state and config lookups, then the LPM lookup of the source. */
SEC("xdp")
int bench_parse_lpm(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};
	if (rp_parse_packet(data, data_end, &flow) != RP_PARSE_OK)
		return XDP_DROP;
	return bench_lpm(&flow) ? XDP_PASS : XDP_DROP;
}

/* ... then the ruleset lookup and the port-rule scan. */
SEC("xdp")
int bench_parse_lpm_rules(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};
	if (rp_parse_packet(data, data_end, &flow) != RP_PARSE_OK)
		return XDP_DROP;
	__u32 index = bench_lpm(&flow);
	if (!index)
		return XDP_DROP;
	index -= 1;
	struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &index);
	__u32 rule_id = 0;
	return set && rp_ruleset_match(set, &flow, 0, &rule_id) ? XDP_PASS : XDP_DROP;
}

/* ... then the per-rule and per-reason counters (no rate-limit scan, no
 * blocklist check): the full allow path minus rp_rate_limits_admit. */
SEC("xdp")
int bench_parse_lpm_rules_counters(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};
	if (rp_parse_packet(data, data_end, &flow) != RP_PARSE_OK)
		return XDP_DROP;
	__u32 index = bench_lpm(&flow);
	if (!index)
		return XDP_DROP;
	index -= 1;
	struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &index);
	__u32 rule_id = 0;
	if (!set || !rp_ruleset_match(set, &flow, 0, &rule_id))
		return XDP_DROP;
	rp_count(&rampart_rulecnt, rule_id);
	rp_count(&rampart_reasons, RP_DIR_INGRESS * RP_REASON_MAX + RP_REASON_ALLOW_RULE);
	return XDP_PASS;
}

/* ... then the rate-limit scan (rp_rate_limits_admit, no matching limit for
 * the allow packet): the full allow path minus the blocklist and ICMPv6
 * checks and the hook's metadata. */
SEC("xdp")
int bench_parse_lpm_rules_counters_limits(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};
	if (rp_parse_packet(data, data_end, &flow) != RP_PARSE_OK)
		return XDP_DROP;
	__u32 index = bench_lpm(&flow);
	if (!index)
		return XDP_DROP;
	index -= 1;
	struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &index);
	__u32 rule_id = 0;
	if (!set || !rp_ruleset_match(set, &flow, 0, &rule_id))
		return XDP_DROP;
	__u32 zero = 0;
	struct rp_state *state = bpf_map_lookup_elem(&rampart_state, &zero);
	if (!state)
		return XDP_DROP;
	__u32 gen = state->active_gen & 1;
	struct rp_gen_config *cfg = bpf_map_lookup_elem(&rampart_gencfg, &gen);
	__u32 limit_id = 0;
	if (!cfg || !rp_rate_limits_admit(cfg, &flow, (__u32)(data_end - data), &limit_id))
		return XDP_DROP;
	rp_count(&rampart_rulecnt, rule_id);
	rp_count(&rampart_reasons, RP_DIR_INGRESS * RP_REASON_MAX + RP_REASON_ALLOW_RULE);
	return XDP_PASS;
}

/* The datapath's design before the host maps: one trie holding every
 * ingress prefix, hosts included. Filled by user space (LoadTrieOnly) with
 * the values the PolicyWriter writes; the LPM-alone rows and the trie-only
 * program look it up, so the benchmarks keep showing what the host maps buy. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_lpm_key);
	__type(value, struct rp_lpm_value);
} bench_all_lpm SEC(".maps");

/* One LPM lookup of bench_key in the trie of every prefix, nothing else. */
SEC("xdp")
int bench_lpm_alone(struct xdp_md *ctx)
{
	struct rp_lpm_value *hit = bpf_map_lookup_elem(&bench_all_lpm, &bench_key);
	return hit ? XDP_PASS : XDP_DROP;
}

/* One LPM lookup of the next key of bench_keys (plus the array read). */
SEC("xdp")
int bench_lpm_sweep(struct xdp_md *ctx)
{
	__u32 index = bench_cursor++ & (bench_sweep_len - 1) & (RP_BENCH_SWEEP_KEYS - 1);
	struct rp_lpm_key *key = bpf_map_lookup_elem(&bench_keys, &index);
	if (!key)
		return XDP_ABORTED;
	struct rp_lpm_value *hit = bpf_map_lookup_elem(&bench_all_lpm, key);
	return hit ? XDP_PASS : XDP_DROP;
}

/* The same array read, no trie: subtract it from bench_lpm_sweep. */
SEC("xdp")
int bench_sweep_base(struct xdp_md *ctx)
{
	__u32 index = bench_cursor++ & (bench_sweep_len - 1) & (RP_BENCH_SWEEP_KEYS - 1);
	struct rp_lpm_key *key = bpf_map_lookup_elem(&bench_keys, &index);
	if (!key)
		return XDP_ABORTED;
	return key->prefixlen ? XDP_PASS : XDP_DROP;
}

/* One lookup of bench_key's generation and address in the datapath's host map. */
SEC("xdp")
int bench_hash_alone(struct xdp_md *ctx)
{
	struct rp_host_key key = { .gen = bench_key.gen };
	__builtin_memcpy(key.addr, bench_key.addr, 16);
	return bpf_map_lookup_elem(&rampart_ing_hosts, &key) ? XDP_PASS : XDP_DROP;
}

/* ---- A second prototype: no trie at all for policies with few distinct
 * prefix lengths. The compiler would list each family's distinct lengths,
 * longest first (here: bench_lens, set by user space), and every prefix goes
 * into one hash keyed by (generation, length, masked address); the program
 * probes the lengths in order and stops at the first hit, which is the
 * longest match. Cost: one hash probe per length tried. The production
 * datapath now does this for the shorter prefixes, after its host map
 * (rp_prefix_lookup in bpf/lib/verdict.h); this variant, hosts included and
 * no host map, stays for comparison. */
#define RP_BENCH_MAX_LENS 16
struct rp_bench_len_key {
	__u32 gen;
	__u32 len; /* mapped length, 0..128 */
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_bench_len_key);
	__type(value, struct rp_lpm_value);
} bench_len_hash SEC(".maps");

/* Mapped lengths per family (0: IPv6, 1: IPv4-mapped), longest first. */
__u32 bench_lens[2][RP_BENCH_MAX_LENS] = {};
__u32 bench_len_count[2] = {};
/* masks[len] = the first `len` bits set, as two big-endian-loaded words. */
__u64 bench_masks[129][2] = {};

static __always_inline struct rp_lpm_value *bench_lookup_lensets(__u32 gen, const struct rp_flow *flow)
{
	const __u32 fam = flow->is_ipv6 ? 0 : 1;
	struct rp_bench_len_key key = { .gen = gen };
	__u64 hi, lo;
	__builtin_memcpy(&hi, flow->saddr, 8);
	__builtin_memcpy(&lo, flow->saddr + 8, 8);
	__u32 count = bench_len_count[fam];
	for (__u32 i = 0; i < RP_BENCH_MAX_LENS; i++) {
		if (i >= count)
			break;
		__u32 len = bench_lens[fam][i];
		if (len > 128)
			break;
		key.len = len;
		__u64 mhi = hi & bench_masks[len][0], mlo = lo & bench_masks[len][1];
		__builtin_memcpy(key.addr, &mhi, 8);
		__builtin_memcpy(key.addr + 8, &mlo, 8);
		struct rp_lpm_value *hit = bpf_map_lookup_elem(&bench_len_hash, &key);
		if (hit)
			return hit;
	}
	return 0;
}

static __always_inline struct rp_lpm_value *bench_lookup_trieonly(__u32 gen, const struct rp_flow *flow)
{
	struct rp_lpm_key key = { .prefixlen = 32 + 128, .gen = gen };
	__builtin_memcpy(key.addr, flow->saddr, 16);
	return bpf_map_lookup_elem(&bench_all_lpm, &key);
}

enum { BENCH_TRIEONLY = 0, BENCH_LENSETS = 1 };

/* The sweep of bench_lpm_sweep, looking the same keys up in the datapath's host map. */
SEC("xdp")
int bench_hash_sweep(struct xdp_md *ctx)
{
	__u32 index = bench_cursor++ & (bench_sweep_len - 1) & (RP_BENCH_SWEEP_KEYS - 1);
	struct rp_lpm_key *key = bpf_map_lookup_elem(&bench_keys, &index);
	if (!key)
		return XDP_ABORTED;
	struct rp_host_key host = { .gen = key->gen };
	__builtin_memcpy(host.addr, key->addr, 16);
	return bpf_map_lookup_elem(&rampart_ing_hosts, &host) ? XDP_PASS : XDP_DROP;
}

/* ---- A third variant: IPv4 prefixes in a trie of their own, keyed by the
 * generation and the 4-byte address (8 bytes of key data instead of 20), so
 * each node's prefix comparison does one 64-bit step instead of three. */
struct rp_bench_v4_key {
	__u32 prefixlen; /* 32 (generation) + IPv4 length */
	__u32 gen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_bench_v4_key);
	__type(value, struct rp_lpm_value);
} bench_v4_lpm SEC(".maps");

static __always_inline int bench_v4_lookup(const struct rp_lpm_key *key)
{
	struct rp_bench_v4_key v4 = { .prefixlen = 64, .gen = key->gen };
	__builtin_memcpy(v4.addr, key->addr + 12, 4);
	return bpf_map_lookup_elem(&bench_v4_lpm, &v4) ? XDP_PASS : XDP_DROP;
}

/* bench_lpm_alone in the IPv4-only trie. */
SEC("xdp")
int bench_v4_lpm_alone(struct xdp_md *ctx)
{
	return bench_v4_lookup(&bench_key);
}

/* bench_lpm_sweep in the IPv4-only trie (IPv4 keys only). */
SEC("xdp")
int bench_v4_lpm_sweep(struct xdp_md *ctx)
{
	__u32 index = bench_cursor++ & (bench_sweep_len - 1) & (RP_BENCH_SWEEP_KEYS - 1);
	struct rp_lpm_key *key = bpf_map_lookup_elem(&bench_keys, &index);
	if (!key)
		return XDP_ABORTED;
	return bench_v4_lookup(key);
}

/* rp_verdict of bpf/lib/verdict.h, copied as of this benchmark, with its one
 * LPM lookup replaced by a prototype lookup. Ingress only. */
static __always_inline int bench_verdict(const struct rp_flow *flow, const struct rp_meta *meta, int lookup)
{
	__u32 zero = 0;
	struct rp_state *state = bpf_map_lookup_elem(&rampart_state, &zero);
	if (!state)
		return RP_ACTION_ALLOW;
	__u32 gen = state->active_gen & 1;
	struct rp_gen_config *cfg = bpf_map_lookup_elem(&rampart_gencfg, &gen);
	if (!cfg)
		return RP_ACTION_ALLOW;

	if (state->block_entries && rp_blocked(flow, meta)) {
		rp_count_reason(meta, RP_REASON_DROP_BLOCKED);
		rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_BLOCKED, 0);
		return RP_ACTION_DENY;
	}
	if (flow->proto == RP_IPPROTO_ICMPV6 && flow->icmp6_type >= 133 && flow->icmp6_type <= 137) {
		rp_count_reason(meta, RP_REASON_PASS_ICMPV6_ND);
		return RP_ACTION_ALLOW;
	}

	struct rp_lpm_value *hit = lookup == BENCH_LENSETS ? bench_lookup_lensets(gen, flow)
							    : bench_lookup_trieonly(gen, flow);
	__u32 rule_id = 0;
	int matched = 0;
	if (hit) {
		__u32 index = hit->ruleset;
		struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &index);
		matched = set && rp_ruleset_match(set, flow, meta->cgroup_id, &rule_id);
	}
	__u32 reason = RP_REASON_ALLOW_RULE;
	if (!matched) {
		if (cfg->ingress_default == RP_ACTION_DENY) {
			rp_count_reason(meta, RP_REASON_DROP_DEFAULT);
			rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_DEFAULT, 0);
			return RP_ACTION_DENY;
		}
		reason = RP_REASON_ALLOW_DEFAULT;
	}
	__u32 limit_id = 0;
	if (!rp_rate_limits_admit(cfg, flow, meta->len, &limit_id)) {
		rp_count_reason(meta, RP_REASON_DROP_RATE_LIMIT);
		rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_RATE_LIMIT, limit_id);
		return RP_ACTION_DENY;
	}
	if (matched)
		rp_count(&rampart_rulecnt, rule_id);
	rp_count_reason(meta, reason);
	return RP_ACTION_ALLOW;
}

/* rampart_xdp_ingress with a prototype lookup. */
static __always_inline int bench_xdp(struct xdp_md *ctx, int lookup)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_meta meta = {
		.direction = RP_DIR_INGRESS,
		.ifindex = ctx->ingress_ifindex,
		.len = (__u32)(data_end - data),
	};
	struct rp_flow flow = {};
	int parsed = rp_parse_packet(data, data_end, &flow);
	if (parsed == RP_PARSE_NOT_IP) {
		rp_count_reason(&meta, RP_REASON_PASS_NOT_IP);
		return XDP_PASS;
	}
	if (parsed == RP_PARSE_MALFORMED) {
		rp_count_reason(&meta, RP_REASON_DROP_MALFORMED);
		return XDP_DROP;
	}
	return bench_verdict(&flow, &meta, lookup) == RP_ACTION_ALLOW ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bench_xdp_trieonly(struct xdp_md *ctx)
{
	return bench_xdp(ctx, BENCH_TRIEONLY);
}

SEC("xdp")
int bench_xdp_lensets(struct xdp_md *ctx)
{
	return bench_xdp(ctx, BENCH_LENSETS);
}

/* rampart_tc_ingress without the unconditional bpf_skb_pull_data: the
 * headers are parsed in the linear part as it is, and pulled (then parsed
 * again) only when they run past it. rampart_tc_ingress pulls 128 bytes
 * whenever the linear part is shorter, which on a TCP data skb (66 bytes of
 * headers in the head, payload in fragments, a clone of the sender's skb)
 * reallocates and copies the head for every packet. */
SEC("tc")
int bench_tc_ingress_lazy(struct __sk_buff *skb)
{
	struct rp_meta meta = {
		.direction = RP_DIR_INGRESS,
		.ifindex = skb->ifindex,
		.len = skb->len,
	};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct rp_flow flow = {};
	int parsed = rp_parse_packet(data, data_end, &flow);
	if (parsed == RP_PARSE_MALFORMED && data_end - data < skb->len) {
		bpf_skb_pull_data(skb, 128);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(&flow, 0, sizeof(flow));
		parsed = rp_parse_packet(data, data_end, &flow);
	}
	if (parsed == RP_PARSE_NOT_IP) {
		rp_count_reason(&meta, RP_REASON_PASS_NOT_IP);
		return 0; /* TC_ACT_OK */
	}
	if (parsed == RP_PARSE_MALFORMED) {
		rp_count_reason(&meta, RP_REASON_DROP_MALFORMED);
		return 2; /* TC_ACT_SHOT */
	}
	return rp_verdict(&flow, &meta) == RP_ACTION_ALLOW ? 0 : 2;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
