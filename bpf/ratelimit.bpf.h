/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token buckets for the ICMP errors the program originates (RFC 4443 2.4(f) requires a limit;
 * RFC 1812 4.3.2.8 recommends one): one per source address in an LRU hash, so a single noisy
 * sender cannot use up everyone's budget, and one global bucket that bounds what the gateway
 * emits in all. Tokens are kept in nanotokens so refilling is a multiplication; the fill time is
 * precomputed by the daemon so the data path never divides. The global bucket is taken under a
 * spin lock, which makes the configured rate + burst an exact ceiling across CPUs; LRU hashes
 * cannot hold a spin lock, so a per-source bucket may, when two CPUs race on one source, hand
 * out a token too many — the global ceiling still holds.
 */
#ifndef MTUGUARD_RATELIMIT_BPF_H
#define MTUGUARD_RATELIMIT_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
#include "mtuguard_kern_user.h"

#define MG_NSEC_PER_SEC 1000000000ull

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_locked_bucket);
} mg_icmp_global_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_RATELIMIT_SOURCES);
	__type(key, struct mg_addr);
	__type(value, struct mg_bucket);
} mg_icmp_source_buckets SEC(".maps");

static __always_inline int mg_bucket_take(struct mg_bucket *bucket, __u64 capacity,
					  __u64 fill_ns, __u64 rate, __u64 now)
{
	int granted;

	/* Clocks of two CPUs may disagree by a little: never refill for negative time. */
	if (now > bucket->last_ns) {
		__u64 elapsed = now - bucket->last_ns;

		/* elapsed < fill_ns bounds elapsed * rate by the capacity: no overflow */
		if (elapsed >= fill_ns || bucket->nanotokens + elapsed * rate > capacity)
			bucket->nanotokens = capacity;
		else
			bucket->nanotokens += elapsed * rate;
		bucket->last_ns = now;
	}
	granted = bucket->nanotokens >= MG_NSEC_PER_SEC;
	if (granted)
		bucket->nanotokens -= MG_NSEC_PER_SEC;
	return granted;
}

static __always_inline int mg_source_may_send(const struct mg_bucket_config *config,
					      const struct mg_addr *source, __u64 now)
{
	struct mg_bucket *bucket;

	if (!config->rate)
		return 1;
	bucket = bpf_map_lookup_elem(&mg_icmp_source_buckets, source);
	if (!bucket) {
		/* A new source starts with a full bucket; last_ns = 0 makes the take fill it. */
		struct mg_bucket fresh = {};

		bpf_map_update_elem(&mg_icmp_source_buckets, source, &fresh, BPF_NOEXIST);
		bucket = bpf_map_lookup_elem(&mg_icmp_source_buckets, source);
		if (!bucket)
			return 0;
	}
	return mg_bucket_take(bucket, config->burst * MG_NSEC_PER_SEC, config->fill_ns,
			      config->rate, now);
}

static __always_inline int mg_global_may_send(const struct mg_bucket_config *config, __u64 now)
{
	__u64 capacity = config->burst * MG_NSEC_PER_SEC;
	__u64 fill_ns = config->fill_ns;
	__u64 rate = config->rate;
	struct mg_locked_bucket *global;
	__u32 zero = 0;
	int granted;

	if (!rate)
		return 1;
	global = bpf_map_lookup_elem(&mg_icmp_global_bucket, &zero);
	if (!global)
		return 0;
	bpf_spin_lock(&global->lock);
	granted = mg_bucket_take(&global->bucket, capacity, fill_ns, rate, now);
	bpf_spin_unlock(&global->lock);
	return granted;
}

/*
 * Per source first: a source over its own limit must not spend the global budget. `now` is
 * mg_now() (the tick, 1-10 ms), read once per oversize packet by the caller: tokens come back a
 * tick's worth at a time, which keeps the rate exact over any interval longer than a tick.
 */
static __always_inline int mg_icmp_may_send(const struct mg_settings *settings,
					    const struct mg_addr *source, __u64 now)
{
	return mg_source_may_send(&settings->icmp_per_source, source, now) &&
	       mg_global_may_send(&settings->icmp_global, now);
}

#endif /* MTUGUARD_RATELIMIT_BPF_H */
