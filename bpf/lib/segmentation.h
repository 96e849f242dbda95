/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The ingress allowlist decision, shared by every ingress hook. */
#ifndef RAMPART_BPF_SEGMENTATION_H
#define RAMPART_BPF_SEGMENTATION_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "rampart/datapath_maps.h"
#include "packet.h"

static __always_inline void rp_count(void *map, __u32 key)
{
	__u64 *value = bpf_map_lookup_elem(map, &key);
	if (value)
		*value += 1; /* per-CPU slot: no atomics needed */
}

/* Returns whether the flow matches a rule in the ruleset; sets *rule_id. */
static __always_inline int rp_ruleset_match(const struct rp_ruleset *set,
					    const struct rp_flow *flow, __u32 *rule_id)
{
	__u32 count = set->count;
	for (__u32 i = 0; i < RP_RULESET_MAX_RULES; i++) {
		if (i >= count)
			break;
		const struct rp_port_rule *rule = &set->rules[i];
		if (rule->proto != flow->proto)
			continue;
		/* A later fragment carries no ports: it passes when the source may
		 * reach any port of its protocol (the first fragment was checked). */
		if (flow->later_fragment ||
		    (flow->dport >= rule->port_first && flow->dport <= rule->port_last)) {
			*rule_id = rule->rule_id;
			return 1;
		}
	}
	return 0;
}

/* Decides an ingress packet and counts the reason. Returns RP_ACTION_*. */
static __always_inline int rp_ingress_verdict(const struct rp_flow *flow)
{
	__u32 zero = 0;
	struct rp_state *state = bpf_map_lookup_elem(&rampart_state, &zero);
	if (!state)
		return RP_ACTION_ALLOW;
	__u32 gen = state->active_gen & 1;
	struct rp_gen_config *cfg = bpf_map_lookup_elem(&rampart_gencfg, &gen);
	if (!cfg)
		return RP_ACTION_ALLOW;

	if (flow->proto == RP_IPPROTO_ICMPV6 && flow->icmp6_type >= 133 &&
	    flow->icmp6_type <= 137) {
		rp_count(&rampart_reasons, RP_REASON_PASS_ICMPV6_ND);
		return RP_ACTION_ALLOW;
	}

	struct rp_lpm_key key = { .prefixlen = 32 + 128, .gen = gen };
	__builtin_memcpy(key.addr, flow->saddr, 16);
	struct rp_lpm_value *hit = bpf_map_lookup_elem(&rampart_ing_lpm, &key);
	if (hit) {
		__u32 idx = hit->ruleset;
		struct rp_ruleset *set = bpf_map_lookup_elem(&rampart_rsets, &idx);
		__u32 rule_id;
		if (set && rp_ruleset_match(set, flow, &rule_id)) {
			rp_count(&rampart_rulecnt, rule_id);
			rp_count(&rampart_reasons, RP_REASON_ALLOW_RULE);
			return RP_ACTION_ALLOW;
		}
	}
	if (cfg->ingress_default == RP_ACTION_DENY) {
		rp_count(&rampart_reasons, RP_REASON_DROP_DEFAULT);
		return RP_ACTION_DENY;
	}
	rp_count(&rampart_reasons, RP_REASON_ALLOW_DEFAULT);
	return RP_ACTION_ALLOW;
}

#endif /* RAMPART_BPF_SEGMENTATION_H */
