// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark-only uprobes that do nothing but count themselves: the floor of
 * TLS capture's cost (kernel_tests/bench/capture_bench.sh). Attached exactly
 * where Rampart's capture.bpf.c attaches (entry and return of SSL_write,
 * SSL_read, their _ex forms and SSL_do_handshake, pid-filtered), so the
 * difference to Rampart is Rampart's own work: what its programs do per call,
 * its socket tracepoints and its ring-buffer reader. The count is one per-CPU
 * increment, a few ns beside the uprobe's trap, and tells hits per request. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "noop_ssl.h"

/* Slot (enum noop_ssl_slot) -> hits of that probe; written here, summed over
 * CPUs by noop_ssl_attach when it stops. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NOOP_SSL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} noop_ssl_hits SEC(".maps");

static __always_inline int noop_count(__u32 slot)
{
	__u64 *hits = bpf_map_lookup_elem(&noop_ssl_hits, &slot);
	if (hits)
		*hits += 1;
	return 0;
}

#define NOOP_PROBE(kind, name, slot) \
	SEC(kind)                        \
	int name(void *ctx)              \
	{                                \
		return noop_count(slot); \
	}

NOOP_PROBE("uprobe", noop_ssl_write, NOOP_SSL_WRITE)
NOOP_PROBE("uretprobe", noop_ssl_write_ret, NOOP_SSL_WRITE_RET)
NOOP_PROBE("uprobe", noop_ssl_read, NOOP_SSL_READ)
NOOP_PROBE("uretprobe", noop_ssl_read_ret, NOOP_SSL_READ_RET)
NOOP_PROBE("uprobe", noop_ssl_write_ex, NOOP_SSL_WRITE_EX)
NOOP_PROBE("uretprobe", noop_ssl_write_ex_ret, NOOP_SSL_WRITE_EX_RET)
NOOP_PROBE("uprobe", noop_ssl_read_ex, NOOP_SSL_READ_EX)
NOOP_PROBE("uretprobe", noop_ssl_read_ex_ret, NOOP_SSL_READ_EX_RET)
NOOP_PROBE("uprobe", noop_ssl_hs, NOOP_SSL_HANDSHAKE)
NOOP_PROBE("uretprobe", noop_ssl_hs_ret, NOOP_SSL_HANDSHAKE_RET)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
