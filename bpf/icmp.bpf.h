/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about oversize packets: whether one may be sent at all, and building it in place.
 *
 * When not to answer (RFC 1812 4.3.2.7, RFC 4443 2.4(e)): never about an ICMP error message,
 * about a non-first IPv4 fragment, about an IPv4 packet sent to multicast or broadcast (IP or
 * link layer), or to a source that is not a unicast host (0/8, 127/8, multicast, 240/4 and the
 * limited broadcast; ::, ::1, ff00::/8). IPv6 has exceptions that IPv4 lacks: Packet Too Big is
 * allowed for multicast destinations (2.4(e.2)) and for fragments, since the source fragmented
 * the packet and must learn the smaller MTU; Linux answers them too.
 *
 * The error is built in place: the L2 header (with its VLAN tags) is saved, the head grows by
 * the new IP + ICMP headers, the L2 header is written back addressed to the sender and from the
 * interface's own MAC address (struct mg_iface), and the original datagram stays where it was
 * as the quote. The tail is cut so the error is exactly
 * the minimum datagram size (576 / 1280 bytes): an oversize packet is always longer, so the
 * quote and therefore every checksum span has a constant length the verifier can check.
 */
#ifndef MTUGUARD_ICMP_BPF_H
#define MTUGUARD_ICMP_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.bpf.h"
#include "mtuguard_kern_user.h"
#include "parse.bpf.h"

/* linux/icmp.h drags in libc's socket headers, which do not build for the BPF target. */
#define MG_ICMP_DEST_UNREACH 3
#define MG_ICMP_SOURCE_QUENCH 4
#define MG_ICMP_REDIRECT 5
#define MG_ICMP_TIME_EXCEEDED 11
#define MG_ICMP_PARAMETERPROB 12
#define MG_ICMP_FRAG_NEEDED 4 /* code of DEST_UNREACH */
#define MG_ICMPV6_PKT_TOOBIG 2
#define MG_ICMPV6_INFO_FIRST 128 /* types below are errors (RFC 4443 2.1) */
#define MG_ICMPV6_REDIRECT 137

/* The first 8 bytes of both errors: the MTU sits in the low 16 bits (v4) or all 32 (v6). */
struct mg_icmp_hdr {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 mtu_word;
};

#define MG_ICMP4_LEN (sizeof(struct iphdr) + sizeof(struct mg_icmp_hdr) + MG_ICMP4_QUOTE)
#define MG_ICMP6_LEN (sizeof(struct ipv6hdr) + sizeof(struct mg_icmp_hdr) + MG_ICMP6_QUOTE)
#define MG_L2_MAX MG_L3_OFF_MAX
/* IP precedence "internetwork control", as Linux marks the ICMP errors it sends. */
#define MG_TOS_INTERNETWORK_CONTROL 0xc0

static __always_inline int mg_icmp4_is_error(__u8 type)
{
	return type == MG_ICMP_DEST_UNREACH || type == MG_ICMP_SOURCE_QUENCH ||
	       type == MG_ICMP_REDIRECT || type == MG_ICMP_TIME_EXCEEDED ||
	       type == MG_ICMP_PARAMETERPROB;
}

static __always_inline int mg_ipv4_bad_source(__be32 addr)
{
	__u8 first = bpf_ntohl(addr) >> 24;

	/* 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 incl. 255.255.255.255 */
	return first == 0 || first == 127 || first >= 224;
}

static __always_inline int mg_ipv4_group_dest(__be32 addr)
{
	return (bpf_ntohl(addr) >> 28) == 0xe || addr == 0xffffffff;
}

static __always_inline int mg_ipv6_bad_source(const struct in6_addr *addr)
{
	const __u32 *w = addr->in6_u.u6_addr32;

	if (addr->in6_u.u6_addr8[0] == 0xff)
		return 1;
	return w[0] == 0 && w[1] == 0 && w[2] == 0 && (w[3] == 0 || w[3] == bpf_htonl(1));
}

/*
 * 0 when an ICMP error may be sent about this oversize packet, else the reason it is not.
 * Also returns the source to rate-limit by.
 */
