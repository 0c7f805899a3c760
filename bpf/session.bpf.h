/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sessions: those in the client pools (--client-pool; arrays indexed by the address's offset in
 * the pool), the other exact tunnel addresses (hash), the pool prefixes that give defaults to a
 * whole client pool (LPM trie), and a session's effective MTU. A session's value also holds its
 * counters, which the program updates in place. The daemon replaces a hashed session's value
 * with one map update and a client pool slot's policy with one 8-byte store, so a packet sees
 * either the old or the new session, never a mix.
 */
#ifndef MTUGUARD_SESSION_BPF_H
#define MTUGUARD_SESSION_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "config.bpf.h"
#include "mtuguard_kern_user.h"
#include "parse.bpf.h"

/*
 * Exact sessions, by family: IPv4 keyed by the bare address (hashing 4 bytes, not 16, on every
 * packet). Not preallocated: kernel memory follows the sessions that exist, not the capacity.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* --max-sessions sets it at load time */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __be32);
	__type(value, struct mg_session);
} mg_sessions4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* --max-sessions sets it at load time */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_addr);
	__type(value, struct mg_session);
} mg_sessions6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_MAX_POOLS);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct mg_pool_key);
	__type(value, struct mg_session);
} mg_pools SEC(".maps");

/*
 * The client pools' slots, one per address, a family's pools back to back (each from its base), a session or the covering pool prefix's policy
 * (MG_SESSION_POOL_FILL) or empty (dtls_mtu 0). Sized to the pools at load time; mmapped by the
 * daemon, which writes policies with single 8-byte stores.
 */
struct mg_direct_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the family's pools' sizes summed, set at load time */
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mg_session);
};
struct mg_direct_map mg_direct4 SEC(".maps");
struct mg_direct_map mg_direct6 SEC(".maps");

/*
 * Who each exact session belongs to (struct mg_session_meta), keyed by its mapped address. Only
 * the daemon reads and writes it; it lives here so that it is pinned and re-adopted with the
 * sessions. Sized at load time to both families' session maps.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072); /* 2 x --max-sessions, set at load time */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_addr);
	__type(value, struct mg_session_meta);
} mg_session_meta SEC(".maps");

/* Zero (no client pools) until the daemon writes it, before attaching. */
struct mg_client_pools mg_client_pools;

/* The ABI version of the pinned maps, written once by the daemon that created them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mg_abi SEC(".maps");

/* A session's policy, read with one 8-byte load (see struct mg_session). */
union mg_policy {
	__u64 word;
	struct {
		__u16 dtls_mtu;
		__u16 tls_mtu;
		__u8 transport;
		__u8 source;
		__u8 mss_clamp;
		__u8 flags;
	};
};

static __always_inline union mg_policy mg_policy_of(const struct mg_session *session)
{
	union mg_policy policy;

	policy.word = *(const volatile __u64 *)session;
	return policy;
}

/*
 * A client pool slot: an empty one is no session (and no pool prefix covers it). Whether it is
 * empty is decided on the same copy of the policy the packet is then judged by: the daemon may
 * empty the slot between any two loads, and a second load would judge the packet by an all-zero
 * policy (an MTU of 0).
 */
static __always_inline struct mg_session *mg_direct_slot(void *map, __u32 offset,
							 union mg_policy *policy)
{
	struct mg_session *slot = bpf_map_lookup_elem(map, &offset);

	if (!slot)
		return NULL;
	*policy = mg_policy_of(slot);
	return policy->dtls_mtu ? slot : NULL;
}

/*
 * The entry of the pool table that may hold an address whose bucket two pools share (see struct
 * mg_client_pools): the last whose first address is at or below it (entry 0 if none is), by a
 * binary search of mg_client_pools' step count. Global functions, verified once on their own:
 * the caller sees one unknown entry, not a path per outcome of the search, which would multiply
 * the states of everything after it. The caller masks the entry; a search never exceeds it.
 */
__attribute__((noinline)) __u32 mg_pool_search4(__u32 addr)
{
	__u32 i = 0, step = mg_client_pools.step4;

#pragma unroll
	for (int k = 0; k < MG_CLIENT_POOL_STEPS; k++) {
		if (step && mg_client_pools.pools4[(i + step) & (MG_MAX_CLIENT_POOLS - 1)].first <= addr)
			i += step;
		step >>= 1;
	}
	return i;
}

__attribute__((noinline)) __u32 mg_pool_search6(__u64 high, __u64 low)
{
	__u32 i = 0, step = mg_client_pools.step6;
	const struct mg_client_pool6 *pool;

#pragma unroll
	for (int k = 0; k < MG_CLIENT_POOL_STEPS; k++) {
		pool = &mg_client_pools.pools6[(i + step) & (MG_MAX_CLIENT_POOLS - 1)];
		if (step && (pool->high < high || (pool->high == high && pool->first <= low)))
			i += step;
		step >>= 1;
	}
	return i;
}

