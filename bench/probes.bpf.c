// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark probes: one XDP program per building block the enforcement program is made of, each
 * doing that one thing and returning XDP_PASS only when it worked, so mtuguard_bench can price
 * the blocks against the empty program and say where a path's time goes. Deliberately free of
 * mtuguard's own headers: the blocks are priced as the kernel provides them (the key and value
 * sizes are those of mtuguard's maps), and a change to the real program never breaks them.
 * Every probe leaves the packet as it found it, so a large repeat measures it honestly.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Where the probes read: the destination address of the IPv6 frame the benchmark passes in. */
#define PROBE_IPV6_DST_OFF (14 + 24)
/* The IPv6 frame is at least this long: Ethernet + the 1280-byte ICMPv6 error's span. */
#define PROBE_MIN_FRAME (14 + 1280)

struct probe_key16 {
	__u8 bytes[16];
};

/* As mtuguard's interface table: keyed by ifindex, a 32-byte value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8[32]);
} probe_hash4 SEC(".maps");

/* As mtuguard's session map: a 16-byte address, an 8-byte value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct probe_key16);
	__type(value, __u64);
} probe_hash16 SEC(".maps");

/* As mtuguard's counters: packets and bytes per entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64[2]);
} probe_counters SEC(".maps");

SEC("xdp")
int probe_lookup4(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;

	return bpf_map_lookup_elem(&probe_hash4, &ifindex) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_lookup16(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct probe_key16 key;

	if (data + PROBE_IPV6_DST_OFF + sizeof(key) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&key, data + PROBE_IPV6_DST_OFF, sizeof(key));
	return bpf_map_lookup_elem(&probe_hash16, &key) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_count(struct xdp_md *ctx)
{
	__u32 index = 100;
	__u64 *counter = bpf_map_lookup_elem(&probe_counters, &index);

	if (!counter)
		return XDP_DROP;
	counter[0]++;
	counter[1] += ctx->data_end - ctx->data;
	return XDP_PASS;
}

/* A shared counter, as the per-session statistics: an atomic add on a map value. */
__u64 probe_shared_counter;

SEC("xdp")
int probe_atomic(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&probe_shared_counter, 1);
	return XDP_PASS;
}

SEC("xdp")
int probe_ktime(struct xdp_md *ctx)
{
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

/* The tick-based clock: what a token bucket refilled at a few hundred tokens a second could use. */
SEC("xdp")
int probe_ktime_coarse(struct xdp_md *ctx)
{
	return bpf_ktime_get_coarse_ns() ? XDP_PASS : XDP_DROP;
}

/* The same resolution as the program reads it (bpf/clock.bpf.h): one load, inlined. */
SEC("xdp")
int probe_jiffies(struct xdp_md *ctx)
{
	return bpf_jiffies64() ? XDP_PASS : XDP_DROP;
}

/* bpf_csum_diff over `len` bytes in calls of at most 512, as a kernel that sums no more needs. */
static __always_inline __s64 probe_sum_chunks(void *start, const __u32 len, __s64 seed)
{
	__s64 sum = seed;

	for (__u32 off = 0; off < 2048 && off < len && sum >= 0; off += 512)
		sum = bpf_csum_diff(0, 0, start + off, len - off < 512 ? len - off : 512, sum);
	return sum;
}

/* The spans an ICMPv4 error is summed over: IP header, then ICMP header + quote (512 + 44). */
SEC("xdp")
int probe_csum4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__s64 sum;

	if (data + PROBE_MIN_FRAME > data_end)
		return XDP_ABORTED;
	sum = bpf_csum_diff(0, 0, data + 14, 20, 0);
	if (sum < 0)
		return XDP_DROP;
	sum = probe_sum_chunks(data + 34, 556, 0);
	return sum < 0 ? XDP_DROP : XDP_PASS;
}

/* The spans an ICMPv6 error is summed over: pseudo header, ICMPv6 header + quote (512+512+216). */
SEC("xdp")
int probe_csum6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 pseudo[40] = {};
	__s64 sum;

	if (data + PROBE_MIN_FRAME > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(pseudo, data + 22, 32);
	sum = bpf_csum_diff(0, 0, (void *)pseudo, sizeof(pseudo), 0);
	if (sum < 0)
		return XDP_DROP;
	sum = probe_sum_chunks(data + 54, 1240, sum);
	return sum < 0 ? XDP_DROP : XDP_PASS;
}

/* Grow the head as the ICMP errors do, then give it back: two calls. */
SEC("xdp")
int probe_head(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -48))
		return XDP_DROP;
	return bpf_xdp_adjust_head(ctx, 48) ? XDP_DROP : XDP_PASS;
}

/* Cut the tail as the ICMP errors do, then restore it: two calls (the regrown byte is zeroed). */
SEC("xdp")
int probe_tail(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_tail(ctx, -1))
		return XDP_DROP;
	return bpf_xdp_adjust_tail(ctx, 1) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
