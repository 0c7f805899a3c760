/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP and UDP flows the program answered with an ICMP error, remembered by a hash of the flow
 * (addresses, protocol, ports), so the daemon can tell an ICMP black hole: a sender that heeds
 * the error stops sending oversize packets on that flow within a round trip; one that is still
 * sending them a second later never got the error (a firewall between the gateway and the sender
 * drops it) and its flow is stuck. Such packets are counted per interface as "unheeded".
 *
 * The table is direct-mapped: the flow's slot is its hash modulo the size, an array lookup the
 * verifier inlines, where a hash map would cost a call on every answered packet and an insert
 * (with its lock) for every new flow, which under a flood is every packet. A flow answered into
 * an occupied slot takes it over, as an LRU would evict the oldest; two flows answered in turn into one slot keep restarting each other's clock and
 * are never counted. Two CPUs writing one slot at once may leave it mixed, which at worst counts
 * one packet wrongly. The figure is a diagnosis, not a verdict.
 * Other protocols are left out: `ping -M do -s N` repeats its size on purpose, whatever it is told.
 */
#ifndef MTUGUARD_FLOWS_BPF_H
#define MTUGUARD_FLOWS_BPF_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>

#include "mtuguard_kern_user.h"
#include "parse.bpf.h"

/* A sender has had this long to act on the error before its next oversize packet counts. */
#define MG_UNHEEDED_AFTER_NS 1000000000ull

_Static_assert((MG_ANSWERED_FLOWS & (MG_ANSWERED_FLOWS - 1)) == 0, "a power of two");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_ANSWERED_FLOWS);
	__type(key, __u32); /* mg_flow_hash() % MG_ANSWERED_FLOWS */
	__type(value, struct mg_answered_flow);
} mg_answered_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_MAX_IFACES);
	__type(key, __u32); /* interface slot */
	__type(value, __u64);
} mg_unheeded SEC(".maps");

/*
 * Addresses, protocol and ports, each 64-bit word multiplied by its own odd constant and the
 * products summed: the multiplications are independent, so they overlap, where a chain of
 * mixes would wait for each one in turn. The finish folds the high half, where a product gathers
 * all of its word's bits, into the low half the table is indexed by. 0 when a header is not
 * there. A global function: the verifier checks it once, on its own, not once per path into
 * the ICMP builder (scalars only, hence the offsets rather than the parsed structs).
 */
__attribute__((noinline)) __u64 mg_flow_hash(struct xdp_md *ctx, __u32 l3_off, __u32 ipv4, __u32 proto,
					     __u32 l4_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *ports = data + (l4_off & 0x3ff);
	__u64 h;

	if ((void *)(ports + 1) > data_end)
		return 0;
	h = ((__u64)proto << 32 | *ports) * 0x9e3779b97f4a7c15ull;
	l3_off &= 0x1f; /* 14, 18 or 22 (or 0 on a tun device) */
	if (ipv4) {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return 0;
		h += ((__u64)iph->saddr << 32 | iph->daddr) * 0xc2b2ae3d27d4eb4full;
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		__u64 words[4];

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		/* saddr and daddr are adjacent: four words */
		__builtin_memcpy(words, &ip6->saddr, sizeof(words));
		h += words[0] * 0xc2b2ae3d27d4eb4full + words[1] * 0x165667b19e3779f9ull +
		     words[2] * 0xd6e8feb86659fd93ull + words[3] * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* 0 (not tracked) unless the packet is TCP or UDP with its ports: a later fragment has none. */
static __always_inline __u64 mg_flow_of(struct xdp_md *ctx, const struct mg_packet *pkt,
					const struct mg_upper *up)
{
	if (!up->known || up->later_fragment || (up->proto != IPPROTO_TCP && up->proto != IPPROTO_UDP))
		return 0;
	return mg_flow_hash(ctx, pkt->l3_off, pkt->family == MG_FAMILY_IPV4, up->proto, up->l4_off);
}

/*
 * The flow is being answered now (mg_now() of the packet): remember it, or count it
 * as unheeded when it was answered a second or more before.
 */
static __always_inline void mg_flow_answered(__u64 flow, const struct mg_iface *iface, __u64 now)
{
	__u32 index = flow & (MG_ANSWERED_FLOWS - 1);
	__u32 slot = iface ? iface->slot : 0;
	struct mg_answered_flow *seen;
	__u64 *unheeded;

	if (!flow)
		return;
	seen = bpf_map_lookup_elem(&mg_answered_flows, &index);
	if (!seen)
		return;
	if (seen->flow != flow) {
		seen->flow = flow;
		seen->first_answered_ns = now;
		seen->unheeded = 0;
		return;
	}
	if (now - seen->first_answered_ns < MG_UNHEEDED_AFTER_NS)
		return;
	seen->unheeded++;
	unheeded = bpf_map_lookup_elem(&mg_unheeded, &slot);
	if (unheeded)
		(*unheeded)++;
}

#endif /* MTUGUARD_FLOWS_BPF_H */
