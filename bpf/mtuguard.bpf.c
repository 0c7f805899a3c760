// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mtuguard's enforcement program, attached in XDP to the gateway's inside interfaces: every
 * packet toward a VPN session is held to the session's current tunnel MTU. The work lives in
 * the headers: parse.bpf.h (headers), mtu.bpf.h (the decision), icmp.bpf.h (the error),
 * mss.bpf.h (SYN MSS clamping), ratelimit.bpf.h, session.bpf.h, stats.bpf.h (the counting exit).
 * On a --client-iface the same program sees the clients' packets and only clamps their SYNs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
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

		reason = pkt.from_client ? mg_from_client(ctx, &pkt, iface, settings) :
					   mg_enforce(ctx, &pkt, iface, settings);
	}
	return mg_count_exit(iface, &pkt, reason);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
