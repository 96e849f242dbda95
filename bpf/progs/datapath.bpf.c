// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The enforcement programs. Ingress runs at XDP (native or generic) or at TC
 * ingress, whichever the device's hook is; egress runs at TC egress. All
 * share bpf/lib/verdict.h and the maps of rampart/datapath_maps.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "../lib/packet.h"
#include "../lib/verdict.h"

#define RP_TC_ACT_OK 0
#define RP_TC_ACT_SHOT 2
#define RP_TC_PULL_BYTES 128 /* Ethernet, 2 VLAN tags, IPv6 with extension headers, ports */

SEC("xdp")
int rampart_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct rp_meta meta = {
		.direction = RP_DIR_INGRESS,
		.ifindex = ctx->ingress_ifindex,
		.len = (__u32)(data_end - data),
	};
	return rp_decide(data, data_end, &meta) == RP_ACTION_ALLOW ? XDP_PASS : XDP_DROP;
}

/* The headers the parser reads must be in the linear part of the skb. A
 * pull past the packet's end fails harmlessly: short packets are linear. */
static __always_inline void rp_tc_pull(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + RP_TC_PULL_BYTES > data_end)
		bpf_skb_pull_data(skb, RP_TC_PULL_BYTES);
	asm volatile("" ::: "memory"); /* re-read data pointers below */
}

SEC("tc")
int rampart_tc_ingress(struct __sk_buff *skb)
{
	rp_tc_pull(skb);
	struct rp_meta meta = {
		.direction = RP_DIR_INGRESS,
		.ifindex = skb->ifindex,
		.len = skb->len,
	};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	return rp_decide(data, data_end, &meta) == RP_ACTION_ALLOW ? RP_TC_ACT_OK : RP_TC_ACT_SHOT;
}

SEC("tc")
int rampart_tc_egress(struct __sk_buff *skb)
{
	rp_tc_pull(skb);
	struct rp_meta meta = {
		.direction = RP_DIR_EGRESS,
		.ifindex = skb->ifindex,
		.len = skb->len,
		.cgroup_id = bpf_skb_cgroup_id(skb),
	};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	return rp_decide(data, data_end, &meta) == RP_ACTION_ALLOW ? RP_TC_ACT_OK : RP_TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
