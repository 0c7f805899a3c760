/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet with up to two VLAN tags (802.1Q / 802.1ad), then the IPv4 or IPv6
 * header — everything the MTU decision needs, read once. The upper layer is found only for
 * oversize packets (mg_parse_upper): the common within-MTU path never walks IPv6 extension
 * headers. A header that is truncated or contradicts itself is reported as MG_REASON_MALFORMED
 * and the packet is passed untouched for the kernel's own checks to judge; nothing is ever
 * guessed past the end of the data.
 */
#ifndef MTUGUARD_PARSE_BPF_H
#define MTUGUARD_PARSE_BPF_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>

#include "mtuguard_kern_user.h"

/* Returned by the parsers when the packet is IP and worth a session lookup. */
#define MG_PARSED MG_REASON_COUNT

#define MG_MAX_VLAN_TAGS 2
/* IPv6 extension headers walked before giving up on the upper layer. */
#define MG_MAX_EXT_HEADERS 8

struct mg_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/*
 * The furthest the IP header can start: Ethernet and every tag parsed. Where an offset comes back
 * from the stack as a full-range scalar, masking it with MG_L3_OFF_MASK gives the verifier its
 * bound again; the mask is a no-op only while it covers every offset the parser can produce.
 */
#define MG_L3_OFF_MAX (ETH_HLEN + MG_MAX_VLAN_TAGS * sizeof(struct mg_vlan_hdr))
#define MG_L3_OFF_MASK 0x1f
_Static_assert(MG_L3_OFF_MAX <= MG_L3_OFF_MASK && (MG_L3_OFF_MASK & (MG_L3_OFF_MASK + 1)) == 0,
	       "MG_L3_OFF_MASK must keep every IP header offset the parser produces");
/*
 * The furthest an upper-layer header is looked for (mg_parse_upper6 stops there): keeps the
 * verifier's bound on every offset into the headers under its 64 KiB packet limit. Offsets
 * below it are masked with it where the verifier needs the bound again.
 */
#define MG_HEADER_OFF_MAX 0x3fff
_Static_assert((MG_HEADER_OFF_MAX & (MG_HEADER_OFF_MAX + 1)) == 0, "MG_HEADER_OFF_MAX is a mask too");
_Static_assert(MG_L3_OFF_MAX + 60 <= MG_HEADER_OFF_MAX, "an IPv4 header with options lies within it");

struct mg_packet {
	__u32 frame_len;
	__u32 l3_off;  /* offset of the IP header in the frame */
	__u32 l3_len;  /* IPv4 total length; IPv6 payload length + 40 */
	__u8 family;   /* enum mg_family */
	__u8 nvlan;
	__u8 df;       /* IPv4 don't-fragment flag */
	__u8 eth_group; /* destination MAC is multicast or broadcast */
	__u8 from_client; /* arrived on a --client-iface */
	__u8 next_header; /* IPv4 protocol, IPv6 next header: lets a non-TCP packet skip MSS work */
	__u8 pad[2];
	/*
	 * The session address: the destination toward clients, the source from them. IPv4 keeps
	 * the bare address (its session map is keyed by it); the mapped form is made only when an
	 * oversize packet or a pool needs it (mg_peer_mapped).
	 */
	__be32 peer4;
	struct mg_addr peer6;
};

/* The peer as the 16-byte maps key it: IPv6 as is, IPv4 mapped as ::ffff:a.b.c.d. */
static __always_inline void mg_peer_mapped(const struct mg_packet *pkt, struct mg_addr *out);

/* The upper layer of an oversize packet, as far as the rules on ICMP errors need it. */
struct mg_upper {
	__u8 known;           /* the header chain was walked to its end */
	__u8 proto;           /* upper-layer protocol, valid when known */
	__u8 later_fragment;  /* a fragment other than the first: no upper-layer header */
	__u8 has_icmp_type;
	__u8 icmp_type;
	__u16 l4_off;         /* offset of the upper-layer header, valid when known */
};

/*
 * The IP header of a parsed packet. The offset comes back from the stack as a full-range
 * scalar; the mask (a no-op for every offset up to MG_L3_OFF_MAX) gives the verifier its bound
 * again.
 */
