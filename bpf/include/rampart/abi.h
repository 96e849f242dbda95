/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel/user ABI of Rampart's datapath: every map key, map value and
 * reason code that both the BPF programs and the agent use. This is the only
 * definition; tests/abi/abi_layout_test.cc pins every size and offset.
 *
 * Rules: fixed-width types only, explicit padding, IPv4 stored as an
 * IPv4-mapped IPv6 address so one key type serves both families. Reason codes
 * are append-only; a retired code stays reserved.
 */
#ifndef RAMPART_ABI_H
#define RAMPART_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Policy generations. Each policy is written to the inactive generation and
 * published by flipping rp_state.active_gen, so a packet sees one whole policy. */
#define RP_GENERATIONS 2

/* Capacity per generation. A policy that does not fit is refused by the
 * compiler before anything is written (agent/policy/compiler.h). */
#define RP_MAX_PREFIXES 16384     /* distinct source prefixes per generation */
#define RP_MAX_RULESETS 4096      /* distinct port-rule sets per generation */
#define RP_RULESET_MAX_RULES 32   /* port rules a single source prefix can reach */
#define RP_MAX_RULES 4096         /* named rules per generation (counter slots) */

enum rp_action {
	RP_ACTION_ALLOW = 0,
	RP_ACTION_DENY = 1,
};

/* Ingress allowlist LPM key. The first 32 bits are the generation, so
 * prefixlen = 32 + 96 + v4len for IPv4 and 32 + v6len for IPv6. */
struct rp_lpm_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[16];
};

struct rp_lpm_value {
	__u32 ruleset; /* index into rampart_rsets, generation offset included */
};

/* One protocol/port-range rule reachable from a source prefix. */
struct rp_port_rule {
	__u16 port_first; /* host byte order */
	__u16 port_last;
	__u8 proto;       /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];
	__u32 rule_id;    /* index into rampart_rulecnt, generation offset included */
};

/* The port rules of every allow rule whose prefix covers a given source
 * prefix, shorter prefixes included: one LPM lookup then decides. */
struct rp_ruleset {
	__u32 count;
	__u32 pad;
	struct rp_port_rule rules[RP_RULESET_MAX_RULES];
};

/* Per-generation settings. */
struct rp_gen_config {
	__u64 version;        /* policy bundle version, for status and tracing */
	__u8 ingress_default; /* enum rp_action */
	__u8 pad[7];
};

/* Global state, a single entry. */
struct rp_state {
	__u32 active_gen;
	__u32 pad;
};

/* Why a packet got its verdict. Append-only. */
enum rp_reason {
	RP_REASON_ALLOW_RULE = 0,      /* matched an allow rule */
	RP_REASON_ALLOW_DEFAULT = 1,   /* no rule matched, default allow */
	RP_REASON_DROP_DEFAULT = 2,    /* no rule matched, default deny */
	RP_REASON_PASS_NOT_IP = 3,     /* ARP and other non-IP traffic */
	RP_REASON_DROP_MALFORMED = 4,  /* truncated or inconsistent headers */
	RP_REASON_PASS_ICMPV6_ND = 5,  /* neighbour discovery, never filtered */
	RP_REASON_MAX = 16,
};

#endif /* RAMPART_ABI_H */
