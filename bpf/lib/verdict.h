/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The enforcement pipeline shared by every hook: blocklist, then the
 * segmentation allowlist, then (ingress) token buckets; every verdict counted
 * by reason, drops sampled into the event ring buffer. */
#ifndef RAMPART_BPF_VERDICT_H
#define RAMPART_BPF_VERDICT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "rampart/datapath_maps.h"
#include "packet.h"

/* What a hook knows about the packet beyond its headers. */
struct rp_meta {
	__u32 direction; /* enum rp_direction */
	__u32 ifindex;
	__u32 len;       /* bytes on the wire, for byte limits */
	__u32 pad;
	__u64 cgroup_id; /* egress: the sending socket's cgroup v2 id, 0 if none */
};

static __always_inline void rp_count(void *map, __u32 key)
{
	__u64 *value = bpf_map_lookup_elem(map, &key);
	if (value)
		*value += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline void rp_count_reason(const struct rp_meta *meta, __u32 reason)
{
	rp_count(&rampart_reasons, meta->direction * RP_REASON_MAX + reason);
}

/* The functions marked RP_SUBPROG are global BPF subprograms: the verifier
 * checks each once, on its own, instead of once per path through its caller,
 * which keeps the programs far below the verifier's complexity limit. Their
 * pointer arguments may be NULL as far as the verifier knows, hence the checks. */
#define RP_SUBPROG __attribute__((noinline))

RP_SUBPROG int rp_emit_drop(const struct rp_flow *flow, const struct rp_meta *meta, __u32 sample_rate, __u32 reason,
			    __u32 rule_id)
{
	if (!flow || !meta)
		return 0;
	__u32 rate = sample_rate;
	if (rate == 0)
		return 0;
	if (rate > 1 && bpf_get_prandom_u32() % rate != 0)
		return 0;
	struct rp_drop_event *event = bpf_ringbuf_reserve(&rampart_events, sizeof(*event), 0);
	if (!event) {
		rp_count(&rampart_errors, RP_ERR_RINGBUF_FULL);
		return 0;
	}
	event->timestamp_ns = bpf_ktime_get_ns();
	event->ifindex = meta->ifindex;
	event->rule_id = rule_id;
	event->reason = reason;
	event->direction = meta->direction;
	event->proto = flow->proto;
	event->pad = 0;
	event->sport = flow->sport;
	event->dport = flow->dport;
	__builtin_memcpy(event->src, flow->saddr, 16);
	__builtin_memcpy(event->dst, flow->daddr, 16);
	bpf_ringbuf_submit(event, 0);
	return 1;
}

static __always_inline int rp_block_hit(const struct rp_block_key *key, __u64 now)
{
	struct rp_block_value *hit = bpf_map_lookup_elem(&rampart_block, key);
	return hit && (hit->expires_ns == 0 || hit->expires_ns > now);
}

/* Blocked peers: the source on ingress, the destination on egress; flows are
 * keyed as seen on ingress, so egress looks them up reversed. */
RP_SUBPROG int rp_blocked(const struct rp_flow *flow, const struct rp_meta *meta)
{
	if (!flow || !meta)
		return 0;
	const int ingress = meta->direction == RP_DIR_INGRESS;
	__u64 now = bpf_ktime_get_ns();
	struct rp_block_key key = { .kind = RP_BLOCK_SOURCE };
	__builtin_memcpy(key.src, ingress ? flow->saddr : flow->daddr, 16);
	if (rp_block_hit(&key, now))
		return 1;
	key.kind = RP_BLOCK_FLOW;
	key.proto = flow->proto;
	key.sport = ingress ? flow->sport : flow->dport;
	key.dport = ingress ? flow->dport : flow->sport;
	__builtin_memcpy(key.dst, ingress ? flow->daddr : flow->saddr, 16);
	return rp_block_hit(&key, now);
}

/* Whether a rule of the ruleset admits the flow; sets *rule_id. */
RP_SUBPROG int rp_ruleset_match(const struct rp_ruleset *set, const struct rp_flow *flow, __u64 cgroup_id,
				__u32 *rule_id)
{
	if (!set || !flow || !rule_id)
		return 0;
	__u32 count = set->count;
	for (__u32 i = 0; i < RP_RULESET_MAX_RULES; i++) {
		if (i >= count)
			break;
		const struct rp_port_rule *rule = &set->rules[i];
		if (rule->proto != flow->proto)
			continue;
		if (rule->cgroup_id && rule->cgroup_id != cgroup_id)
			continue;
		/* A later fragment carries no ports: it passes when the peer may
		 * reach any port of its protocol (the first fragment was checked). */
		if (flow->later_fragment ||
		    (flow->dport >= rule->port_first && flow->dport <= rule->port_last)) {
			*rule_id = rule->rule_id;
			return 1;
		}
	}
	return 0;
}

/* The first `bits` bits of an 8-byte word loaded from a big-endian address,
 * as a mask in the same (native) byte order. */
static __always_inline __u64 rp_prefix_mask(__u32 bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return ~0ULL;
	return __builtin_bswap64(~0ULL << (64 - bits));
}

/* The peer's longest shorter (non-host) prefix in generation `gen`: one hash
 * probe per length the family uses, longest first (RP_LOOKUP_LENSETS), or
 * one trie walk (RP_LOOKUP_TRIE). Returns the ruleset index, or -1 when no
 * prefix covers the peer. The peer's family is the packet's: an IPv6 packet
 * from an IPv4-mapped address never gets here (rp_parse_ipv6), and the
 * compiler keeps IPv6 prefixes out of the IPv4-mapped block. `ingress` is a
 * constant in each caller below, so every lookup call site sees one map and
 * the verifier can inline it (a call site shared by two maps goes through
 * the generic helper instead). */
static __always_inline int rp_prefix_lookup(const struct rp_flow *flow, __u32 gen, const int ingress)
{
	const __u8 *peer = ingress ? flow->saddr : flow->daddr;
	__u32 slot = RP_LENSET_INDEX(gen & 1, ingress ? RP_DIR_INGRESS : RP_DIR_EGRESS,
				     flow->is_ipv6 ? RP_FAMILY_IPV6 : RP_FAMILY_IPV4);
	struct rp_lenset *set = bpf_map_lookup_elem(&rampart_lensets, &slot);
	if (!set)
		return -1;
	struct rp_lpm_value *hit = 0;
	if (set->mode == RP_LOOKUP_LENSETS) {
		__u64 hi, lo;
		__builtin_memcpy(&hi, peer, 8);
		__builtin_memcpy(&lo, peer + 8, 8);
		struct rp_prefix_key key = { .gen = gen };
		__u32 count = set->count;
		for (__u32 i = 0; i < RP_LENSET_MAX_LENGTHS; i++) {
			if (i >= count)
				break;
			__u32 len = set->lens[i];
			key.len = len;
			__u64 masked_hi = hi & rp_prefix_mask(len);
			__u64 masked_lo = lo & rp_prefix_mask(len > 64 ? len - 64 : 0);
			__builtin_memcpy(key.addr, &masked_hi, 8);
			__builtin_memcpy(key.addr + 8, &masked_lo, 8);
			hit = bpf_map_lookup_elem(ingress ? (void *)&rampart_ing_prefixes : (void *)&rampart_egr_prefixes,
						  &key);
			if (hit)
				break;
		}
	} else {
		struct rp_lpm_key key = { .prefixlen = 32 + 128, .gen = gen };
		__builtin_memcpy(key.addr, peer, 16);
		hit = bpf_map_lookup_elem(ingress ? (void *)&rampart_ing_lpm : (void *)&rampart_egr_lpm, &key);
	}
	return hit ? (int)hit->ruleset : -1;
}

RP_SUBPROG int rp_source_prefix(const struct rp_flow *flow, __u32 gen)
{
	return flow ? rp_prefix_lookup(flow, gen, 1) : -1;
}

RP_SUBPROG int rp_destination_prefix(const struct rp_flow *flow, __u32 gen)
{
	return flow ? rp_prefix_lookup(flow, gen, 0) : -1;
}

/* One GCRA step on a theoretical arrival time: admit `cost_ps` if the
 * bucket stays within `tolerance_ps` of now. Lock-free: CAS, bounded retries. */
static __always_inline int rp_gcra_take(__u64 *tat, __u64 now_ps, __u64 cost_ps, __u64 tolerance_ps)
{
#pragma unroll
	for (int attempt = 0; attempt < 4; attempt++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 start = old > now_ps ? old : now_ps;
		__u64 next = start + cost_ps;
		if (next - now_ps > tolerance_ps)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, next) == old)
			return 1;
	}
	rp_count(&rampart_errors, RP_ERR_BUCKET_CONTENDED);
	return 0;
}

