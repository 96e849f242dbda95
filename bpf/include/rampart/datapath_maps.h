/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the ingress/egress datapath. Pinned by name under the agent's bpffs
 * directory, so enforcement outlives the agent and a restarted agent adopts
 * them. A layout change renames the map (suffix _v2, ...). */
#ifndef RAMPART_DATAPATH_MAPS_H
#define RAMPART_DATAPATH_MAPS_H

#include "rampart/abi.h"

/* Source prefix (both generations) -> ruleset index. Written by the agent's
 * policy applier; read by the ingress program. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_lpm_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_ing_lpm SEC(".maps");

/* Ruleset index -> port rules. Written by the policy applier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_MAX_RULESETS * RP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct rp_ruleset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_rsets SEC(".maps");

/* Generation -> its settings. Written by the policy applier before the flip. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct rp_gen_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_gencfg SEC(".maps");

/* Key 0 -> the active generation. The policy applier's single flip. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_state SEC(".maps");

/* enum rp_reason -> packets, per CPU. Written by the programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_REASON_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_reasons SEC(".maps");

/* Rule id (both generations) -> packets it allowed, per CPU. Written by the
 * programs; the applier zeroes a generation's slots before reusing them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_MAX_RULES * RP_GENERATIONS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_rulecnt SEC(".maps");

#endif /* RAMPART_DATAPATH_MAPS_H */