static __always_inline void *mg_l3(void *data, const struct mg_packet *pkt)
{
	return data + (pkt->l3_off & MG_L3_OFF_MASK);
}

static __always_inline void mg_map_ipv4(struct mg_addr *a, __be32 v4)
{
	__builtin_memset(a, 0, 10);
	a->bytes[10] = 0xff;
	a->bytes[11] = 0xff;
	__builtin_memcpy(&a->bytes[12], &v4, 4);
}

static __always_inline void mg_peer_mapped(const struct mg_packet *pkt, struct mg_addr *out)
{
	if (pkt->family == MG_FAMILY_IPV4)
		mg_map_ipv4(out, pkt->peer4);
	else
		*out = pkt->peer6;
}

static __always_inline int mg_parse_ipv4(void *data, void *data_end, struct mg_packet *pkt)
{
	struct iphdr *iph = data + pkt->l3_off;
	__u32 avail = pkt->frame_len - pkt->l3_off;
	__u32 hlen, total;

	if ((void *)(iph + 1) > data_end)
		return MG_REASON_MALFORMED;
	hlen = iph->ihl * 4;
	total = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || total < hlen || total > avail)
		return MG_REASON_MALFORMED;
	pkt->l3_len = total;
	pkt->df = !!(iph->frag_off & bpf_htons(MG_IP_DF));
	pkt->next_header = iph->protocol;
	pkt->peer4 = pkt->from_client ? iph->saddr : iph->daddr;
	return MG_PARSED;
}

static __always_inline int mg_parse_ipv6(void *data, void *data_end, struct mg_packet *pkt)
{
	struct ipv6hdr *ip6 = data + pkt->l3_off;
	__u32 avail = pkt->frame_len - pkt->l3_off;
	__u32 total;

	if ((void *)(ip6 + 1) > data_end)
		return MG_REASON_MALFORMED;
	total = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	if (ip6->version != 6 || total > avail)
		return MG_REASON_MALFORMED;
	pkt->l3_len = total;
	pkt->next_header = ip6->nexthdr;
	if (pkt->from_client)
		__builtin_memcpy(&pkt->peer6, &ip6->saddr, sizeof(pkt->peer6));
	else
		__builtin_memcpy(&pkt->peer6, &ip6->daddr, sizeof(pkt->peer6));
	return MG_PARSED;
}

/* A tun device (ocserv's vpnsN) hands XDP the bare IP packet: the version nibble tells which. */
static __always_inline int mg_parse_l3_only(void *data, void *data_end, struct mg_packet *pkt)
{
	__u8 *version = data;

	pkt->l3_off = 0;
	if ((void *)(version + 1) > data_end)
		return MG_REASON_NOT_IP;
	if (*version >> 4 == 4) {
		pkt->family = MG_FAMILY_IPV4;
		return mg_parse_ipv4(data, data_end, pkt);
	}
	if (*version >> 4 == 6) {
		pkt->family = MG_FAMILY_IPV6;
		return mg_parse_ipv6(data, data_end, pkt);
	}
	return MG_REASON_NOT_IP;
}

/*
 * An Ethernet frame, tags and all. pkt->from_client says which address is the peer and
 * pkt->frame_len how long the frame really is (XDP: all of it is at data; a tc skb may hold only
 * its headers there); the caller sets both (and zeroes what mtuguard_xdp zeroes) first.
 */
static __always_inline int mg_parse_frame(void *data, void *data_end, struct mg_packet *pkt)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return MG_REASON_NOT_IP;
	pkt->eth_group = eth->h_dest[0] & 1;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < MG_MAX_VLAN_TAGS; i++) {
		struct mg_vlan_hdr *vlan = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vlan + 1) > data_end)
			return MG_REASON_NOT_IP;
		proto = vlan->encapsulated_proto;
		off += sizeof(*vlan);
		pkt->nvlan++;
	}
	pkt->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		pkt->family = MG_FAMILY_IPV4;
		return mg_parse_ipv4(data, data_end, pkt);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		pkt->family = MG_FAMILY_IPV6;
		return mg_parse_ipv6(data, data_end, pkt);
	}
	return MG_REASON_NOT_IP;
}

