/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The MTU decision: is this packet to a session, does it fit the session's effective MTU (the
 * DTLS MTU while the session rides DTLS, else the TLS MTU), and what happens when it does not.
 *
 * Lengths compared are L3 lengths (IPv4 total length, IPv6 payload length + 40), never the
 * frame length: VLAN tags and Ethernet padding are not part of what the tunnel carries.
 * IPv6's threshold is max(MTU, 1280): a link below 1280 must fragment beneath IPv6 (RFC 8200 5)
 * and a Packet Too Big below 1280 is ignored by its receiver (RFC 8201 4), so packets between
 * the two pass under their own reason. An IPv4 packet without DF passes too: the tunnel
 * fragments it.
 */
#ifndef MTUGUARD_MTU_BPF_H
#define MTUGUARD_MTU_BPF_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "clock.bpf.h"
#include "config.bpf.h"
#include "csum.bpf.h"
#include "flows.bpf.h"
#include "icmp.bpf.h"
#include "mtuguard_kern_user.h"
#include "parse.bpf.h"
#include "ratelimit.bpf.h"
#include "session.bpf.h"
#include "stats.bpf.h"

/* The ASA's "df-bit-ignore": let the oversize packet through as if it had never set DF. */
static __always_inline int mg_clear_df(void *data, void *data_end, const struct mg_packet *pkt)
{
	struct iphdr *iph = mg_l3(data, pkt);
	__u16 old_frag, new_frag;

	if ((void *)(iph + 1) > data_end)
		return MG_REASON_MALFORMED;
	old_frag = iph->frag_off;
	new_frag = old_frag & ~bpf_htons(MG_IP_DF);
	iph->frag_off = new_frag;
	iph->check = mg_csum_replace16(iph->check, old_frag, new_frag);
	return MG_REASON_DF_CLEARED;
}

/*
 * What becomes of an oversize packet, up to the error itself: the action's reason, or why no error
 * may be sent (suppressed, rate-limited), or 0: answer it. `up` gets the upper layer read for it.
 * Shared with tc's judgement of TSO/GSO packets (gso.bpf.h), which works on an skb's data.
 */
static __always_inline int mg_oversize_verdict(void *data, void *data_end, const struct mg_packet *pkt,
					       const struct mg_iface *iface,
					       const struct mg_settings *settings, __u64 now,
					       struct mg_upper *up)
{
	struct mg_addr source;
	int suppressed;

	switch (settings->action) {
	case MG_ACTION_DROP:
		return MG_REASON_DROPPED;
	case MG_ACTION_MONITOR:
		return MG_REASON_MONITORED;
	case MG_ACTION_CLEAR_DF:
		/* IPv6 has no DF to clear: the sender must learn the MTU, as with icmp */
		if (pkt->family == MG_FAMILY_IPV4)
			return mg_clear_df(data, data_end, pkt);
		break;
	}
	suppressed = mg_icmp_suppression(data, data_end, pkt, iface, &source, up);
	if (suppressed)
		return suppressed;
	if (!mg_icmp_may_send(settings, &source, now))
		return MG_REASON_ICMP_RATELIMITED;
	return 0;
}

static __always_inline int mg_oversize(struct xdp_md *ctx, const struct mg_packet *pkt,
				       const struct mg_iface *iface,
				       const struct mg_settings *settings, __u32 threshold,
				       struct mg_session_stats *stats, __u64 now)
{
	struct mg_upper up;
	__u64 flow;
	int reason;

	reason = mg_oversize_verdict((void *)(long)ctx->data, (void *)(long)ctx->data_end, pkt, iface,
				     settings, now, &up);
	if (reason)
		return reason;
	flow = mg_flow_of(ctx, pkt, &up); /* before the packet becomes the error */
	if (mg_icmp_build(ctx, pkt, iface, threshold))
		return MG_REASON_ICMP_FAILED;
	mg_flow_answered(flow, iface, now, threshold);
	stats->icmp_sent++;
	return MG_REASON_ICMP_SENT;
}

static __always_inline int mg_enforce(struct xdp_md *ctx, const struct mg_packet *pkt,
				      const struct mg_iface *iface,
				      const struct mg_settings *settings)
{
	struct mg_session_stats *stats;
	struct mg_session *session;
	union mg_policy policy;
	__u32 mtu, threshold;
	__u64 now;

	session = mg_session_lookup(pkt, settings, &policy);
	if (!session)
		return MG_REASON_NO_SESSION;
	mtu = mg_effective_mtu(policy);
	threshold = mtu;
	if (pkt->family == MG_FAMILY_IPV6 && threshold < MG_IPV6_MIN_MTU)
		threshold = MG_IPV6_MIN_MTU;
	if (pkt->l3_len <= mtu)
		return MG_REASON_WITHIN_MTU;
	/*
	 * No single frame exceeds its interface's MTU: a packet never cut into segments, in generic
	 * XDP only (the kernel skips GRO there): a veth peer's TSO/GSO packet, whose segment size
	 * this program cannot read. tc ingress judges it by that next (gso.bpf.h).
	 */
	if (iface && iface->mtu && pkt->l3_len > iface->mtu)
		return MG_REASON_AGGREGATED;
	mg_count_oversize(iface, pkt);
	/*
	 * Plain increments: a locked add costs ~4 ns here, twice per oversize packet. One session's
	 * packets arrive on one CPU as long as RSS keeps a flow on one queue; two CPUs racing on one
	 * session can lose a count, which the per-CPU interface counters never do.
	 */
	stats = mg_session_stats(pkt, session, policy);
	stats->oversize_packets++;
	/* a tick is precise enough; the rate limit and the answered flows reuse the reading */
	now = mg_now();
	stats->last_oversize_ns = now;
	if (pkt->l3_len <= threshold)
		return MG_REASON_IPV6_BELOW_MIN;
	if (pkt->family == MG_FAMILY_IPV4 && !pkt->df)
		return MG_REASON_FRAGMENTED;
	return mg_oversize(ctx, pkt, iface, settings, threshold, stats, now);
}

/*
 * From a client: nothing to enforce on the way in (the tunnel carries it); counted so that the
 * interface's traffic adds up. Its SYNs are clamped in tc (mss.bpf.h).
 */
static __always_inline int mg_from_client(const struct mg_packet *pkt,
					  const struct mg_settings *settings)
{
	union mg_policy policy;

	if (!mg_session_lookup(pkt, settings, &policy))
		return MG_REASON_NO_SESSION;
	return MG_REASON_FROM_CLIENT;
}

#endif /* MTUGUARD_MTU_BPF_H */