/*
 * One load for any number of pools, a single pool's included (its buckets all name entry 0):
 * the entry comes out of either way as the same unknown, so the verifier walks what follows once.
 */
static __always_inline __u32 mg_pool_entry4(__u32 addr)
{
	__u32 entry = mg_client_pools.buckets4[mg_pool_bucket(0, addr, mg_client_pools.shift4,
								       mg_client_pools.seed4)];

	if (entry & MG_POOL_BUCKET_SEARCH)
		entry = mg_pool_search4(addr);
	return entry & (MG_MAX_CLIENT_POOLS - 1);
}

static __always_inline __u32 mg_pool_entry6(__u64 high, __u64 low)
{
	__u32 entry = mg_client_pools.buckets6[mg_pool_bucket(high, low, mg_client_pools.shift6,
								       mg_client_pools.seed6)];

	if (entry & MG_POOL_BUCKET_SEARCH)
		entry = mg_pool_search6(high, low);
	return entry & (MG_MAX_CLIENT_POOLS - 1);
}

/*
 * A client pool's slot answers for its address whatever it holds: the daemon keeps every
 * session in a pool there and fills the others with their pool prefix's policy. Elsewhere
 * the hash, then the trie, which is skipped while no pool of the family exists: most packets
 * are no session. The session's policy comes back in `policy`, loaded once: the packet is
 * judged by that copy alone.
 */
static __always_inline struct mg_session *mg_session_lookup(const struct mg_packet *pkt,
							    const struct mg_settings *settings,
							    union mg_policy *policy)
{
	__u32 pool_bit = pkt->family == MG_FAMILY_IPV4 ? MG_HAS_POOLS4 : MG_HAS_POOLS6;
	const struct mg_client_pool4 *pool4;
	const struct mg_client_pool6 *pool6;
	struct mg_session *session;
	struct mg_pool_key key;
	__u64 high, low, offset6;
	__u32 offset, addr;

	if (pkt->family == MG_FAMILY_IPV4) {
		addr = bpf_ntohl(pkt->peer4);
		pool4 = &mg_client_pools.pools4[mg_pool_entry4(addr)];
		offset = addr - pool4->first;
		if (offset < pool4->size)
			return mg_direct_slot(&mg_direct4, pool4->base + offset, policy);
		session = bpf_map_lookup_elem(&mg_sessions4, &pkt->peer4);
	} else {
		__builtin_memcpy(&high, &pkt->peer6.bytes[0], sizeof(high));
		__builtin_memcpy(&low, &pkt->peer6.bytes[8], sizeof(low));
		high = bpf_be64_to_cpu(high);
		low = bpf_be64_to_cpu(low);
		pool6 = &mg_client_pools.pools6[mg_pool_entry6(high, low)];
		offset6 = low - pool6->first;
		if (offset6 < pool6->size && pool6->high == high)
			return mg_direct_slot(&mg_direct6, pool6->base + (__u32)offset6, policy);
		session = bpf_map_lookup_elem(&mg_sessions6, &pkt->peer6);
	}
	if (!session && (settings->has_pools & pool_bit)) {
		key.prefixlen = 8 * MG_ADDR_LEN;
		mg_peer_mapped(pkt, &key.addr);
		session = bpf_map_lookup_elem(&mg_pools, &key);
	}
	if (session)
		*policy = mg_policy_of(session);
	return session;
}

static __always_inline __u32 mg_effective_mtu(union mg_policy policy)
{
	return policy.transport == MG_TRANSPORT_DTLS ? policy.dtls_mtu : policy.tls_mtu;
}

/*
 * Where an oversize packet is counted: the session's own counters, or for a client pool slot
 * filled with a pool prefix's policy, that prefix's (its trie entry, as when no client pool is
 * configured). The trie lookup is paid on the oversize path only.
 */
static __always_inline struct mg_session_stats *mg_session_stats(const struct mg_packet *pkt,
								  struct mg_session *session,
								  union mg_policy policy)
{
	struct mg_session *pool;
	struct mg_pool_key key;

	if (!(policy.flags & MG_SESSION_POOL_FILL))
		return &session->stats;
	key.prefixlen = 8 * MG_ADDR_LEN;
	mg_peer_mapped(pkt, &key.addr);
	pool = bpf_map_lookup_elem(&mg_pools, &key);
	return pool ? &pool->stats : &session->stats;
}

#endif /* MTUGUARD_SESSION_BPF_H */