static __always_inline int mg_icmp_suppression(void *data, void *data_end, const struct mg_packet *pkt,
					       const struct mg_iface *iface,
					       struct mg_addr *source, struct mg_upper *upper)
{
	struct mg_upper up = {};

	mg_parse_upper(data, data_end, pkt, &up);
	*upper = up;
	if (pkt->family == MG_FAMILY_IPV4) {
		struct iphdr *iph = mg_l3(data, pkt);

		if ((void *)(iph + 1) > data_end)
			return MG_REASON_ICMP_FAILED;
		if (up.later_fragment)
			return MG_REASON_SUPPRESSED_FRAGMENT;
		if (up.has_icmp_type && mg_icmp4_is_error(up.icmp_type))
			return MG_REASON_SUPPRESSED_ICMP_ERROR;
		if (pkt->eth_group || mg_ipv4_group_dest(iph->daddr))
			return MG_REASON_SUPPRESSED_MULTICAST;
		if (mg_ipv4_bad_source(iph->saddr))
			return MG_REASON_SUPPRESSED_BAD_SOURCE;
		/* one test for both flags: a branch more here multiplies the verifier's states */
		if (!iface || iface->l3_only || !(iface->has_src4 & iface->has_mac))
			return MG_REASON_SUPPRESSED_NO_ADDRESS;
		mg_map_ipv4(source, iph->saddr);
	} else {
		struct ipv6hdr *ip6 = mg_l3(data, pkt);

		if ((void *)(ip6 + 1) > data_end)
			return MG_REASON_ICMP_FAILED;
		if (!up.known || (up.proto == IPPROTO_ICMPV6 && !up.later_fragment &&
				  !up.has_icmp_type))
			return MG_REASON_SUPPRESSED_UNPARSED;
		if (up.has_icmp_type &&
		    (up.icmp_type < MG_ICMPV6_INFO_FIRST || up.icmp_type == MG_ICMPV6_REDIRECT))
			return MG_REASON_SUPPRESSED_ICMP_ERROR;
		if (mg_ipv6_bad_source(&ip6->saddr))
			return MG_REASON_SUPPRESSED_BAD_SOURCE;
		if (!iface || iface->l3_only || !(iface->has_src6 & iface->has_mac))
			return MG_REASON_SUPPRESSED_NO_ADDRESS;
		__builtin_memcpy(source, &ip6->saddr, sizeof(*source));
	}
	return 0;
}

/*
 * The L2 header (with its VLAN tags) of the frame at `data`, saved before the head grows and
 * written back at the new head addressed to the sender, from the interface's own MAC address:
 * the frame's destination may be a group address (IPv6 answers multicast destinations), which no
 * frame may carry as its source.
 */
static __always_inline int mg_l2_save(void *data, void *data_end, __u8 *l2)
{
	if (data + MG_L2_MAX > data_end)
		return -1;
	__builtin_memcpy(l2, data, MG_L2_MAX);
	return 0;
}

