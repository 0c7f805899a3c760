/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP MSS clamping per session, in tc on every interface the daemon enforces on: a SYN or
 * SYN-ACK toward a session or from one has its MSS option lowered to what fits the session's
 * effective MTU (- 40 for IPv4, - 60 for IPv6), so TCP never sends too big in the first place —
 * which still works when ICMP is filtered and PMTU discovery cannot. An MSS is never raised and
 * an option never added.
 *
 * tc, not XDP, for two reasons. Only tc sees egress, where the clients' own SYNs leave toward
 * the servers: their MSS is the one that decides what a server sends, and it passes the inside
 * interface only on its way out. And only an skb knows how its TCP checksum is to be finished:
 * a packet from a socket of this same kernel (a server on a veth) is CHECKSUM_PARTIAL, its
 * checksum field holding just the pseudo-header sum for a later hop to complete. Adjusting that
 * field as if it were a full checksum corrupts the packet once a device checksums in software;
 * bpf_l4_csum_replace leaves a partial checksum alone (the data it will be computed over has
 * changed already) and updates a complete one (RFC 1624), and skb->csum of a CHECKSUM_COMPLETE
 * packet stays right because the MSS and the checksum field change by opposite amounts.
 *
 * The option list (RFC 9293 3.2) is walked within the TCP header and the IP length: EOL ends it,
 * NOP is one byte, every other option has a length of at least 2 that must fit; the first MSS
 * option (length 4) is the one rewritten. Anything that does not parse leaves the packet
 * untouched and is counted as malformed. An MSS value at an odd offset straddles two checksum
 * words, which the byte swap accounts for.
 */
#ifndef MTUGUARD_MSS_BPF_H
#define MTUGUARD_MSS_BPF_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
#include "mtuguard_kern_user.h"
#include "parse.bpf.h"
#include "session.bpf.h"

#define MG_TCP_OPTIONS_MAX 40
#define MG_TCP_FLAG_SYN 0x02
#define MG_TCPOPT_EOL 0
#define MG_TCPOPT_NOP 1
#define MG_TCPOPT_MSS 2
/* Ethernet, two tags, an IPv6 header and a TCP header with every option: a SYN's headers. */
#define MG_MSS_HEADROOM (MG_L3_OFF_MAX + 40 + 60)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_MSS_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} mg_mss_counters SEC(".maps");

static __always_inline void mg_count_mss(const struct mg_iface *iface, const struct mg_packet *pkt,
					 __u32 outcome)
{
	__u32 index = mg_mss_index(iface ? iface->slot : 0, pkt->from_client, outcome);
	__u64 *counter = bpf_map_lookup_elem(&mg_mss_counters, &index);

	if (counter)
		(*counter)++;
}

/* The offset of the TCP header of an unfragmented SYN or SYN-ACK, or 0. */
static __always_inline __u32 mg_tcp_syn_offset(void *data, void *data_end, const struct mg_packet *pkt)
{
	__u32 l4_off;
	__u8 *flags;

	/*
	 * Not TCP, decided from what the parser already read: IPv4's protocol, or an IPv6 next
	 * header that is neither TCP nor an extension header TCP could hide behind.
	 */
	if (pkt->family == MG_FAMILY_IPV4 && pkt->next_header != IPPROTO_TCP)
		return 0;
	if (pkt->family == MG_FAMILY_IPV6 && pkt->next_header != IPPROTO_TCP &&
	    pkt->next_header != IPPROTO_HOPOPTS && pkt->next_header != IPPROTO_ROUTING &&
	    pkt->next_header != IPPROTO_FRAGMENT && pkt->next_header != IPPROTO_DSTOPTS &&
	    pkt->next_header != IPPROTO_AH)
		return 0;
	if (pkt->family == MG_FAMILY_IPV4) {
		struct iphdr *iph = mg_l3(data, pkt);

		if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & bpf_htons(MG_IP_MF | MG_IP_OFFSET)))
			return 0;
		l4_off = pkt->l3_off + (iph->ihl & 0xf) * 4;
	} else {
		struct ipv6hdr *ip6 = mg_l3(data, pkt);
		struct mg_upper up = {};

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		if (ip6->nexthdr == IPPROTO_TCP) {
			l4_off = pkt->l3_off + sizeof(*ip6);
		} else {
			/* rare for a SYN: walk the extension headers */
			mg_parse_upper6(data, data_end, pkt, &up);
			if (!up.known || up.later_fragment || up.proto != IPPROTO_TCP)
				return 0;
			l4_off = up.l4_off;
		}
	}
	/* IPv4: at most MG_L3_OFF_MAX + 60; IPv6: mg_parse_upper6 stops at MG_HEADER_OFF_MAX */
	l4_off &= MG_HEADER_OFF_MAX;
	flags = data + l4_off + 13;
	if ((void *)(flags + 1) > data_end || !(*flags & MG_TCP_FLAG_SYN))
		return 0;
	return l4_off;
}

/*
 * A global function: the verifier checks it once, on its own, instead of once per call site
 * and per path into it — the option walk is the one loop in the program. The packet is changed
 * only through the helpers, which also unshare a cloned skb (a SYN a local socket keeps for
 * retransmission) before writing.
 */
