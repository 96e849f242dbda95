/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel/user ABI of Rampart's datapath: every map key, map value, event
 * record and reason code that both the BPF programs and the agent use. This
 * is the only definition; tests/abi/abi_layout_test.cc pins every size,
 * offset and code.
 *
 * Rules: fixed-width types only, explicit padding, IPv4 stored as an
 * IPv4-mapped IPv6 address so one key type serves both families. Reason and
 * error codes are append-only; a retired code stays reserved.
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
#define RP_MAX_PREFIXES 131072    /* distinct prefixes per direction and generation */
#define RP_MAX_RULESETS 4096      /* distinct port-rule sets per generation (both directions) */
#define RP_RULESET_MAX_RULES 32   /* port rules a single prefix can reach */
#define RP_MAX_RULES 4096         /* named allow rules per generation (counter slots) */
#define RP_MAX_RATE_LIMITS 16     /* rate-limit rules per generation */
#define RP_MAX_CONFINED 1024      /* cgroups with egress rules, per generation */

enum rp_action {
	RP_ACTION_ALLOW = 0,
	RP_ACTION_DENY = 1,
};

enum rp_direction {
	RP_DIR_INGRESS = 0,
	RP_DIR_EGRESS = 1,
	RP_DIRECTIONS = 2,
};

/* Allowlist LPM key (one trie per direction). The first 32 bits are the
 * generation, so prefixlen = 32 + 96 + v4len for IPv4 and 32 + v6len for IPv6. */
struct rp_lpm_key {
	__u32 prefixlen;
	__u32 gen;
	__u8 addr[16];
};

/* A full-length prefix (IPv4 /32, IPv6 /128): exact-match key of the host
 * maps, looked up before the tries. */
struct rp_host_key {
	__u32 gen;
	__u8 addr[16];
};

struct rp_lpm_value {
	__u32 ruleset; /* index into rampart_rsets, generation offset included */
};

/* "Length sets": a family whose shorter prefixes use few distinct lengths
 * keeps them in one exact-match hash per direction instead of the trie, keyed
 * by (generation, mapped length, address masked to that length). The program
 * probes the lengths in use, longest first; the first hit is the longest
 * match. A family with more than RP_LENSET_MAX_LENGTHS distinct lengths keeps
 * all its shorter prefixes in the trie (one probe per length would cost more
 * than the walk). */
#define RP_LENSET_MAX_LENGTHS 16

enum rp_family {
	RP_FAMILY_IPV4 = 0,
	RP_FAMILY_IPV6 = 1,
	RP_FAMILIES = 2,
};

struct rp_prefix_key {
	__u32 gen;
	__u32 len;     /* mapped length: 96 + n for IPv4 /n, n for IPv6 /n; < 128 */
	__u8 addr[16]; /* host bits zero */
};

enum rp_lookup_mode {
	RP_LOOKUP_TRIE = 0,    /* the LPM trie (also what a zeroed entry means) */
	RP_LOOKUP_LENSETS = 1, /* probe lens[0..count) in the prefix hash */
};

/* How one (generation, direction, family) looks up its shorter prefixes;
 * index RP_LENSET_INDEX(gen, direction, family) of rampart_lensets. */
struct rp_lenset {
	__u8 mode;  /* enum rp_lookup_mode */
	__u8 count; /* lengths in use, <= RP_LENSET_MAX_LENGTHS; 0: no shorter prefixes */
	__u8 pad[2];
	__u8 lens[RP_LENSET_MAX_LENGTHS]; /* mapped lengths, longest first */
};

#define RP_LENSET_INDEX(gen, direction, family) \
	(((gen) * RP_DIRECTIONS + (direction)) * RP_FAMILIES + (family))

/* One protocol/port-range rule reachable from a prefix. */
struct rp_port_rule {
	__u16 port_first; /* host byte order; the destination port */
	__u16 port_last;
	__u8 proto;       /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];
	__u32 rule_id;    /* index into rampart_rulecnt, generation offset included */
	__u64 cgroup_id;  /* egress: only packets of this cgroup v2; 0: any */
};

/* The port rules of every allow rule whose prefix covers a given prefix,
 * shorter prefixes included: one LPM lookup then decides. */
struct rp_ruleset {
	__u32 count;
	__u32 pad;
	struct rp_port_rule rules[RP_RULESET_MAX_RULES];
};

enum rp_limit_key {
	RP_LIMIT_BY_SOURCE = 0, /* one bucket per source address */
	RP_LIMIT_BY_FLOW = 1,   /* one bucket per 5-tuple */
};

