// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mtuguard's enforcement programs, on the gateway's inside interfaces: in XDP, every packet
 * toward a VPN session is held to the session's current tunnel MTU; in tc, both directions, the
 * MSS of the sessions' TCP SYNs and SYN-ACKs is clamped to it, and on the way in a TSO/GSO packet,
 * which XDP sees whole, is held to the MTU by its segment size. One object, so that both read the
 * same sessions, settings and interface table. The work lives in the headers: parse.bpf.h
 * (headers), mtu.bpf.h (the decision), icmp.bpf.h (the error), mss.bpf.h (SYN MSS clamping),
 * gso.bpf.h (TSO/GSO packets), ratelimit.bpf.h, session.bpf.h, stats.bpf.h (the counting exit). On a --client-iface the XDP
 * program only counts the clients' packets; the tc programs clamp as on an --iface, with the
 * directions the other way round.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
#include "gso.bpf.h"
#include "mss.bpf.h"
#include "mtu.bpf.h"
#include "parse.bpf.h"
#include "stats.bpf.h"

SEC("xdp")
int mtuguard_xdp(struct xdp_md *ctx)
{
	const struct mg_iface *iface = mg_iface_lookup(ctx);
	struct mg_packet pkt;
	int reason;

	/* Only what the parser may leave unwritten is zeroed: this runs for every packet. */
	pkt.family = MG_FAMILY_OTHER;
	pkt.nvlan = 0;
	pkt.df = 0;
	pkt.eth_group = 0;
	reason = mg_parse(ctx, iface, &pkt);
	if (reason == MG_PARSED) {
		const struct mg_settings *settings = mg_settings_now();

		reason = pkt.from_client ? mg_from_client(&pkt, settings) :
					   mg_enforce(ctx, &pkt, iface, settings);
	}
	return mg_count_exit(iface, &pkt, reason);
}

/*
 * On an --iface, what comes in is headed to the sessions and what goes out comes from them; a
 * --client-iface faces the clients, so there it is the other way round.
 */
static __always_inline int mg_from_client_on(struct __sk_buff *skb, int ingress)
{
	const struct mg_iface *iface = mg_iface_of(skb->ifindex);
	int client_side = iface && iface->direction == MG_DIR_FROM_CLIENT;

	return ingress ? client_side : !client_side;
}

/* TC_ACT_UNSPEC: whatever tc filters the operator has run next, as if this one were not there. */
/* An unsegmented TSO/GSO packet toward a session is judged by its segment size (gso.bpf.h). */
SEC("tc")
int mtuguard_mss_in(struct __sk_buff *skb)
{
	int from_client = mg_from_client_on(skb, 1);

	if (skb->gso_size && !from_client)
		return mg_gso_judge(skb, mg_iface_of(skb->ifindex));
	mg_mss_clamp(skb, from_client);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mtuguard_mss_out(struct __sk_buff *skb)
{
	mg_mss_clamp(skb, mg_from_client_on(skb, 0));
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