static __always_inline int mg_l2_answer(void *data, void *data_end, const __u8 *l2,
					const struct mg_iface *iface, const __u32 l3_off)
{
	struct ethhdr *eth = data;

	if (data + l3_off > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, l2 + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(eth->h_source, iface->mac, ETH_ALEN);
	__builtin_memcpy(data + 2 * ETH_ALEN, l2 + 2 * ETH_ALEN, l3_off - 2 * ETH_ALEN);
	return 0;
}

static __always_inline int mg_icmp_push_l2(struct xdp_md *ctx, const struct mg_iface *iface,
					   const __u32 l3_off, int grow)
{
	__u8 l2[MG_L2_MAX];

	if (mg_l2_save((void *)(long)ctx->data, (void *)(long)ctx->data_end, l2))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return -1;
	return mg_l2_answer((void *)(long)ctx->data, (void *)(long)ctx->data_end, l2, iface, l3_off);
}

static __always_inline int mg_cut_tail(struct xdp_md *ctx, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return bpf_xdp_adjust_tail(ctx, (int)len - (int)(data_end - data));
}

/* Where the error's parts lie once mg_icmp_prepend made room for them. */
struct mg_icmp_room {
	void *ip;		  /* the new IP header */
	struct mg_icmp_hdr *icmp; /* the new ICMP header, right after it */
	void *quote;		  /* the offending datagram's IP header, where it was */
};

/* `room` for an error of `len` bytes at `l3_off` whose IP header has `ip_len` bytes; -1 if short. */
static __always_inline int mg_icmp_room_at(void *data, void *data_end, const __u32 l3_off,
					   const __u32 ip_len, const __u32 len, struct mg_icmp_room *room)
{
	if (data + l3_off + len > data_end)
		return -1;
	room->ip = data + l3_off;
	room->icmp = room->ip + ip_len;
	room->quote = (void *)(room->icmp + 1);
	return 0;
}

/*
 * Makes room for the new IP + ICMP headers in front of the datagram at `l3_off`, which has an IP
 * header of `ip_len` bytes and stays in place as the quote. Fills `room` with `len` bytes of the
 * error checked to be in the packet; returns 0, or -1 with the packet unusable.
 */
static __always_inline int mg_icmp_prepend(struct xdp_md *ctx, const struct mg_iface *iface,
					   const __u32 l3_off, const __u32 ip_len, const __u32 len,
					   struct mg_icmp_room *room)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + l3_off + ip_len > data_end)
		return -1;
	if (mg_icmp_push_l2(ctx, iface, l3_off, ip_len + sizeof(struct mg_icmp_hdr)))
		return -1;
	return mg_icmp_room_at((void *)(long)ctx->data, (void *)(long)ctx->data_end, l3_off, ip_len, len,
			       room);
}

/* The ICMP header's fields; its checksum stays 0 until mg_icmp_finish sums the message. */
static __always_inline void mg_icmp_header(struct mg_icmp_hdr *icmp, const __u8 type, const __u8 code,
					   const __be32 mtu_word)
{
	icmp->type = type;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->mtu_word = mtu_word;
}

/*
 * The error's last step: its checksum, from `len` bytes at `start` plus `extra` (what the pseudo
 * header adds that is not in the packet). The frame is cut to the error's end by the caller.
 */
static __always_inline int mg_icmp_finish(struct mg_icmp_hdr *icmp, void *start, const __u32 len,
					  const __s64 extra)
{
	const __s64 sum = mg_csum_span(start, len);

	if (sum < 0)
		return -1;
	icmp->checksum = mg_csum_fold(sum + extra);
	return 0;
}

static __always_inline int mg_icmp4_fill(const struct mg_iface *iface, __u32 mtu,
					 const struct mg_icmp_room *room)
{
	struct iphdr *iph = room->ip, *orig = room->quote;

	iph->version = 4;
	iph->ihl = 5;
	iph->tos = MG_TOS_INTERNETWORK_CONTROL;
	iph->tot_len = bpf_htons(MG_ICMP4_LEN);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = MG_ICMP_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	__builtin_memcpy(&iph->saddr, iface->icmp_src4, 4);
	iph->daddr = orig->saddr;
	/* Summed from the words just written: cheaper than a helper call over the header. */
	iph->check = mg_csum_fold(mg_sum16((const __u16 *)iph, sizeof(*iph) / 2));

	mg_icmp_header(room->icmp, MG_ICMP_DEST_UNREACH, MG_ICMP_FRAG_NEEDED, bpf_htonl(mtu & 0xffff));
	/* ICMP header + quote = 556 bytes: one call, or 512 + 44 */
	return mg_icmp_finish(room->icmp, room->icmp, sizeof(struct mg_icmp_hdr) + MG_ICMP4_QUOTE, 0);
}

/*
 * The ICMPv6 checksum covers a pseudo header (RFC 8200 8.1: source, destination, upper-layer
 * length, next header) and the message. The new header's addresses sit right before the message,
 * so one span from the source address to the end of the quote sums both addresses and the
 * message (512 + 512 + 248 bytes where the kernel sums at most 512 a call); the length and next
 * header, constants, are added as the 32-bit words they would be in memory.
 */
