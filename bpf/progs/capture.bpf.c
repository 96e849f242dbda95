// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* (BPF_KPROBE/BPF_KRETPROBE only unpack pt_regs; libbpf 1.1 has no BPF_UPROBE.)
 * TLS plaintext capture: uprobes on OpenSSL's SSL_write/SSL_read and their
 * _ex forms save each call at entry; the socket send or receive the call makes
 * on the same thread (tp_btf/sock_send_length, sock_recv_length) names its
 * connection; the return probe copies the plaintext the call moved into the
 * ring buffer, at most max_bytes_per_call, counting what it could not.
 * A uprobe on libcrypto's d2i_X509, on threads inside an SSL call, sends
 * the first certificate the call parses: the peer's leaf (see
 * rampart_d2i_x509). Each record names its thread and cgroup from what the
 * thread's call record keeps, which two host-wide tracepoints keep current
 * (rampart_task_rename, rampart_cgroup_attach_task). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "rampart/capture_maps.h"

#define RP_AF_INET 2
#define RP_AF_INET6 10

/* Set by the agent before load (--capture-max-bytes). */
const volatile __u32 max_bytes_per_call = RP_CAPTURE_MAX_CHUNK;
/* Unread bytes in the ring buffer above which a chunk wakes the reader.
 * Below, chunks wait for the reader's next poll (a few milliseconds): a
 * wakeup per chunk costs an inter-processor interrupt, which in a VM is a
 * hypervisor exit worth several microseconds on every SSL call. */
const volatile __u64 wakeup_bytes = 1 << 20;

static __always_inline void rp_stat_add(__u32 key, __u64 value)
{
	__u64 *slot = bpf_map_lookup_elem(&rampart_capstat, &key);
	if (slot)
		*slot += value;
}

/* Bumped whenever a task moves to another cgroup: every thread's kept
 * cgroup id (rp_ssl_call.identity_epoch) is then out of date. Starts at 1, as
 * a fresh call record's 0 means "never read". Written only on cgroup moves,
 * which are rare, so the calls that read it find it in their cache. */
__u64 identity_epoch = 1;

/* This thread's call record, created on its first SSL call. */
static __always_inline struct rp_ssl_call *rp_thread_call(__u64 create)
{
	return bpf_task_storage_get(&rampart_sslcall, bpf_get_current_task_btf(), 0, create);
}

static __always_inline int rp_call_begin(__u64 ssl, __u64 buf, __u64 size_out, __u8 direction)
{
	struct rp_ssl_call *call = rp_thread_call(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call)
		return 0; /* no memory for the thread's slot: the call goes uncaptured */
	/* Active already: a call whose return never came (the thread longjmp'd
	 * out of it), or an SSL call made from inside another; the newer one
	 * takes the record, as the return probes pair with the innermost call. */
	call->ssl = ssl;
	call->buf = buf;
	call->size_out = size_out;
	call->direction = direction;
	call->tuple_known = 0;
	call->peer_cert_seen = 0;
	call->active = 1;
	return 0;
}

static __always_inline void rp_call_forget(struct rp_ssl_call *call)
{
	call->active = 0;
}

/* A field of the socket: a plain load where sk is a pointer the verifier
 * knows by its BTF type (tp_btf and fentry arguments), else a probe read
 * (kprobes). The load saves a helper call per field, which is most of what a
 * socket hook costs, and the hooks run on every send and receive of an SSL
 * call. Both forms are CO-RE relocated. */
#define RP_SK_READ(btf, sk, field) ((btf) ? (sk)->field : BPF_CORE_READ(sk, field))

