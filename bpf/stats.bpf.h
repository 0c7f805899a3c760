/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit every verdict leaves through: it counts the packet and its bytes under its
 * interface slot, family and reason in a per-CPU array (no atomics, no contention; the exporter
 * sums the CPUs), then turns the reason into the XDP action. Oversize packets are also counted
 * by size, so a dashboard shows which MTU the traffic wanted.
 */
#ifndef MTUGUARD_STATS_BPF_H
#define MTUGUARD_STATS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "mtuguard_kern_user.h"
#include "parse.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_COUNTER_ENTRIES);
	__type(key, __u32);
	__type(value, struct mg_counter);
} mg_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_HISTOGRAM_ENTRIES);
	__type(key, __u32);
	__type(value, struct mg_size_histogram);
} mg_oversize_sizes SEC(".maps");

static __always_inline __u32 mg_size_bucket(__u32 len)
{
	/* MG_SIZE_BUCKET_BOUNDS, unrolled: the verifier sees nine compares, no loop */
	if (len <= 1418)
		return len <= 1300 ? (len <= 1280 ? 0 : 1) :
		       len <= 1347 ? 2 : len <= 1380 ? 3 : len <= 1400 ? 4 : 5;
	return len <= 1450 ? 6 : len <= 1500 ? 7 : len <= 9000 ? 8 : 9;
}

static __always_inline void mg_count_oversize(const struct mg_iface *iface,
					      const struct mg_packet *pkt)
{
	__u32 index = (iface ? iface->slot : 0) * MG_FAMILY_COUNT + pkt->family;
	struct mg_size_histogram *h = bpf_map_lookup_elem(&mg_oversize_sizes, &index);

	if (h) {
		h->buckets[mg_size_bucket(pkt->l3_len)]++;
		h->sum += pkt->l3_len;
	}
}

static __always_inline int mg_count_exit(const struct mg_iface *iface,
					 const struct mg_packet *pkt, __u32 reason)
{
	__u32 index = mg_counter_index(iface ? iface->slot : 0, pkt->family, reason);
	struct mg_counter *counter = bpf_map_lookup_elem(&mg_counters, &index);

	if (counter) {
		counter->packets++;
		counter->bytes += pkt->frame_len;
	}
	return mg_reason_xdp_action(reason);
}

#endif /* MTUGUARD_STATS_BPF_H */
