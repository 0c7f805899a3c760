// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mtuguard's observation programs, attached with tc to the gateway's client-facing interfaces
 * (--outside-iface): ingress sees the clients' TLS connections and DTLS datagrams, egress the
 * gateway's DTLS datagrams back to them. tc rather than XDP because only tc sees egress, and so
 * that an interface can carry the enforcement program in XDP as well. The work is in
 * observe.bpf.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "observe.bpf.h"

/* Ethernet, two tags, IPv6, UDP and a DTLS record header with the handshake type. */
#define MG_OBSERVE_HEADROOM (14 + 8 + 40 + 8 + MG_DTLS_RECORD_LEN + 1)

static __always_inline void mg_observe_skb(struct __sk_buff *skb, int inbound)
{
	/* Headers may sit beyond the linear part of a large skb: pull just enough of them in. */
	if (skb->data_end - skb->data < MG_OBSERVE_HEADROOM && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < MG_OBSERVE_HEADROOM ? skb->len : MG_OBSERVE_HEADROOM);
	mg_observe((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, inbound,
		   skb->gso_segs > 1 ? skb->gso_segs : 1);
}

/* TC_ACT_UNSPEC: whatever tc filters the operator has run next, as if this one were not there. */
SEC("tc")
int mtuguard_observe_in(struct __sk_buff *skb)
{
	mg_observe_skb(skb, 1);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mtuguard_observe_out(struct __sk_buff *skb)
{
	mg_observe_skb(skb, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