static __always_inline int mg_parse(struct xdp_md *ctx, const struct mg_iface *iface,
				    struct mg_packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	pkt->frame_len = data_end - data;
	pkt->from_client = iface && iface->direction == MG_DIR_FROM_CLIENT;
	if (iface && iface->l3_only)
		return mg_parse_l3_only(data, data_end, pkt);
	return mg_parse_frame(data, data_end, pkt);
}

static __always_inline void mg_parse_upper4(void *data, void *data_end,
					    const struct mg_packet *pkt, struct mg_upper *up)
{
	struct iphdr *iph = mg_l3(data, pkt);
	__u8 *type;

	if ((void *)(iph + 1) > data_end)
		return;
	up->known = 1;
	up->proto = iph->protocol;
	if (iph->frag_off & bpf_htons(MG_IP_OFFSET)) {
		up->later_fragment = 1;
		return;
	}
	/* mg_parse_ipv4 checked ihl; the oversize packet is far longer than one header. */
	up->l4_off = pkt->l3_off + (iph->ihl & 0xf) * 4;
	type = (__u8 *)iph + (iph->ihl & 0xf) * 4;
	if (up->proto == IPPROTO_ICMP && (void *)(type + 1) <= data_end) {
		up->has_icmp_type = 1;
		up->icmp_type = *type;
	}
}

/*
 * Walks the IPv6 header chain (RFC 8200 4) within the packet's own length. Hop-by-hop,
 * routing and destination options count their length in 8-byte units after the first 8; AH
 * (RFC 4302) in 4-byte units after the first 8. A chain longer than MG_MAX_EXT_HEADERS leaves the
 * upper layer unknown.
 */
static __always_inline void mg_parse_upper6(void *data, void *data_end,
					    const struct mg_packet *pkt, struct mg_upper *up)
{
	struct ipv6hdr *ip6 = mg_l3(data, pkt);
	__u32 off, end;
	__u8 next;

	if ((void *)(ip6 + 1) > data_end)
		return;
	next = ip6->nexthdr;
	off = pkt->l3_off + sizeof(*ip6);
	end = pkt->l3_off + pkt->l3_len;
#pragma unroll
	for (int i = 0; i < MG_MAX_EXT_HEADERS; i++) {
		/*
		 * The mask keeps the verifier's bound on off + 8 under its 64 KiB packet limit; the
		 * test after it makes it a no-op for every offset that is used.
		 */
		__u8 *hdr = data + (off & MG_HEADER_OFF_MAX);

		if (off > MG_HEADER_OFF_MAX)
			return;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if ((void *)(hdr + 2) > data_end || off + 2 > end)
				return;
			off += next == IPPROTO_AH ? (hdr[1] + 2) * 4 : (hdr[1] + 1) * 8;
			next = hdr[0];
			continue;
		case IPPROTO_FRAGMENT:
			if ((void *)(hdr + 8) > data_end || off + 8 > end)
				return;
			next = hdr[0];
			off += 8;
			/* fragment offset: the high 13 bits of bytes 2-3 */
			if ((hdr[2] << 8 | hdr[3]) & 0xfff8) {
				up->known = 1;
				up->proto = next;
				up->later_fragment = 1;
				return;
			}
			continue;
		default:
			up->known = 1;
			up->proto = next;
			up->l4_off = off;
			if (next == IPPROTO_ICMPV6 && off + 1 <= end && (void *)(hdr + 1) <= data_end) {
				up->has_icmp_type = 1;
				up->icmp_type = hdr[0];
			}
			return;
		}
	}
}

static __always_inline void mg_parse_upper(void *data, void *data_end, const struct mg_packet *pkt,
					   struct mg_upper *up)
{
	if (pkt->family == MG_FAMILY_IPV4)
		mg_parse_upper4(data, data_end, pkt, up);
	else
		mg_parse_upper6(data, data_end, pkt, up);
}

#endif /* MTUGUARD_PARSE_BPF_H */
