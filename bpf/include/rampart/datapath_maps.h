/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the ingress/egress datapath. Pinned by name under the agent's bpffs
 * directory, so enforcement outlives the agent and a restarted agent adopts
 * them. A layout change renames the map (suffix _v2, ...). Sizes marked
 * "configurable" are set by the agent before load (DatapathOptions). */
#ifndef RAMPART_DATAPATH_MAPS_H
#define RAMPART_DATAPATH_MAPS_H

#include "rampart/abi.h"

/* Full-length source addresses (IPv4 /32, IPv6 /128; both generations) ->
 * ruleset index, looked up before the shorter prefixes (rampart_ing_prefixes
 * or rampart_ing_lpm). A hash lookup costs the same at 10 or 100k entries, while
 * a trie lookup grows with its depth; host entries are the common case of a
 * large allowlist. The compiler folds covering prefixes' rules into every
 * prefix's ruleset, so a host hit decides exactly as the trie would. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_host_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_ing_hosts SEC(".maps");

/* Full-length destination addresses -> ruleset index, ahead of the shorter prefixes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_host_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_egr_hosts SEC(".maps");

/* Shorter source prefixes of the families in RP_LOOKUP_LENSETS mode (both
 * generations) -> ruleset index, one entry per (length, masked address). The
 * program probes the lengths rampart_lensets lists, longest first, so the
 * cost is one hash probe per distinct length tried, whatever the entry count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_prefix_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_ing_prefixes SEC(".maps");

/* Shorter destination prefixes of the families in RP_LOOKUP_LENSETS mode. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_prefix_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_egr_prefixes SEC(".maps");

/* RP_LENSET_INDEX(generation, direction, family) -> how that family's shorter
 * prefixes are looked up. Written before the flip. A zeroed entry (a map
 * created by an agent that predates it, next to a policy it did not write)
 * means the trie. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_GENERATIONS * RP_DIRECTIONS * RP_FAMILIES);
	__type(key, __u32);
	__type(value, struct rp_lenset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_lensets SEC(".maps");

/* Shorter source prefixes of the families in RP_LOOKUP_TRIE mode (both
 * generations) -> ruleset index. Written by the agent's PolicyWriter; read by
 * the ingress programs. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_lpm_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_ing_lpm SEC(".maps");

/* Shorter destination prefixes of the families in RP_LOOKUP_TRIE mode (both
 * generations) -> ruleset index. Written by the PolicyWriter; read by the
 * egress program. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RP_MAX_PREFIXES * RP_GENERATIONS);
	__type(key, struct rp_lpm_key);
	__type(value, struct rp_lpm_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_egr_lpm SEC(".maps");

/* Ruleset index -> port rules, both directions. Written by the PolicyWriter. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_MAX_RULESETS * RP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct rp_ruleset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_rsets SEC(".maps");

/* Generation -> its settings and rate limits. Written before the flip. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_GENERATIONS);
	__type(key, __u32);
	__type(value, struct rp_gen_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_gencfg SEC(".maps");

/* Key 0 -> the active generation and the drop sampling rate. The
 * PolicyWriter's single flip. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_state SEC(".maps");

/* (generation, cgroup id) of confined cgroups. Written by the PolicyWriter. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RP_MAX_CONFINED * RP_GENERATIONS);
	__type(key, struct rp_confined_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_confine SEC(".maps");

/* Blocked sources and flows, each with an expiry. Written by the agent's
 * Blocklist (detections, operators); expired entries are ignored here and
 * swept by the agent. Size configurable. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rp_block_key);
	__type(value, struct rp_block_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_block SEC(".maps");

/* Token buckets, per source or per flow. Written by the ingress programs
 * only; LRU so an address sweep cannot exhaust it. Size configurable. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct rp_bucket_key);
	__type(value, struct rp_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_buckets SEC(".maps");

/* direction * RP_REASON_MAX + enum rp_reason -> packets, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_REASON_MAX * RP_DIRECTIONS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_reasons SEC(".maps");

/* Rule id (both generations) -> packets it allowed, per CPU. The
 * PolicyWriter zeroes a generation's slots before reusing them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_MAX_RULES * RP_GENERATIONS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_rulecnt SEC(".maps");

/* enum rp_error -> occurrences, per CPU. Written by the programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_ERR_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_errors SEC(".maps");

/* Sampled drop events (struct rp_drop_event) for `rampartctl drops`. Size
 * configurable. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rampart_events SEC(".maps");

#endif /* RAMPART_DATAPATH_MAPS_H */
