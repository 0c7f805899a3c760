// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The hostile-traffic generator's program (xdp_flood.cpp): run by BPF_PROG_TEST_RUN in live-frames
 * mode, it gives each frame the next of `source_count` IPv4 source addresses from `source_base` and
 * sends it out of the interface the run names (XDP_TX). The frames are real: they cross the veth
 * and reach the peer's XDP program as any other would. One run at a time, on one CPU, so the
 * sequence needs no atomics.
 *
 * The headers are written whole on every frame, from `headers`: the kernel fills a page with the
 * template only when it first allocates it, and a page comes back to the run's pool after the
 * receiver is done with it, so a frame the receiver turned into an ICMP error (mtuguard does that
 * in place) would otherwise go out again as whatever it became.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define FLOOD_HEADERS (sizeof(struct ethhdr) + sizeof(struct iphdr) + 8) /* + UDP */

const volatile __u16 headers[FLOOD_HEADERS / 2] = {};
const volatile __u32 source_base = 0; /* host byte order */
const volatile __u32 source_count = 1;
__u64 sequence = 0;

SEC("xdp")
int xdp_flood(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u16 *word = (__u16 *)ip;
	__u16 *frame = data;
	__u32 sum = 0;

	if (data + FLOOD_HEADERS > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (unsigned int i = 0; i < FLOOD_HEADERS / 2; i++)
		frame[i] = headers[i];
	ip->saddr = bpf_htonl(source_base + (__u32)(sequence++ % source_count));
	ip->check = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += word[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	ip->check = (__u16)~sum;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