/* Returns 1 when the packet fits the limit's bucket. */
static __always_inline int rp_bucket_admit(const struct rp_rate_limit *limit, const struct rp_flow *flow,
					   __u32 len)
{
	struct rp_bucket_key key = { .limit_id = limit->limit_id };
	__builtin_memcpy(key.src, flow->saddr, 16);
	if (limit->key_kind == RP_LIMIT_BY_FLOW) {
		key.proto = flow->proto;
		key.sport = flow->sport;
		key.dport = flow->dport;
		__builtin_memcpy(key.dst, flow->daddr, 16);
	}
	__u64 now = bpf_ktime_get_ns();
	struct rp_bucket *bucket = bpf_map_lookup_elem(&rampart_buckets, &key);
	if (!bucket) {
		struct rp_bucket fresh = { .base_ns = now };
		if (bpf_map_update_elem(&rampart_buckets, &key, &fresh, BPF_NOEXIST) != 0)
			rp_count(&rampart_errors, RP_ERR_BUCKET_UPDATE); /* lost a race, or full */
		bucket = bpf_map_lookup_elem(&rampart_buckets, &key);
		if (!bucket)
			return 1; /* counted above; never drop for our own failure */
	}
	__u64 now_ps = now > bucket->base_ns ? (now - bucket->base_ns) * 1000 : 0;
	int admitted = 1;
	if (limit->packet_interval_ps &&
	    !rp_gcra_take(&bucket->packet_tat_ps, now_ps, limit->packet_interval_ps, limit->packet_tolerance_ps))
		admitted = 0;
	if (admitted && limit->byte_interval_ps &&
	    !rp_gcra_take(&bucket->byte_tat_ps, now_ps, (__u64)len * limit->byte_interval_ps,
			  limit->byte_tolerance_ps)) {
		admitted = 0;
		if (limit->packet_interval_ps) /* give back the packet token */
			__sync_fetch_and_sub(&bucket->packet_tat_ps, limit->packet_interval_ps);
	}
	if (admitted) {
		__sync_fetch_and_add(&bucket->passed_packets, 1);
		__sync_fetch_and_add(&bucket->passed_bytes, len);
	} else {
		__sync_fetch_and_add(&bucket->dropped_packets, 1);
	}
	return admitted;
}

