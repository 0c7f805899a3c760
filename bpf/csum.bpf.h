/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum helpers (RFC 1071, RFC 1624). Sums over packet data go through
 * bpf_csum_diff, which takes at most 512 bytes per call: longer spans are summed in chunks with
 * the running sum as the seed.
 */
#ifndef MTUGUARD_CSUM_BPF_H
#define MTUGUARD_CSUM_BPF_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 mg_csum_fold(__u64 sum)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The ones' complement sum (unfolded) of `words` 16-bit words, for short spans. */
static __always_inline __u64 mg_sum16(const __u16 *data, const int words)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < words; i++)
		sum += data[i];
	return sum;
}

/*
 * The ones' complement sum (unfolded, or a negative error) of `len` bytes of packet data; `len`
 * a constant multiple of 4. Newer kernels (6.18 here) sum any length in one call; older ones sum
 * through a 512-byte scratch buffer and refuse more (-EINVAL, before touching the data): those
 * get the span in 512-byte chunks, after one wasted call.
 */
#define MG_CSUM_SPAN_MAX 2048 /* the longest span summed (an ICMP error is at most 1280 bytes) */

static __always_inline __s64 mg_csum_span(void *start, const __u32 len)
{
	__s64 sum = bpf_csum_diff(0, 0, start, len, 0);

	if (sum >= 0 || len <= 512)
		return sum;
	sum = 0;
	for (__u32 off = 0; off < MG_CSUM_SPAN_MAX && off < len && sum >= 0; off += 512)
		sum = bpf_csum_diff(0, 0, start + off, len - off < 512 ? len - off : 512, sum);
	return sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit field changing from m to m'. */
static __always_inline __u16 mg_csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32) new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* MTUGUARD_CSUM_BPF_H */
