/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the TLS capture programs. Not pinned: capture lives and dies with
 * the agent, and nothing is enforced through these maps. */
#ifndef RAMPART_CAPTURE_MAPS_H
#define RAMPART_CAPTURE_MAPS_H

#include "rampart/abi.h"

/* An SSL call in flight, saved at entry for its return probe. */
struct rp_ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 size_out;  /* SSL_*_ex: where the byte count is written; 0 otherwise */
	__u8 direction;  /* enum rp_capture_direction, or RP_CAPTURE_HANDSHAKE */
	__u8 tuple_known;
	__u8 peer_cert_seen; /* d2i_X509 ran in this call: later ones are the chain */
	__u8 active;         /* between an entry probe and its return */
	__u8 pad[4];
	struct rp_conn_tuple tuple;
	/* Who the thread is, for every record it sends: read once and kept,
	 * since reading them per call reaches memory no other part of the call
	 * touches (the cgroup's kernfs node, the task's name). A rename writes
	 * the new name here (rampart_task_rename); a move to another cgroup
	 * bumps identity_epoch, and a call that finds its epoch old reads both
	 * again. */
	__u64 identity_epoch; /* 0: never read */
	__u64 cgroup_id;
	char comm[16];
};

/* SSL_do_handshake in flight: it moves no plaintext, but its socket calls
 * name the connection before the first read, which OpenSSL may serve from
 * the bytes the handshake already pulled in (TLS 1.3 Finished + request). */
#define RP_CAPTURE_HANDSHAKE 2

/* A thread's SSL call in flight, in the thread's own local storage: written
 * by the entry probes and the socket tracepoints, read and marked done by
 * the return probes. Task storage rather than a hash keyed by thread id: a
 * hash insert and delete on every call take a bucket lock and a free-list
 * round trip; the task's slot is created once per thread and then found
 * through its cache without a lock, and it goes away with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rp_ssl_call);
} rampart_sslcall SEC(".maps");

/* SSL pointer (with pid) -> its connection, cached because a read served
 * from OpenSSL's buffer makes no syscall, and the bytes each direction has
 * moved so far. LRU: SSL objects are freed without a probe. */
struct rp_ssl_key {
	__u64 ssl;
	__u32 pid;
	__u32 pad;
};

struct rp_ssl_state {
	struct rp_conn_tuple tuple;
	__u64 offset[2]; /* per enum rp_capture_direction */
	__u32 generation; /* connections this SSL object has carried, less one */
	__u8 tuple_known;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rp_ssl_key);
	__type(value, struct rp_ssl_state);
} rampart_ssltup SEC(".maps");

/* Captured chunks for the agent. Size set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} rampart_capture SEC(".maps");

/* enum rp_capture_stat -> count, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_CAP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rampart_capstat SEC(".maps");

#endif /* RAMPART_CAPTURE_MAPS_H */
