// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ICMP paths warm. BPF_PROG_TEST_RUN runs a (non-live) XDP program `repeat` times on one
 * buffer and never restores it, so after the first repetition the ICMP path sees the error it
 * built. Here the real enforcement program (bpf/mtuguard.bpf.c, included whole, with its maps:
 * mtuguard_bench loads the object on those of an instance it filled through the loader, mtuguard_ab
 * fills the object's own) runs behind a restore that turns the buffer back into the original
 * oversize frame first, so every repetition takes the ICMP path:
 *
 *   restore_only           the restore, then XDP_PASS
 *   restore_then_mtuguard  the restore, then mtuguard_xdp() inlined
 *   shrink_then_restore    the error's shape without its content (the head grown and the tail
 *                          cut as the ICMP path does, nothing written), then the restore
 *
 * The MSS clamp, in tc since the XDP program no longer touches TCP options, alike:
 *
 *   tc_pass                the empty tc program (the MSS row's base)
 *   mss_restore_only       the restore (bpf_skb_store_bytes of the head), then TC_ACT_OK
 *   mss_restore_then_clamp the restore, then mtuguard_mss_in() inlined
 *
 * On a frame of the original length the restore only writes the first WARM_HEAD_LEN bytes back;
 * after an ICMP error it first gives back the pushed head and regrows the tail (the kernel zeroes
 * the regrown bytes, as the frames' payload is). mtuguard_bench times the programs at a large
 * repeat: restore_then_mtuguard - restore_only is the ICMP path plus the restore's two adjust
 * calls (and the zeroing), which restore_only, running on a frame nothing changed, skips;
 * restore_then_mtuguard - shrink_then_restore is the ICMP path minus the two calls that shape
 * the error. The ICMP path lies between the two.
 */
#include "../bpf/mtuguard.bpf.c"

#include "icmp_warm.h"

/* Written by mtuguard_bench before each measurement. */
struct warm_restore warm_restore;

static __always_inline int warm_restore_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *head;

	if (data_end - data != warm_restore.frame_len) {
		if (bpf_xdp_adjust_head(ctx, warm_restore.pushed))
			return -1;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (bpf_xdp_adjust_tail(ctx, (int)warm_restore.frame_len - (int)(data_end - data)))
			return -1;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}
	if (data + WARM_HEAD_LEN > data_end)
		return -1;
	head = data;
#pragma unroll
	for (int i = 0; i < WARM_HEAD_LEN / 8; i++)
		head[i] = warm_restore.head[i];
	return 0;
}

SEC("xdp")
int restore_only(struct xdp_md *ctx)
{
	return warm_restore_frame(ctx) ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp")
int shrink_then_restore(struct xdp_md *ctx)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -warm_restore.pushed))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_tail(ctx, (int)warm_restore.error_len - (int)(data_end - data)))
		return XDP_ABORTED;
	return warm_restore_frame(ctx) ? XDP_ABORTED : XDP_PASS;
}

/* flatten: mtuguard_xdp is inlined here (a program cannot call another program's entry). */
SEC("xdp")
__attribute__((flatten)) int restore_then_mtuguard(struct xdp_md *ctx)
{
	if (warm_restore_frame(ctx))
		return XDP_ABORTED;
	return mtuguard_xdp(ctx);
}

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/* The SYN's length never changes: writing the head back is the whole restore. */
static __always_inline int warm_restore_skb(struct __sk_buff *skb)
{
	return bpf_skb_store_bytes(skb, 0, warm_restore.head, WARM_HEAD_LEN, 0);
}

SEC("tc")
int mss_restore_only(struct __sk_buff *skb)
{
	return warm_restore_skb(skb) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* flatten: mtuguard_mss_in is inlined here, as mtuguard_xdp is above. */
SEC("tc")
__attribute__((flatten)) int mss_restore_then_clamp(struct __sk_buff *skb)
{
	return warm_restore_skb(skb) ? TC_ACT_SHOT : mtuguard_mss_in(skb);
}
