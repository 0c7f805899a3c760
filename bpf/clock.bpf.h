/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The clock of the oversize paths: the session's last-oversize stamp, the answered flows and the
 * ICMP token buckets all need tick resolution, no better. bpf_ktime_get_coarse_ns() has it, but
 * is a helper call that reads the timekeeper under a sequence count; jiffies are one load the
 * verifier inlines for bpf_jiffies64(). Scaled by the tick length and counted from the value
 * jiffies start at, they are CLOCK_MONOTONIC's nanoseconds, late by the moment the tick started
 * at boot (a fraction of a second), which matters to no comparison made with them: the program
 * only takes differences, and the daemon shows the stamp as a time of day.
 */
#ifndef MTUGUARD_CLOCK_BPF_H
#define MTUGUARD_CLOCK_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "mtuguard_kern_user.h"

/* Written by the daemon before attaching (zero would stop the clock). */
struct mg_clock mg_clock;

static __always_inline __u64 mg_now(void)
{
	return (bpf_jiffies64() - mg_clock.initial_jiffies) * mg_clock.tick_ns;
}

#endif /* MTUGUARD_CLOCK_BPF_H */