static __always_inline void rp_fill_tuple(struct sock *sk, const int btf, struct rp_conn_tuple *tuple, int *ok)
{
	__u16 family = RP_SK_READ(btf, sk, __sk_common.skc_family);
	__builtin_memset(tuple, 0, sizeof(*tuple));
	if (family == RP_AF_INET) {
		__be32 local = RP_SK_READ(btf, sk, __sk_common.skc_rcv_saddr);
		__be32 remote = RP_SK_READ(btf, sk, __sk_common.skc_daddr);
		tuple->local_addr[10] = tuple->local_addr[11] = 0xff;
		tuple->remote_addr[10] = tuple->remote_addr[11] = 0xff;
		__builtin_memcpy(tuple->local_addr + 12, &local, 4);
		__builtin_memcpy(tuple->remote_addr + 12, &remote, 4);
	} else if (family == RP_AF_INET6) {
		__u32 *local = (__u32 *)tuple->local_addr, *remote = (__u32 *)tuple->remote_addr;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			local[i] = RP_SK_READ(btf, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i]);
			remote[i] = RP_SK_READ(btf, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32[i]);
		}
	} else {
		*ok = 0;
		return;
	}
	tuple->local_port = RP_SK_READ(btf, sk, __sk_common.skc_num);
	tuple->remote_port = bpf_ntohs(RP_SK_READ(btf, sk, __sk_common.skc_dport));
	tuple->proto = RP_SK_READ(btf, sk, sk_protocol);
	*ok = 1;
}

/* The socket an SSL call touches: remember it for the call and the SSL object.
 * The hooks fire for every socket on the host. A thread that never made a
 * probed SSL call has no task storage, and the lookup returns at its first
 * load, from the task it runs; a count of calls in flight would have been a
 * cache line written on every SSL call and read by every CPU's sockets. */
static __always_inline int rp_on_socket(struct sock *sk, const int btf, __u8 direction)
{
	struct rp_ssl_call *call = rp_thread_call(0);
	if (!call || !call->active || call->tuple_known)
		return 0;
	if (call->direction != direction && call->direction != RP_CAPTURE_HANDSHAKE)
		return 0;
	if (btf && !sk)
		return 0;
	int ok = 0;
	rp_fill_tuple(sk, btf, &call->tuple, &ok);
	if (!ok)
		return 0;
	call->tuple_known = 1;
	return 0;
}

/* The SSL object's state, created on first use. */
static __always_inline struct rp_ssl_state *rp_ssl_state(__u64 ssl, __u32 pid)
{
	struct rp_ssl_key key = { .ssl = ssl, .pid = pid };
	struct rp_ssl_state *state = bpf_map_lookup_elem(&rampart_ssltup, &key);
	if (state)
		return state;
	struct rp_ssl_state fresh = {};
	bpf_map_update_elem(&rampart_ssltup, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&rampart_ssltup, &key);
}

static __always_inline int rp_tuple_equal(const struct rp_conn_tuple *a, const struct rp_conn_tuple *b)
{
	/* 40 bytes, pad zeroed by rp_fill_tuple: compare as five words. */
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* The call learned its socket: a different socket than the SSL object had
 * means the pointer was freed and reused for a new connection, whose streams
 * start again at offset 0 under the next generation. */
static __always_inline void rp_learn_tuple(struct rp_ssl_state *state, const struct rp_conn_tuple *tuple)
{
	if (state->tuple_known && !rp_tuple_equal(&state->tuple, tuple)) {
		state->generation++;
		state->offset[0] = 0;
		state->offset[1] = 0;
	}
	state->tuple = *tuple;
	state->tuple_known = 1;
}

/* The header every record shares: who, when, which SSL and, when known, the
 * connection's 5-tuple (learned into the SSL's state on the way, which bumps
 * the generation of a reused SSL pointer before the record is filed). Returns
 * the SSL's state; NULL when its map had no room. */
static __always_inline struct rp_ssl_state *rp_fill_header(struct rp_capture_header *h,
							    struct rp_ssl_call *call, __u64 pid_tgid,
							    __u8 direction, __u32 len)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->timestamp_ns = bpf_ktime_get_ns();
	h->ssl = call->ssl;
	/* The epoch is read before the cgroup: a move that lands in between
	 * bumps it again, and the next call reads the new cgroup. */
	__u64 epoch = identity_epoch;
	if (call->identity_epoch != epoch) {
		call->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(call->comm, sizeof(call->comm));
		call->identity_epoch = epoch;
	}
	h->cgroup_id = call->cgroup_id;
	__builtin_memcpy(h->comm, call->comm, sizeof(h->comm));
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->direction = direction;
	h->len = len;

	struct rp_ssl_state *state = rp_ssl_state(call->ssl, h->pid);
	if (call->tuple_known) {
		h->tuple = call->tuple;
		h->flags |= RP_CAPTURE_TUPLE_KNOWN;
		if (state)
			rp_learn_tuple(state, &call->tuple);
	} else if (state && state->tuple_known) {
		h->tuple = state->tuple;
		h->flags |= RP_CAPTURE_TUPLE_KNOWN;
	}
	if (state)
		h->generation = state->generation;
	return state;
}

