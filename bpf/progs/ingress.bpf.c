// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Ingress enforcement at XDP: parse, then the segmentation allowlist. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "../lib/packet.h"
#include "../lib/segmentation.h"

SEC("xdp")
int rampart_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_flow flow = {};

	int parsed = rp_parse_packet(data, data_end, &flow);
	if (parsed == RP_PARSE_NOT_IP) {
		rp_count(&rampart_reasons, RP_REASON_PASS_NOT_IP);
		return XDP_PASS;
	}
	if (parsed == RP_PARSE_MALFORMED) {
		rp_count(&rampart_reasons, RP_REASON_DROP_MALFORMED);
		return XDP_DROP;
	}
	return rp_ingress_verdict(&flow) == RP_ACTION_ALLOW ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
