/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unsegmented TSO/GSO packets, judged in tc by their segment size.
 *
 * Generic XDP sees a veth peer's TSO and GSO packets whole: the kernel skips GRO under a generic
 * program, but a veth hands over what its peer sent unsegmented. Longer than the interface MTU,
 * such a packet can only be one of these, and the XDP program, which cannot read an skb's segment
 * size, passes it as aggregated. tc ingress runs right after, in the same softirq on the same CPU,
 * and reads gso_size: a packet whose segments (its headers + gso_size) exceed the session's MTU
 * is treated as each of them would have been in XDP. Dropped; or answered with one ICMP error,
 * built from the packet itself (bpf_skb_change_tail cuts it to the quote, which also ends its GSO
 * state) and sent back out of the interface with bpf_redirect; or its DF cleared. Its count moves
 * from aggregated to that reason on this CPU.
 *
 * Only those verdicts. A GRO aggregate of a native-mode interface (a NIC) reaches tc as well, but
 * XDP judged its segments one by one, and only segments XDP passed can have been merged: within
 * the MTU, below IPv6's minimum, IPv4 without DF, DF cleared, or monitored. With DF (or IPv6) and
 * over the MTU under drop, icmp or clear-df, none can; the passing verdicts are left to XDP's
 * count here too, as aggregated. Frames with VLAN tags and --iface tun devices pass as before.
 */
#ifndef MTUGUARD_GSO_BPF_H
#define MTUGUARD_GSO_BPF_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
#include "icmp.bpf.h"
#include "mss.bpf.h"
#include "mtu.bpf.h"
#include "parse.bpf.h"
#include "session.bpf.h"
#include "stats.bpf.h"

/* A segment's IP length: the headers up to the payload, plus gso_size; 0 for neither TCP nor UDP. */
static __always_inline __u32 mg_segment_len(void *data, void *data_end, const struct mg_packet *pkt,
					    const struct mg_upper *up, __u32 gso_size)
{
	__u32 l4_off = up->l4_off & MG_HEADER_OFF_MAX;
	__u8 *l4 = data + l4_off;

	if (!up->known || up->later_fragment || l4_off < pkt->l3_off)
		return 0;
	if (up->proto == IPPROTO_UDP)
		return l4_off - pkt->l3_off + 8 + gso_size;
	if (up->proto != IPPROTO_TCP || (void *)(l4 + 13) > data_end)
		return 0;
	return l4_off - pkt->l3_off + (l4[12] >> 4) * 4 + gso_size;
}

/* XDP counted the packet as aggregated on this CPU; it now counts under `reason`. */
static __always_inline void mg_recount(const struct mg_iface *iface, const struct mg_packet *pkt,
				       __u32 reason)
{
	__u32 index = mg_counter_index(iface->slot, pkt->family, MG_REASON_AGGREGATED);
	struct mg_counter *counter = bpf_map_lookup_elem(&mg_counters, &index);

	/* a packet XDP never saw (one injected past it) must not wrap the count */
	if (counter && counter->packets && counter->bytes >= pkt->frame_len) {
		counter->packets--;
		counter->bytes -= pkt->frame_len;
	}
	mg_count_exit(iface, pkt, reason);
}

/*
 * The error for an untagged frame, in place of the packet: cut to the quote, the head grown by
 * the new IP + ICMP headers, the quoted header given the length of one segment.
 */
static __always_inline int mg_icmp_build_skb_at(struct __sk_buff *skb, const __u8 family,
						const struct mg_iface *iface, __u32 mtu, __u32 segment)
{
	const int v4 = family == MG_FAMILY_IPV4;
	const __u32 ip_len = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	const __u32 grow = ip_len + sizeof(struct mg_icmp_hdr);
	const __u32 len = v4 ? MG_ICMP4_LEN : MG_ICMP6_LEN;
	struct mg_icmp_room room;
	__u8 l2[MG_L2_MAX];

	if (bpf_skb_change_tail(skb, ETH_HLEN + len - grow, 0))
		return -1;
	if (mg_l2_save((void *)(long)skb->data, (void *)(long)skb->data_end, l2))
		return -1;
	if (bpf_skb_change_head(skb, grow, 0))
		return -1;
	if (mg_l2_answer((void *)(long)skb->data, (void *)(long)skb->data_end, l2, iface, ETH_HLEN) ||
	    mg_icmp_room_at((void *)(long)skb->data, (void *)(long)skb->data_end, ETH_HLEN, ip_len, len, &room))
		return -1;
	if (v4) {
		struct iphdr *quoted = room.quote;
		__u16 old = quoted->tot_len;

		quoted->tot_len = bpf_htons(segment);
		quoted->check = mg_csum_replace16(quoted->check, old, quoted->tot_len);
	} else {
		((struct ipv6hdr *)room.quote)->payload_len = bpf_htons(segment - sizeof(struct ipv6hdr));
	}
	return mg_icmp_fill(v4, iface, mtu, &room);
}