static __always_inline int rp_handshake_end(void)
{
	struct rp_ssl_call *call = rp_thread_call(0);
	if (!call || !call->active)
		return 0;
	if (call->tuple_known) {
		struct rp_ssl_state *state = rp_ssl_state(call->ssl, bpf_get_current_pid_tgid() >> 32);
		if (state)
			rp_learn_tuple(state, &call->tuple);
	}
	rp_call_forget(call);
	return 0;
}

/* Sends a record: the header, then n bytes read from user memory at src,
 * in a ring-buffer reservation of room bytes of payload. The ring's reserve
 * takes only a constant size, so callers pick the smallest of a few sizes
 * (rp_send_chunk); reading the plaintext straight into the reservation
 * saves copying it through a per-CPU buffer. Returns the bytes sent, or -1
 * when the ring had no room. */
static __always_inline long rp_send(const struct rp_capture_header *h, const void *src, __u32 n, const __u32 room,
				    __u64 wake)
{
	struct rp_capture_header *rec = bpf_ringbuf_reserve(&rampart_capture, sizeof(*h) + room, 0);
	if (!rec)
		return -1;
	__builtin_memcpy(rec, h, sizeof(*h));
	n &= (room * 2 - 1); /* bounds the verifier can see */
	if (n > room)
		n = room;
	if (n && bpf_probe_read_user((__u8 *)(rec + 1), n, src) != 0)
		n = 0; /* unreadable buffer: header only, all bytes counted as not captured */
	rec->captured = n;
	bpf_ringbuf_submit(rec, wake);
	return n;
}

/* Reservation sizes double from 256 bytes, so padding is less than half a
 * record above that; the reader skips it (header.captured says what
 * follows). */
static __always_inline long rp_send_sized(const struct rp_capture_header *h, const void *src, __u32 n, __u64 wake)
{
	if (n <= 256)
		return rp_send(h, src, n, 256, wake);
	if (n <= 1024)
		return rp_send(h, src, n, 1024, wake);
	if (n <= 2048)
		return rp_send(h, src, n, 2048, wake);
	if (n <= 4096)
		return rp_send(h, src, n, 4096, wake);
	if (n <= 8192)
		return rp_send(h, src, n, 8192, wake);
	return rp_send(h, src, n, RP_CAPTURE_MAX_CHUNK, wake);
}

