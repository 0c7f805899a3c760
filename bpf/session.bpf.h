/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sessions: the exact tunnel addresses (hash) and the pool prefixes that give defaults to a
 * whole client pool (LPM trie), and a session's effective MTU. A session's value also holds its
 * counters, which the program updates in place. The daemon replaces a session's
 * value with one map update, so a packet sees either the old or the new session, never a mix.
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

/* The ABI version of the pinned maps, written once by the daemon that created them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mg_abi SEC(".maps");

/* The trie lookup is skipped while no pool of the family exists: most packets are no session. */
static __always_inline struct mg_session *mg_session_lookup(const struct mg_packet *pkt)
{
	__u32 pool_bit = pkt->family == MG_FAMILY_IPV4 ? MG_HAS_POOLS4 : MG_HAS_POOLS6;
	struct mg_session *session;
	struct mg_pool_key key;

	if (pkt->family == MG_FAMILY_IPV4)
		session = bpf_map_lookup_elem(&mg_sessions4, &pkt->peer4);
	else
		session = bpf_map_lookup_elem(&mg_sessions6, &pkt->peer6);
	if (session || !(mg_settings.has_pools & pool_bit))
		return session;
	key.prefixlen = 8 * MG_ADDR_LEN;
	mg_peer_mapped(pkt, &key.addr);
	return bpf_map_lookup_elem(&mg_pools, &key);
}

static __always_inline __u32 mg_effective_mtu(const struct mg_session *session)
{
	return session->transport == MG_TRANSPORT_DTLS ? session->dtls_mtu : session->tls_mtu;
}

#endif /* MTUGUARD_SESSION_BPF_H */
