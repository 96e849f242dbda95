// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An empty TC program (direct action, TC_ACT_OK): the baseline of the
 * throughput benchmark at the TC hooks (kernel_tests/bench/throughput_bench.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int rampart_tc_empty(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