/* The first rate limit whose protocol and port match decides. Returns 1 to
 * admit; on a drop sets *limit_id. */
RP_SUBPROG int rp_rate_limits_admit(const struct rp_gen_config *cfg, const struct rp_flow *flow, __u32 len,
				    __u32 *limit_id)
{
	if (!cfg || !flow || !limit_id)
		return 1;
	__u32 count = cfg->rate_limit_count;
	for (__u32 i = 0; i < RP_MAX_RATE_LIMITS; i++) {
		if (i >= count)
			break;
		const struct rp_rate_limit *limit = &cfg->rate_limits[i];
		if (limit->proto != flow->proto)
			continue;
		if (!flow->later_fragment && (flow->dport < limit->port_first || flow->dport > limit->port_last))
			continue;
		*limit_id = limit->limit_id;
		return rp_bucket_admit(limit, flow, len);
	}
	return 1;
}

/* Decides a parsed IP packet. Returns RP_ACTION_*. */
static __always_inline int rp_verdict(const struct rp_flow *flow, const struct rp_meta *meta)
{
	__u32 zero = 0;
	struct rp_state *state = bpf_map_lookup_elem(&rampart_state, &zero);
	if (!state)
		return RP_ACTION_ALLOW;
	__u32 gen = state->active_gen & 1;
	struct rp_gen_config *cfg = bpf_map_lookup_elem(&rampart_gencfg, &gen);
	if (!cfg)
		return RP_ACTION_ALLOW;
	const int ingress = meta->direction == RP_DIR_INGRESS;

	if (state->block_entries && rp_blocked(flow, meta)) {
		rp_count_reason(meta, RP_REASON_DROP_BLOCKED);
		rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_BLOCKED, 0);
		return RP_ACTION_DENY;
	}

	if (flow->proto == RP_IPPROTO_ICMPV6 && flow->icmp6_type >= 133 && flow->icmp6_type <= 137) {
		rp_count_reason(meta, RP_REASON_PASS_ICMPV6_ND);
		return RP_ACTION_ALLOW;
	}

	/* Segmentation: the peer's prefix leads to the rules that may admit it;
	 * the exact host first, then the longest shorter prefix. */
	const __u8 *peer = ingress ? flow->saddr : flow->daddr;
	struct rp_host_key host = { .gen = gen };
	__builtin_memcpy(host.addr, peer, 16);
	struct rp_lpm_value *hit =
		bpf_map_lookup_elem(ingress ? (void *)&rampart_ing_hosts : (void *)&rampart_egr_hosts, &host);
	int ruleset = hit ? (int)hit->ruleset
			  : ingress ? rp_source_prefix(flow, gen) : rp_destination_prefix(flow, gen);
	__u32 rule_id = 0;
	int matched = 0;
	if (ruleset >= 0) {
		__u32 index = ruleset;
		struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &index);
		matched = set && rp_ruleset_match(set, flow, meta->cgroup_id, &rule_id);
	}
	__u32 reason = RP_REASON_ALLOW_RULE;
	if (!matched) {
		int deny;
		if (ingress) {
			deny = cfg->ingress_default == RP_ACTION_DENY;
		} else {
			struct rp_confined_key confined = { .gen = gen, .cgroup_id = meta->cgroup_id };
			if (meta->cgroup_id && bpf_map_lookup_elem(&rampart_confine, &confined)) {
				rp_count_reason(meta, RP_REASON_DROP_CONFINED);
				rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_CONFINED, 0);
				return RP_ACTION_DENY;
			}
			deny = cfg->egress_default == RP_ACTION_DENY;
		}
		if (deny) {
			rp_count_reason(meta, RP_REASON_DROP_DEFAULT);
			rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_DEFAULT, 0);
			return RP_ACTION_DENY;
		}
		reason = RP_REASON_ALLOW_DEFAULT;
	}

	if (ingress) {
		__u32 limit_id = 0;
		if (!rp_rate_limits_admit(cfg, flow, meta->len, &limit_id)) {
			rp_count_reason(meta, RP_REASON_DROP_RATE_LIMIT);
			rp_emit_drop(flow, meta, state->drop_sample_rate, RP_REASON_DROP_RATE_LIMIT, limit_id);
			return RP_ACTION_DENY;
		}
	}
	if (matched)
		rp_count(&rampart_rulecnt, rule_id);
	rp_count_reason(meta, reason);
	return RP_ACTION_ALLOW;
}

/* Parses from the Ethernet header and decides. Returns RP_ACTION_*. */
static __always_inline int rp_decide(void *data, void *data_end, const struct rp_meta *meta)
{
	struct rp_flow flow = {};
	int parsed = rp_parse_packet(data, data_end, &flow);
	if (parsed == RP_PARSE_NOT_IP) {
		rp_count_reason(meta, RP_REASON_PASS_NOT_IP);
		return RP_ACTION_ALLOW;
	}
	if (parsed == RP_PARSE_MALFORMED) {
		rp_count_reason(meta, RP_REASON_DROP_MALFORMED);
		return RP_ACTION_DENY;
	}
	return rp_verdict(&flow, meta);
}

#endif /* RAMPART_BPF_VERDICT_H */