/* A rate-limit rule: ingress packets to these ports share token buckets.
 * Buckets are GCRA ("virtual scheduling"): one theoretical arrival time per
 * limit, in picoseconds, advanced by cost * interval per packet and updated
 * with compare-and-swap, so CPUs sharing a bucket stay exact without a lock
 * (LRU maps cannot hold a bpf_spin_lock). The agent computes the intervals
 * and tolerances; an interval of 0 disables that limit. */
struct rp_rate_limit {
	__u16 port_first;
	__u16 port_last;
	__u8 proto;
	__u8 key_kind;              /* enum rp_limit_key */
	__u8 pad[2];
	__u32 limit_id;             /* (u32)policy version * RP_MAX_RATE_LIMITS + index */
	__u32 pad2;
	__u64 packet_interval_ps;   /* 1e12 / packets per second */
	__u64 packet_tolerance_ps;  /* burst packets * packet_interval_ps */
	__u64 byte_interval_ps;     /* 1e12 / bytes per second */
	__u64 byte_tolerance_ps;    /* burst bytes * byte_interval_ps */
};

/* Per-generation settings. */
struct rp_gen_config {
	__u64 version;        /* policy bundle version, for status and tracing */
	__u8 ingress_default; /* enum rp_action */
	__u8 egress_default;  /* enum rp_action, for cgroups that are not confined */
	__u8 pad[2];
	__u32 rate_limit_count;
	struct rp_rate_limit rate_limits[RP_MAX_RATE_LIMITS];
};

/* Global state, a single entry. */
struct rp_state {
	__u32 active_gen;
	__u32 drop_sample_rate; /* one drop event per N drops; 0: no events */
	__u32 block_entries;    /* entries in rampart_block; 0 skips its lookups */
	__u32 pad;
};

/* Egress confinement: a cgroup named by an egress rule may only send what
 * its rules (and rules without a cgroup) allow. */
struct rp_confined_key {
	__u32 gen;
	__u32 pad;
	__u64 cgroup_id;
};

enum rp_block_kind {
	RP_BLOCK_SOURCE = 1, /* every packet from (ingress) or to (egress) addr */
	RP_BLOCK_FLOW = 2,   /* one 5-tuple, as seen on ingress */
};

/* Dynamic blocklist key. For RP_BLOCK_SOURCE only kind and src are set. */
struct rp_block_key {
	__u8 kind; /* enum rp_block_kind */
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 src[16];
	__u8 dst[16];
};

struct rp_block_value {
	__u64 expires_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns); 0: never */
	__u32 reason;     /* who asked: enum rp_block_reason */
	__u32 pad;
};

/* Who put an entry in the blocklist. Append-only. */
enum rp_block_reason {
	RP_BLOCK_BY_OPERATOR = 0, /* rampartctl block */
	RP_BLOCK_BY_DLP = 1,
	RP_BLOCK_BY_ATTACK = 2,
	RP_BLOCK_BY_JWT = 3,
	RP_BLOCK_BY_API = 4,      /* API analytics: shadow APIs, BOLA, L7 limits */
};

/* Token-bucket key: limit_id plus the source, or the whole 5-tuple. */
struct rp_bucket_key {
	__u32 limit_id;
	__u8 proto;
	__u8 pad;
	__u16 sport;
	__u16 dport;
	__u16 pad2;
	__u8 src[16];
	__u8 dst[16];
};

/* A token bucket (GCRA state). Times are picoseconds since base_ns, so a
 * bucket lives 2^64 ps (213 days) before its clock wraps; the agent's sweep
 * removes buckets long before. */
struct rp_bucket {
	__u64 base_ns;        /* bpf_ktime_get_ns at creation */
	__u64 packet_tat_ps;  /* theoretical arrival time, packet limit */
	__u64 byte_tat_ps;    /* theoretical arrival time, byte limit */
	__u64 passed_packets;
	__u64 passed_bytes;
	__u64 dropped_packets;
};

/* Why a packet got its verdict. Counted per direction: key =
 * direction * RP_REASON_MAX + reason. Append-only. */
enum rp_reason {
	RP_REASON_ALLOW_RULE = 0,      /* matched an allow rule */
	RP_REASON_ALLOW_DEFAULT = 1,   /* no rule matched, default allow */
	RP_REASON_DROP_DEFAULT = 2,    /* no rule matched, default deny */
	RP_REASON_PASS_NOT_IP = 3,     /* ARP and other non-IP traffic */
	RP_REASON_DROP_MALFORMED = 4,  /* truncated or inconsistent headers */
	RP_REASON_PASS_ICMPV6_ND = 5,  /* neighbour discovery, never filtered */
	RP_REASON_DROP_BLOCKED = 6,    /* dynamic blocklist */
	RP_REASON_DROP_RATE_LIMIT = 7, /* token bucket empty */
	RP_REASON_DROP_CONFINED = 8,   /* egress of a confined cgroup, no rule */
	RP_REASON_MAX = 16,
};