static __always_inline int rp_call_end(long ret, int is_ex)
{
	struct rp_ssl_call *call = rp_thread_call(0);
	if (!call || !call->active)
		return 0;
	if (call->direction == RP_CAPTURE_HANDSHAKE)
		return 0; /* an SSL_read/SSL_write inside a handshake: the handshake's return forgets it */
	__u64 moved = 0;
	if (is_ex) {
		if (ret == 1 && call->size_out)
			bpf_probe_read_user(&moved, sizeof(moved), (void *)call->size_out);
	} else if (ret > 0) {
		moved = (__u64)ret;
	}
	if (moved == 0)
		goto done;

	struct rp_capture_header h;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct rp_ssl_state *state = rp_fill_header(&h, call, pid_tgid, call->direction,
						    moved > 0xffffffffu ? 0xffffffffu : (__u32)moved);
	if (!(h.flags & RP_CAPTURE_TUPLE_KNOWN))
		rp_stat_add(RP_CAP_TUPLE_MISSES, 1);
	if (state) {
		__u32 dir = call->direction & 1;
		h.stream_offset = state->offset[dir];
		state->offset[dir] += moved;
	}

	__u32 cap = max_bytes_per_call;
	if (cap > RP_CAPTURE_MAX_CHUNK)
		cap = RP_CAPTURE_MAX_CHUNK;
	__u32 n = moved < cap ? (__u32)moved : cap;
	if (n < moved)
		h.flags |= RP_CAPTURE_TRUNCATED;

	rp_stat_add(RP_CAP_CALLS, 1);
	rp_stat_add(RP_CAP_BYTES, moved);
	__u64 wake = bpf_ringbuf_query(&rampart_capture, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
											  : BPF_RB_NO_WAKEUP;
	long sent = rp_send_sized(&h, (const void *)call->buf, n, wake);
	if (sent < 0) {
		rp_stat_add(RP_CAP_CHUNKS_LOST, 1);
		rp_stat_add(RP_CAP_BYTES_LOST, n);
	} else {
		rp_stat_add(RP_CAP_BYTES_CAPTURED, sent);
	}
	/* Beyond the cap, or unreadable; a lost chunk's n bytes count as lost. */
	__u64 truncated = moved - (sent < 0 ? n : (__u64)sent);
	if (truncated)
		rp_stat_add(RP_CAP_BYTES_TRUNCATED, truncated);
done:
	rp_call_forget(call);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(rampart_ssl_write, void *ssl, const void *buf, int num)
{
	return rp_call_begin((__u64)ssl, (__u64)buf, 0, RP_CAPTURE_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(rampart_ssl_write_ret, int ret)
{
	return rp_call_end(ret, 0);
}

SEC("uprobe")
int BPF_KPROBE(rampart_ssl_write_ex, void *ssl, const void *buf, size_t num, size_t *written)
{
	return rp_call_begin((__u64)ssl, (__u64)buf, (__u64)written, RP_CAPTURE_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(rampart_ssl_write_ex_ret, int ret)
{
	return rp_call_end(ret, 1);
}

SEC("uprobe")
int BPF_KPROBE(rampart_ssl_read, void *ssl, void *buf, int num)
{
	return rp_call_begin((__u64)ssl, (__u64)buf, 0, RP_CAPTURE_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(rampart_ssl_read_ret, int ret)
{
	return rp_call_end(ret, 0);
}

SEC("uprobe")
int BPF_KPROBE(rampart_ssl_read_ex, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return rp_call_begin((__u64)ssl, (__u64)buf, (__u64)readbytes, RP_CAPTURE_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(rampart_ssl_read_ex_ret, int ret)
{
	return rp_call_end(ret, 1);
}

SEC("uprobe")
int BPF_KPROBE(rampart_ssl_handshake, void *ssl)
{
	return rp_call_begin((__u64)ssl, 0, 0, RP_CAPTURE_HANDSHAKE);
}

SEC("uretprobe")
int BPF_KRETPROBE(rampart_ssl_handshake_ret, int ret)
{
	return rp_handshake_end();
}

/* The peer's certificate. OpenSSL parses each certificate of a received
 * Certificate message with libcrypto's exported
 * d2i_X509(X509 **a, const unsigned char **in, long len), leaf first
 * (tls_process_client_certificate, tls_process_server_certificate; 1.1
 * passes a NULL `a`, 3.x a fresh X509): `*in` points at exactly `len` bytes
 * of DER. Only a thread inside an SSL call counts (SSL_do_handshake, which
 * SSL_accept and SSL_connect run, or SSL_read/SSL_write driving an implicit
 * handshake or post-handshake auth); elsewhere d2i_X509 is the process's
 * own business and the probe returns after one lookup. */
SEC("uprobe")
int BPF_KPROBE(rampart_d2i_x509, void *out, const unsigned char **in, long len)
{
	struct rp_ssl_call *call = rp_thread_call(0);
	if (!call || !call->active || call->peer_cert_seen || len <= 0)
		return 0;
	call->peer_cert_seen = 1;
	const unsigned char *der = 0;
	if (bpf_probe_read_user(&der, sizeof(der), in) != 0 || !der)
		return 0;

	struct rp_capture_header h;
	/* Filed under the connection's generation: a reused SSL pointer's
	 * certificate lands on the new connection. */
	rp_fill_header(&h, call, bpf_get_current_pid_tgid(), RP_CAPTURE_READ,
		       len > 0xffffffffL ? 0xffffffffu : (__u32)len);
	h.flags |= RP_CAPTURE_PEER_CERT;
	rp_stat_add(RP_CAP_PEER_CERTS, 1);
	__u32 n = h.len;
	if (n > RP_PEER_CERT_MAX) {
		h.flags |= RP_CAPTURE_TRUNCATED;
		rp_stat_add(RP_CAP_PEER_CERTS_TRUNCATED, 1);
		n = 0; /* a cut certificate cannot be parsed: send the count only */
	}
	long sent = n <= 2048 ? rp_send(&h, der, n, 2048, BPF_RB_NO_WAKEUP)
			      : rp_send(&h, der, n, RP_PEER_CERT_MAX, BPF_RB_NO_WAKEUP);
	if (sent < 0)
		rp_stat_add(RP_CAP_PEER_CERTS_LOST, 1);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(rampart_sock_send, struct sock *sk, int ret, int flags)
{
	return rp_on_socket(sk, 1, RP_CAPTURE_WRITE);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(rampart_sock_recv, struct sock *sk, int ret, int flags)
{
	return rp_on_socket(sk, 1, RP_CAPTURE_READ);
}

/* A thread's new name (prctl(PR_SET_NAME), a write to /proc/.../comm, exec)
 * replaces the one its call record keeps. The tracepoint fires before the
 * kernel copies the name into the task, so the record takes it from the
 * tracepoint, cut like the kernel cuts it (15 bytes and a NUL). */
SEC("tp_btf/task_rename")
int BPF_PROG(rampart_task_rename, struct task_struct *task, const char *comm)
{
	if (!task)
		return 0;
	struct rp_ssl_call *call = bpf_task_storage_get(&rampart_sslcall, task, 0, 0);
	if (!call)
		return 0;
	char name[16] = {};
	bpf_probe_read_kernel_str(name, sizeof(name), comm);
	__builtin_memcpy(call->comm, name, sizeof(name));
	return 0;
}

/* A task moved to another cgroup (cgroup.procs, cgroup.threads): the
 * tracepoint names the group leader only, while a whole process may have
 * moved, so every thread reads its cgroup again on its next SSL call. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(rampart_cgroup_attach_task)
{
	__sync_fetch_and_add(&identity_epoch, 1);
	return 0;
}

/* The same correlation on kernels without these tracepoints (before 6.3),
 * chosen by the agent's feature probe; only one set is loaded. */
SEC("fentry/sock_sendmsg")
int BPF_PROG(rampart_fentry_sock_sendmsg, struct socket *sock)
{
	return rp_on_socket(sock->sk, 1, RP_CAPTURE_WRITE);
}

SEC("fentry/sock_recvmsg")
int BPF_PROG(rampart_fentry_sock_recvmsg, struct socket *sock)
{
	return rp_on_socket(sock->sk, 1, RP_CAPTURE_READ);
}

SEC("kprobe/sock_sendmsg")
int BPF_KPROBE(rampart_kprobe_sock_sendmsg, struct socket *sock)
{
	return rp_on_socket(BPF_CORE_READ(sock, sk), 0, RP_CAPTURE_WRITE);
}

SEC("kprobe/sock_recvmsg")
int BPF_KPROBE(rampart_kprobe_sock_recvmsg, struct socket *sock)
{
	return rp_on_socket(BPF_CORE_READ(sock, sk), 0, RP_CAPTURE_READ);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