/* What becomes of an oversize packet with DF (or IPv6) under drop, icmp or clear-df. */
static __always_inline int mg_gso_oversize(struct __sk_buff *skb, const struct mg_packet *pkt,
					   const struct mg_iface *iface, const struct mg_settings *settings,
					   __u32 threshold, __u32 segment, struct mg_session_stats *stats,
					   __u64 now)
{
	struct mg_upper up;
	int reason;

	reason = mg_oversize_verdict((void *)(long)skb->data, (void *)(long)skb->data_end, pkt, iface,
				     settings, now, &up);
	if (reason)
		return reason;
	if (pkt->family == MG_FAMILY_IPV4 ? mg_icmp_build_skb_at(skb, MG_FAMILY_IPV4, iface, threshold, segment) :
					    mg_icmp_build_skb_at(skb, MG_FAMILY_IPV6, iface, threshold, segment))
		return MG_REASON_ICMP_FAILED;
	stats->icmp_sent++;
	return MG_REASON_ICMP_SENT;
}

/* A TSO/GSO packet coming in on an --iface: the tc action for it. */
static __always_inline int mg_gso_judge(struct __sk_buff *skb, const struct mg_iface *iface)
{
	const struct mg_settings *settings;
	struct mg_session_stats *stats;
	struct mg_session *session;
	struct mg_packet pkt = {};
	struct mg_upper up = {};
	union mg_policy policy;
	__u32 mtu, threshold, segment;
	void *data, *data_end;
	__u64 now;
	int reason;

	if (!iface || iface->l3_only || !iface->mtu)
		return TC_ACT_UNSPEC;
	if (mg_skb_parse(skb, iface, &pkt) != MG_PARSED || pkt.nvlan || pkt.l3_len <= iface->mtu)
		return TC_ACT_UNSPEC;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	settings = mg_settings_now();
	session = mg_session_lookup(&pkt, settings, &policy);
	if (!session)
		return TC_ACT_UNSPEC;
	mtu = mg_effective_mtu(policy);
	threshold = pkt.family == MG_FAMILY_IPV6 && mtu < MG_IPV6_MIN_MTU ? MG_IPV6_MIN_MTU : mtu;
	mg_parse_upper(data, data_end, &pkt, &up);
	segment = mg_segment_len(data, data_end, &pkt, &up, skb->gso_size);
	/* within the MTU, below IPv6's minimum, IPv4 without DF, monitored: XDP's aggregated stands */
	if (segment <= threshold || (pkt.family == MG_FAMILY_IPV4 && !pkt.df) ||
	    settings->action == MG_ACTION_MONITOR)
		return TC_ACT_UNSPEC;
	pkt.l3_len = segment; /* the size histogram counts what the segments wanted */
	mg_count_oversize(iface, &pkt);
	stats = mg_session_stats(&pkt, session, policy);
	stats->oversize_packets++;
	now = mg_now();
	stats->last_oversize_ns = now;
	reason = mg_gso_oversize(skb, &pkt, iface, settings, threshold, segment, stats, now);
	mg_recount(iface, &pkt, reason);
	if (reason == MG_REASON_ICMP_SENT)
		return bpf_redirect(skb->ifindex, 0);
	return mg_reason_xdp_action(reason) == XDP_PASS ? TC_ACT_UNSPEC : TC_ACT_SHOT;
}

#endif /* MTUGUARD_GSO_BPF_H */