/* Helper failures that lose data or state, counted per CPU. Append-only. */
enum rp_error {
	RP_ERR_RINGBUF_FULL = 0,   /* a drop event was not reserved */
	RP_ERR_BUCKET_UPDATE = 1,  /* a new token bucket was not inserted */
	RP_ERR_BUCKET_CONTENDED = 2, /* compare-and-swap lost 4 times: dropped */
	RP_ERR_MAX = 8,
};

/* A sampled drop, sent through the rampart_events ring buffer. */
struct rp_drop_event {
	__u64 timestamp_ns; /* bpf_ktime_get_ns */
	__u32 ifindex;
	__u32 rule_id;      /* rate limit id for RP_REASON_DROP_RATE_LIMIT, else 0 */
	__u8 reason;        /* enum rp_reason */
	__u8 direction;     /* enum rp_direction */
	__u8 proto;
	__u8 pad;
	__u16 sport;
	__u16 dport;
	__u8 src[16];
	__u8 dst[16];
};

/* ---- TLS plaintext capture (bpf/progs/capture.bpf.c) ---- */

#define RP_CAPTURE_MAX_CHUNK 16384 /* bytes of plaintext one event can carry */
/* Bytes of a peer certificate's DER one record can carry; leaf certificates
 * are 0.5-2 KiB, rarely over 4 with many SANs. A longer one is counted and
 * not parsed. */
#define RP_PEER_CERT_MAX 8192

enum rp_capture_direction {
	RP_CAPTURE_WRITE = 0, /* SSL_write: plaintext the process sends */
	RP_CAPTURE_READ = 1,  /* SSL_read: plaintext the process received */
};

enum rp_capture_flags {
	RP_CAPTURE_TRUNCATED = 1,   /* the call moved more than was captured */
	RP_CAPTURE_TUPLE_KNOWN = 2, /* the connection's 5-tuple is filled in */
	RP_CAPTURE_PEER_CERT = 4,   /* not plaintext: the DER of the certificate the
				     * peer presented in this SSL's handshake (len is
				     * its size, captured what follows; direction
				     * read; stream_offset 0) */
};

/* The connection of an SSL object, learned from the socket send or receive
 * its SSL call made on the same thread. Addresses IPv4-mapped. */
struct rp_conn_tuple {
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port; /* host byte order */
	__u16 remote_port;
	__u8 proto;
	__u8 pad[3];
};

/* The header of one captured chunk; `captured` plaintext bytes follow it in
 * the same ring-buffer record. */
struct rp_capture_header {
	__u64 timestamp_ns; /* bpf_ktime_get_ns at the call's return */
	__u64 ssl;          /* the SSL pointer: the connection within the process */
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	char comm[16];
	__u32 len;          /* bytes the call moved */
	__u32 captured;     /* bytes that follow (<= len, <= RP_CAPTURE_MAX_CHUNK) */
	__u8 direction;     /* enum rp_capture_direction */
	__u8 flags;         /* enum rp_capture_flags */
	__u8 pad[2];
	__u32 generation;   /* bumped when the SSL object starts a new connection
			     * (a reused pointer): a new stream begins */
	__u64 stream_offset; /* bytes moved before this call on (pid, ssl, direction):
			      * a jump tells user space exactly what was lost */
	struct rp_conn_tuple tuple;
};

/* Capture counters, per CPU, indexed by enum rp_capture_stat. Append-only. */
enum rp_capture_stat {
	RP_CAP_CALLS = 0,           /* SSL calls that moved data */
	RP_CAP_BYTES = 1,           /* plaintext bytes those calls moved */
	RP_CAP_BYTES_CAPTURED = 2,  /* bytes delivered to the ring buffer */
	RP_CAP_BYTES_TRUNCATED = 3, /* bytes beyond the per-call cap */
	RP_CAP_CHUNKS_LOST = 4,     /* ring buffer full: chunks dropped */
	RP_CAP_BYTES_LOST = 5,      /* plaintext bytes of those chunks */
	RP_CAP_TUPLE_MISSES = 6,    /* chunks sent without a known 5-tuple */
	RP_CAP_PEER_CERTS = 7,      /* peer certificates seen in handshakes */
	RP_CAP_PEER_CERTS_TRUNCATED = 8, /* of which longer than RP_PEER_CERT_MAX */
	RP_CAP_PEER_CERTS_LOST = 9, /* of which lost to a full ring buffer */
	RP_CAP_STAT_MAX = 10,
};

#endif /* RAMPART_ABI_H */
