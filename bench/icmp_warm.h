/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by bench/icmp_warm.bpf.c and mtuguard_bench: what the restore puts back before each
 * repetition of BPF_PROG_TEST_RUN (a global of the program, written through the skeleton).
 */
#ifndef MTUGUARD_BENCH_ICMP_WARM_H
#define MTUGUARD_BENCH_ICMP_WARM_H

#include <linux/types.h>

/* Bytes of the frame the restore writes back: Ethernet + IPv6 + UDP headers (62) fit. */
#define WARM_HEAD_LEN 64

struct warm_restore {
	__u32 frame_len; /* the original frame's length */
	__s32 pushed;    /* bytes the ICMP error grew the head by (28 for IPv4, 48 for IPv6) */
	__u32 error_len; /* the ICMP error's frame length (shrink_then_restore cuts to it) */
	__u32 pad;
	__u64 head[WARM_HEAD_LEN / 8]; /* the original frame's first WARM_HEAD_LEN bytes */
};

#endif /* MTUGUARD_BENCH_ICMP_WARM_H */