__attribute__((noinline)) int mg_mss_rewrite(struct __sk_buff *skb, __u32 l4_off, __u32 l3_end,
					     __u32 target)
{
	void *data, *data_end;
	struct tcphdr *tcp;
	__u32 options, pos = 0;
	__u8 *opt;

	if (!skb)
		return MG_MSS_MALFORMED;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	l4_off &= MG_HEADER_OFF_MAX; /* mg_tcp_syn_offset's bound */
	tcp = data + l4_off;
	if ((void *)(tcp + 1) > data_end)
		return MG_MSS_MALFORMED;
	options = tcp->doff * 4;
	if (options < sizeof(*tcp) || l4_off + options > l3_end)
		return MG_MSS_MALFORMED;
	options -= sizeof(*tcp);
	opt = (__u8 *)(tcp + 1);

	/*
	 * No separate iteration counter: every step moves pos forward by at least one byte, so
	 * the verifier sees the loop end, and states that differ only in how they got to a pos
	 * range are pruned instead of explored one by one.
	 */
	while (pos < options && pos < MG_TCP_OPTIONS_MAX) {
		__u8 *p = opt + (pos & 0x3f);
		__u8 kind, len;

		if ((void *)(p + 1) > data_end)
			return MG_MSS_MALFORMED;
		kind = p[0];
		if (kind == MG_TCPOPT_EOL)
			break;
		if (kind == MG_TCPOPT_NOP) {
			pos++;
			continue;
		}
		if (pos + 2 > options || (void *)(p + 2) > data_end)
			return MG_MSS_MALFORMED;
		len = p[1];
		if (len < 2 || pos + len > options)
			return MG_MSS_MALFORMED;
		if (kind == MG_TCPOPT_MSS) {
			__u32 at = l4_off + sizeof(*tcp) + (pos & 0x3f) + 2;
			__u16 mss, old_word, new_word, value;

			if (len != 4 || (void *)(p + 4) > data_end)
				return MG_MSS_MALFORMED;
			mss = (__u16)p[2] << 8 | p[3];
			if (mss <= target)
				return MG_MSS_ALREADY_SMALL;
			value = bpf_htons(target);
			/* the checksum words are aligned to the TCP header, which is 4-aligned */
			old_word = bpf_htons(mss);
			new_word = value;
			if (pos & 1) {
				old_word = __builtin_bswap16(old_word);
				new_word = __builtin_bswap16(new_word);
			}
			/*
			 * Flags 0: skb->csum needs no update of its own, the checksum field below
			 * moves it back by what the MSS moved it. Nothing was written if this fails.
			 */
			if (bpf_skb_store_bytes(skb, at, &value, sizeof(value), 0))
				return MG_MSS_MALFORMED;
			/* no BPF_F_PSEUDO_HDR: the MSS is not part of the pseudo-header */
			bpf_l4_csum_replace(skb, l4_off + offsetof(struct tcphdr, check), old_word,
					    new_word, sizeof(__u16));
			return MG_MSS_CLAMPED;
		}
		pos += len;
	}
	return MG_MSS_NO_OPTION;
}

/*
 * An skb's headers, pulled into its linear part if they are not there (a SYN's are in practice)
 * and parsed into `pkt`: MG_PARSED, or why not. Leaves skb->data and data_end to be read again.
 */
static __always_inline int mg_skb_parse(struct __sk_buff *skb, const struct mg_iface *iface,
					struct mg_packet *pkt)
{
	void *data, *data_end;

	if (skb->data_end - skb->data < MG_MSS_HEADROOM && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < MG_MSS_HEADROOM ? skb->len : MG_MSS_HEADROOM);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	pkt->frame_len = skb->len;
	return iface && iface->l3_only ? mg_parse_l3_only(data, data_end, pkt) :
					 mg_parse_frame(data, data_end, pkt);
}

/*
 * One packet in tc on an enforced interface. `from_client`: the session is the source (the
 * clients' packets, on their way to the servers), else the destination.
 */
static __always_inline void mg_mss_clamp(struct __sk_buff *skb, int from_client)
{
	const struct mg_iface *iface = mg_iface_of(skb->ifindex);
	const struct mg_settings *settings;
	union mg_policy policy;
	struct mg_packet pkt = {};
	void *data, *data_end;
	__u32 l4_off, mtu;
	int enabled;

	pkt.from_client = from_client;
	if (mg_skb_parse(skb, iface, &pkt) != MG_PARSED)
		return;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	l4_off = mg_tcp_syn_offset(data, data_end, &pkt);
	if (!l4_off)
		return;
	settings = mg_settings_now();
	if (!mg_session_lookup(&pkt, settings, &policy))
		return;
	enabled = policy.mss_clamp == MG_MSS_ON ||
		  (policy.mss_clamp == MG_MSS_DEFAULT && settings->mss_clamp);
	if (!enabled) {
		mg_count_mss(iface, &pkt, MG_MSS_DISABLED);
		return;
	}
	mtu = mg_effective_mtu(policy);
	mg_count_mss(iface, &pkt,
		     mg_mss_rewrite(skb, l4_off, pkt.l3_off + pkt.l3_len,
				    mtu - (pkt.family == MG_FAMILY_IPV4 ? 40 : 60)));
}

#endif /* MTUGUARD_MSS_BPF_H */
