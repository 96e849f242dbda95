// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An empty XDP program: the baseline of every datapath benchmark. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int rampart_xdp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
