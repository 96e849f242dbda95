/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header parsing shared by the ingress and egress programs: Ethernet, up to
 * two 802.1Q/802.1ad tags, IPv4 and IPv6 with its extension headers, then the
 * TCP/UDP ports. Every read is bounds-checked against data_end. */
#ifndef RAMPART_BPF_PACKET_H
#define RAMPART_BPF_PACKET_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define RP_ETH_P_IP 0x0800
#define RP_ETH_P_IPV6 0x86DD
#define RP_ETH_P_8021Q 0x8100
#define RP_ETH_P_8021AD 0x88A8
#define RP_IPPROTO_HOPOPTS 0
#define RP_IPPROTO_TCP 6
#define RP_IPPROTO_UDP 17
#define RP_IPPROTO_ROUTING 43
#define RP_IPPROTO_FRAGMENT 44
#define RP_IPPROTO_ICMPV6 58
#define RP_IPPROTO_DSTOPTS 60
#define RP_IP_MF 0x2000
#define RP_IP_OFFSET 0x1FFF
#define RP_MAX_VLAN_TAGS 2
#define RP_MAX_IPV6_EXT 6

enum rp_parse_result {
	RP_PARSE_OK = 0,
	RP_PARSE_NOT_IP = 1,
	RP_PARSE_MALFORMED = 2,
};

/* What the policy needs to know about a packet. */
struct rp_flow {
	__u8 saddr[16]; /* IPv4-mapped for IPv4 */
	__u8 daddr[16];
	__u16 sport;    /* host byte order, 0 when the packet has no ports */
	__u16 dport;
	__u8 proto;
	__u8 is_ipv6;
	__u8 later_fragment; /* a fragment other than the first: no L4 header */
	__u8 icmp6_type;
};

struct rp_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline void rp_map_ipv4(__u8 dst[16], __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

static __always_inline int rp_parse_l4(void *l4, void *data_end, struct rp_flow *flow)
{
	if (flow->later_fragment)
		return RP_PARSE_OK;
	if (flow->proto == RP_IPPROTO_TCP || flow->proto == RP_IPPROTO_UDP) {
		/* Source and destination ports sit at the same offsets in both. */
		__be16 *ports = l4;
		if ((void *)(ports + 2) > data_end)
			return RP_PARSE_MALFORMED;
		flow->sport = bpf_ntohs(ports[0]);
		flow->dport = bpf_ntohs(ports[1]);
	} else if (flow->proto == RP_IPPROTO_ICMPV6) {
		__u8 *type = l4;
		if ((void *)(type + 1) > data_end)
			return RP_PARSE_MALFORMED;
		flow->icmp6_type = *type;
	}
	return RP_PARSE_OK;
}

static __always_inline int rp_parse_ipv4(void *l3, void *data_end, struct rp_flow *flow)
{
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > data_end)
		return RP_PARSE_MALFORMED;
	__u32 ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return RP_PARSE_MALFORMED;
	rp_map_ipv4(flow->saddr, ip->saddr);
	rp_map_ipv4(flow->daddr, ip->daddr);
	flow->proto = ip->protocol;
	flow->later_fragment = (bpf_ntohs(ip->frag_off) & RP_IP_OFFSET) != 0;
	return rp_parse_l4(l3 + ihl, data_end, flow);
}

static __always_inline int rp_parse_ipv6(void *l3, void *data_end, struct rp_flow *flow)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > data_end)
		return RP_PARSE_MALFORMED;
	if (ip6->version != 6)
		return RP_PARSE_MALFORMED;
	__builtin_memcpy(flow->saddr, &ip6->saddr, 16);
	__builtin_memcpy(flow->daddr, &ip6->daddr, 16);
	flow->is_ipv6 = 1;
	/* An IPv4-mapped source never appears on the wire (RFC 4291 2.5.5.2);
	 * since IPv4 rules live in that block, it would pose as an IPv4 peer. */
	__u32 *words = (__u32 *)flow->saddr;
	if (words[0] == 0 && words[1] == 0 && words[2] == bpf_htonl(0xffff))
		return RP_PARSE_MALFORMED;

	__u8 next = ip6->nexthdr;
	void *cursor = ip6 + 1;
	/* Extension headers: hop-by-hop, routing and destination options share
	 * the (next, len in 8-octet units beyond the first 8) layout; a fragment
	 * header is always 8 octets. Anything past RP_MAX_IPV6_EXT is malformed,
	 * not silently treated as the upper layer. */
#pragma unroll
	for (int i = 0; i < RP_MAX_IPV6_EXT; i++) {
		if (next == RP_IPPROTO_HOPOPTS || next == RP_IPPROTO_ROUTING ||
		    next == RP_IPPROTO_DSTOPTS) {
			__u8 *ext = cursor;
			if ((void *)(ext + 2) > data_end)
				return RP_PARSE_MALFORMED;
			next = ext[0];
			cursor += ((__u32)ext[1] + 1) * 8;
		} else if (next == RP_IPPROTO_FRAGMENT) {
			struct frag_hdr *frag = cursor;
			if ((void *)(frag + 1) > data_end)
				return RP_PARSE_MALFORMED;
			next = frag->nexthdr;
			if (bpf_ntohs(frag->frag_off) & ~0x7)
				flow->later_fragment = 1;
			cursor += sizeof(*frag);
		} else {
			flow->proto = next;
			return rp_parse_l4(cursor, data_end, flow);
		}
	}
	return RP_PARSE_MALFORMED;
}

/* Parses from the Ethernet header. */
static __always_inline int rp_parse_packet(void *data, void *data_end, struct rp_flow *flow)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return RP_PARSE_MALFORMED;
	__u16 proto = bpf_ntohs(eth->h_proto);
	void *cursor = eth + 1;

#pragma unroll
	for (int i = 0; i < RP_MAX_VLAN_TAGS; i++) {
		if (proto != RP_ETH_P_8021Q && proto != RP_ETH_P_8021AD)
			break;
		struct rp_vlan_hdr *vlan = cursor;
		if ((void *)(vlan + 1) > data_end)
			return RP_PARSE_MALFORMED;
		proto = bpf_ntohs(vlan->encap_proto);
		cursor = vlan + 1;
	}

	if (proto == RP_ETH_P_IP)
		return rp_parse_ipv4(cursor, data_end, flow);
	if (proto == RP_ETH_P_IPV6)
		return rp_parse_ipv6(cursor, data_end, flow);
	return RP_PARSE_NOT_IP;
}

#endif /* RAMPART_BPF_PACKET_H */
