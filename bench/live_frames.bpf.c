// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The live-frames generator and its companions, for the live benchmark (live_tool.cpp);
 * live_frames.cpp drives it:
 *
 *   live_gen    run by BPF_PROG_TEST_RUN in live-frames mode: gives each frame the next of
 *               `addr_count` IPv4 addresses from `addr_base`, as its source (`step_source`) or
 *               its destination, and sends it out of the interface the run names (XDP_TX). The
 *               frames are real: they cross the veth and reach the peer's XDP program as any
 *               other would
 *   live_count  attached to a veth that receives: counts what arrives, ICMP "fragmentation
 *               needed" apart, and drops it (the cheapest possible receiver)
 *   live_pass   XDP_PASS: the gateway's inside veth without the agent must still have an XDP
 *               program, or a veth drops the XDP_TX frames sent to it
 *   live_fanout where live frames are refused: on the far side of a veth a packet socket sends
 *               into, hands every frame on to each entry of `fanout` (BPF_F_BROADCAST: the
 *               sender's veth toward the gateway, FANOUT times) as XDP frames, so the gateway
 *               receives frames with XDP headroom, as from live_gen or a NIC, instead of socket
 *               buffers its veth must copy; and each socket frame, costly to make, becomes many
 *   live_stamp  the devmap program of `fanout`'s entries: writes each copy's headers as live_gen
 *               does, so every copy goes to the next address
 *
 * The headers are written whole on every frame, from `headers`: the kernel fills a page with the
 * template only when it first allocates it, and a page comes back to the run's pool after the
 * receiver is done with it, so a frame the receiver turned into an ICMP error (mtuguard does that
 * in place) would otherwise go out again as whatever it became. One run of live_gen at a time, on
 * one CPU: the sequence needs no atomics.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define LIVE_HEADERS (sizeof(struct ethhdr) + sizeof(struct iphdr) + 8) /* + UDP */

const volatile __u16 headers[LIVE_HEADERS / 2] = {};
const volatile __u32 addr_base = 0; /* host byte order */
const volatile __u32 addr_count = 1;
const volatile __u8 step_source = 0; /* a load-time constant: the verifier keeps one branch */
__u64 sequence = 0;

#define LIVE_MAX_FANOUT 32 /* 32 copies of one frame fit a veth's ring of 256 several times over */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, LIVE_MAX_FANOUT);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} fanout SEC(".maps");

/* What live_count saw: all frames, and the ICMP errors type 3 code 4 among them. */
__u64 received = 0;
__u64 frag_needed = 0;

/* The template's headers, with the next address and their checksum; false when the frame is too
 * short to hold them. */
static __always_inline int stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u16 *word = (__u16 *)ip;
	__u16 *frame = data;
	__u32 addr, sum = 0;

	if (data + LIVE_HEADERS > data_end)
		return 0;
#pragma unroll
	for (unsigned int i = 0; i < LIVE_HEADERS / 2; i++)
		frame[i] = headers[i];
	addr = bpf_htonl(addr_base + (__u32)(sequence++ % addr_count));
	if (step_source)
		ip->saddr = addr;
	else
		ip->daddr = addr;
	ip->check = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += word[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	ip->check = (__u16)~sum;
	return 1;
}

SEC("xdp")
int live_gen(struct xdp_md *ctx)
{
	return stamp(ctx) ? XDP_TX : XDP_ABORTED;
}

SEC("xdp")
int live_fanout(struct xdp_md *ctx)
{
	return bpf_redirect_map(&fanout, 0, BPF_F_BROADCAST);
}

SEC("xdp/devmap")
int live_stamp(struct xdp_md *ctx)
{
	return stamp(ctx) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int live_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u8 *icmp;

	__sync_fetch_and_add(&received, 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != 1 /* ICMP */)
		return XDP_DROP;
	icmp = (__u8 *)ip + ip->ihl * 4;
	if ((void *)(icmp + 2) <= data_end && icmp[0] == 3 && icmp[1] == 4)
		__sync_fetch_and_add(&frag_needed, 1);
	return XDP_DROP;
}

SEC("xdp")
int live_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
