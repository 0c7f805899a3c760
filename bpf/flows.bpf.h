/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP and UDP flows the program answered with an ICMP error, remembered by a hash of the flow
 * (addresses, protocol, ports), so the daemon can tell an ICMP black hole: a sender that heeds
 * the error stops sending oversize packets on that flow within a round trip; one that is still
 * sending them a second later never got the error (a firewall between the gateway and the sender
 * drops it) and its flow is stuck. Such packets are counted per interface as "unheeded".
 *
 * What "still sending" means is a window: the errors a flow is sent one after another, each
 * within MG_ANSWERED_QUIET_NS of the one before and all announcing the same MTU. An oversize
 * packet answered a second or more into its window is unheeded. A flow that heeded its error
 * goes quiet for minutes (a sender keeps a learned MTU for at least 5, RFC 8201 5.3; Linux 10):
 * when it is answered again after a quiet gap, or with another MTU (the session's fell), that is
 * a new error, never one it ignored, and a new window starts. One that ignores its errors
 * retransmits within seconds (TCP backs off from 200 ms, doubling), so its window stays open.
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
/* A flow answered after this long without an error starts a new window. */
#define MG_ANSWERED_QUIET_NS 10000000000ull

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
	__u32 *ports;
	__u64 h;

	/* Arguments of a global function are unknown scalars to the verifier: bound both. */
	if (l4_off > MG_HEADER_OFF_MAX || l3_off > MG_L3_OFF_MAX)
		return 0;
	ports = data + l4_off;
	if ((void *)(ports + 1) > data_end)
		return 0;
	h = ((__u64)proto << 32 | *ports) * 0x9e3779b97f4a7c15ull;
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
 * The flow is being answered now (mg_now() of the packet) with an error announcing `mtu`:
 * remember it, starting a new window when it is new to its slot, was quiet or is told another
 * MTU; count it as unheeded when its window opened a second or more before.
 */
static __always_inline void mg_flow_answered(__u64 flow, const struct mg_iface *iface, __u64 now,
					     __u32 mtu)
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
		seen->unheeded = 0;
		seen->first_answered_ns = now;
		seen->last_answered_ns = now;
		seen->mtu = mtu;
		return;
	}
	/* the clock is the global jiffies: it never runs backwards between CPUs */
	if (now - seen->last_answered_ns >= MG_ANSWERED_QUIET_NS || seen->mtu != mtu) {
		seen->first_answered_ns = now;
		seen->last_answered_ns = now;
		seen->mtu = mtu;
		return;
	}
	seen->last_answered_ns = now;
	if (now - seen->first_answered_ns < MG_UNHEEDED_AFTER_NS)
		return;
	seen->unheeded++;
	unheeded = bpf_map_lookup_elem(&mg_unheeded, &slot);
	if (unheeded)
		(*unheeded)++;
}

#endif /* MTUGUARD_FLOWS_BPF_H */