#define MG_ICMP6_SUM_START __builtin_offsetof(struct ipv6hdr, saddr)
#define MG_ICMP6_SUM_LEN (MG_ICMP6_LEN - MG_ICMP6_SUM_START)

static __always_inline int mg_icmp6_fill(const struct mg_iface *iface, __u32 mtu,
					 const struct mg_icmp_room *room)
{
	struct ipv6hdr *ip6 = room->ip, *orig = room->quote;

	*(__be32 *)ip6 = bpf_htonl(6 << 28); /* version 6, traffic class 0, flow label 0 */
	ip6->payload_len = bpf_htons(sizeof(struct mg_icmp_hdr) + MG_ICMP6_QUOTE);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = MG_ICMP_TTL;
	ip6->daddr = orig->saddr;
	__builtin_memcpy(&ip6->saddr, iface->icmp_src6, sizeof(ip6->saddr));

	mg_icmp_header(room->icmp, MG_ICMPV6_PKT_TOOBIG, 0, bpf_htonl(mtu));
	return mg_icmp_finish(room->icmp, (void *)ip6 + MG_ICMP6_SUM_START, MG_ICMP6_SUM_LEN,
			      (__s64)bpf_htonl(sizeof(struct mg_icmp_hdr) + MG_ICMP6_QUOTE) +
				      (__s64)bpf_htonl(IPPROTO_ICMPV6));
}

/* The error's headers and checksum in `room`, for either family (`v4` a constant at every call). */
static __always_inline int mg_icmp_fill(const int v4, const struct mg_iface *iface, __u32 mtu,
					const struct mg_icmp_room *room)
{
	return v4 ? mg_icmp4_fill(iface, mtu, room) : mg_icmp6_fill(iface, mtu, room);
}

/*
 * The error for the datagram at `l3_off`, in place of it. `family` is a constant at every call,
 * so each instance keeps one family's sizes and offsets, constants for the verifier.
 */
static __always_inline int mg_icmp_build_at(struct xdp_md *ctx, const __u32 l3_off, const __u8 family,
					    const struct mg_iface *iface, __u32 mtu)
{
	const int v4 = family == MG_FAMILY_IPV4;
	struct mg_icmp_room room;

	if (mg_icmp_prepend(ctx, iface, l3_off, v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr),
			    v4 ? MG_ICMP4_LEN : MG_ICMP6_LEN, &room))
		return -1;
	if (mg_icmp_fill(v4, iface, mtu, &room))
		return -1;
	return mg_cut_tail(ctx, l3_off + (v4 ? MG_ICMP4_LEN : MG_ICMP6_LEN));
}

/*
 * One instance per family and VLAN depth keeps every packet offset a constant for the verifier:
 * one for each depth the parser accepts, so a change to MG_MAX_VLAN_TAGS must add or remove one.
 */
_Static_assert(MG_MAX_VLAN_TAGS == 2, "mg_icmp_build_depth has one instance per VLAN depth: 0, 1 and 2");

static __always_inline int mg_icmp_build_depth(struct xdp_md *ctx, const __u8 nvlan, const __u8 family,
					       const struct mg_iface *iface, __u32 mtu)
{
	const __u32 tag = sizeof(struct mg_vlan_hdr);

	if (nvlan == 0)
		return mg_icmp_build_at(ctx, ETH_HLEN, family, iface, mtu);
	if (nvlan == 1)
		return mg_icmp_build_at(ctx, ETH_HLEN + tag, family, iface, mtu);
	if (nvlan == 2)
		return mg_icmp_build_at(ctx, ETH_HLEN + 2 * tag, family, iface, mtu);
	return -1;
}

static __always_inline int mg_icmp_build(struct xdp_md *ctx, const struct mg_packet *pkt,
					 const struct mg_iface *iface, __u32 mtu)
{
	if (pkt->family == MG_FAMILY_IPV4)
		return mg_icmp_build_depth(ctx, pkt->nvlan, MG_FAMILY_IPV4, iface, mtu);
	return mg_icmp_build_depth(ctx, pkt->nvlan, MG_FAMILY_IPV6, iface, mtu);
}

#endif /* MTUGUARD_ICMP_BPF_H */
