/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one ABI shared by the BPF programs and the C++ side: map keys and values, the verdict
 * reason enum, settings and the counter layout. Fixed-width types and explicit padding only;
 * userspace/kernel/abi_check.cpp proves every size and offset with static_assert, so a change here that
 * moves a field fails the build instead of corrupting a map.
 */
#ifndef MTUGUARD_KERN_USER_H
#define MTUGUARD_KERN_USER_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

#define MG_ADDR_LEN 16

/* Interfaces one daemon enforces on; slot 0 counts packets from an interface it does not know. */
#define MG_MAX_IFACES 128
/*
 * Interfaces with an ifindex below this are found by direct index (an array lookup the verifier
 * inlines: no hashing on every packet); higher ones, rare, by hash.
 */
#define MG_IFINDEX_DIRECT 4096
/* Pool prefixes (LPM trie entries). */
#define MG_MAX_POOLS 4096
/* Sources tracked by the per-source ICMP token bucket (LRU: the least recent is forgotten). */
#define MG_RATELIMIT_SOURCES 65536
/* Flows remembered after their ICMP error, to count those that ignore it (flows.bpf.h): a
 * direct-mapped table, so a power of two. */
#define MG_ANSWERED_FLOWS 65536

/*
 * What an ICMP error quotes of the offending datagram: as much as fits in the minimum
 * datagram every host accepts (RFC 1812 4.3.2.3: 576 bytes for IPv4; RFC 4443 2.4(c): 1280 for
 * IPv6). An oversize packet is always longer than this, so the quote has a fixed length.
 */
#define MG_ICMP4_QUOTE (576 - 20 - 8)
#define MG_ICMP6_QUOTE (1280 - 40 - 8)
/* The smallest MTU a session may have: the IPv4 minimum datagram size (RFC 791). */
#define MG_MIN_MTU 576
/* IPv6's minimum link MTU (RFC 8200 5). */
#define MG_IPV6_MIN_MTU 1280
#define MG_ICMP_TTL 64
/* IPv4 flags and fragment offset (host order), which uapi headers do not export. */
#define MG_IP_DF 0x4000
#define MG_IP_MF 0x2000
#define MG_IP_OFFSET 0x1fff

enum mg_transport {
	MG_TRANSPORT_DTLS = 0,
	MG_TRANSPORT_TLS = 1,
	MG_TRANSPORT_COUNT,
};

/* What to do with an oversize packet that may not be fragmented (IPv4 DF set, or IPv6). */
enum mg_action {
	MG_ACTION_ICMP = 0,     /* drop and answer with frag-needed / Packet Too Big */
	MG_ACTION_DROP = 1,     /* drop silently */
	MG_ACTION_CLEAR_DF = 2, /* IPv4: clear DF and pass, the tunnel fragments; IPv6: as ICMP */
	MG_ACTION_MONITOR = 3,  /* count and pass */
	MG_ACTION_COUNT,
};

enum mg_family {
	MG_FAMILY_OTHER = 0,
	MG_FAMILY_IPV4 = 1,
	MG_FAMILY_IPV6 = 2,
	MG_FAMILY_COUNT,
};

/* The names reports and metric labels use. */
static inline const char *mg_family_name(__u32 family)
{
	return family == MG_FAMILY_IPV4 ? "ipv4" : family == MG_FAMILY_IPV6 ? "ipv6" : "other";
}

/*
 * Every verdict the program reaches, one counter each, written once here: X(NAME, number, kind,
 * "label") gives the enum value MG_REASON_NAME, its number in the pinned counter array (fixed:
 * a new reason takes a new number, a retired one stays as MG_REASON_UNUSED_<n> so that no
 * counter of a running program changes meaning), the metric family it counts in and the name
 * every report uses (mg_reason_name; the exporter drops the "suppressed_" of the suppressed
 * family's labels). The order matters: reasons before MG_REASON_FIRST_DROP pass the packet,
 * MG_REASON_ICMP_SENT transmits the rewritten packet, the rest drop it (mg_reason_xdp_action).
 */
enum mg_reason_kind {
	MG_REASON_KIND_PASSED = 0,     /* mtuguard_passed_packets_total */
	MG_REASON_KIND_OVERSIZE = 1,   /* mtuguard_oversize_packets_total */
	MG_REASON_KIND_SUPPRESSED = 2, /* mtuguard_icmp_suppressed_total, and oversize */
};

#define MG_REASONS(X)                                                                            \
	/* passed */                                                                             \
	X(NOT_IP, 0, PASSED, "not_ip")             /* neither IPv4 nor IPv6 */                   \
	X(MALFORMED, 1, PASSED, "malformed")       /* IP header truncated or inconsistent */     \
	X(NO_SESSION, 2, PASSED, "no_session")     /* destination (source, from a client) is not a session */ \
	X(WITHIN_MTU, 3, PASSED, "within_mtu")     /* fits the session's effective MTU */        \
	X(FROM_CLIENT, 4, PASSED, "from_client")   /* from a session, on a --client-iface: counted only */ \
	X(AGGREGATED, 5, PASSED, "aggregated")     /* longer than the interface MTU: TSO/GSO, judged in tc */ \
	X(FRAGMENTED, 6, OVERSIZE, "fragmented")   /* IPv4 oversize without DF: the tunnel fragments it */ \
	X(IPV6_BELOW_MIN, 7, OVERSIZE, "ipv6_below_min") /* IPv6 between the MTU and 1280 */     \
	X(MONITORED, 8, OVERSIZE, "monitored")     /* oversize, action monitor */                \
	X(DF_CLEARED, 9, OVERSIZE, "df_cleared")   /* oversize, action clear-df */               \
	/* dropped */                                                                            \
	X(DROPPED, 10, OVERSIZE, "dropped")        /* oversize, action drop */                   \
	X(ICMP_RATELIMITED, 11, OVERSIZE, "icmp_ratelimited") /* ICMP error withheld by the rate limit */ \
	X(SUPPRESSED_ICMP_ERROR, 12, SUPPRESSED, "suppressed_icmp_error") /* an ICMP error: never answered */ \
	X(SUPPRESSED_FRAGMENT, 13, SUPPRESSED, "suppressed_fragment") /* non-first IPv4 fragment (RFC 1812) */ \
	X(SUPPRESSED_MULTICAST, 14, SUPPRESSED, "suppressed_multicast") /* IPv4 to multicast or broadcast */ \
	X(SUPPRESSED_BAD_SOURCE, 15, SUPPRESSED, "suppressed_bad_source") /* source not a unicast host */ \
	X(SUPPRESSED_NO_ADDRESS, 16, SUPPRESSED, "suppressed_no_address") /* no address to answer from */ \
	X(SUPPRESSED_UNPARSED, 17, SUPPRESSED, "suppressed_unparsed") /* IPv6 header chain too long */ \
	X(ICMP_FAILED, 18, OVERSIZE, "icmp_failed") /* the packet could not be rewritten into the error */ \
	/* transmitted */                                                                        \
	X(ICMP_SENT, 19, OVERSIZE, "icmp_sent")    /* dropped and answered with an ICMP error */

enum mg_reason {
#define MG_REASON_ENUM(name, number, kind, label) MG_REASON_##name = number,
	MG_REASONS(MG_REASON_ENUM)
#undef MG_REASON_ENUM
	MG_REASON_COUNT, /* one past the highest number */
};

/* Every number below MG_REASON_COUNT is listed once: no gap, no reuse. */
#define MG_LIST_ONE(...) +1
#ifdef __cplusplus
#define MG_STATIC_ASSERT static_assert
#else
#define MG_STATIC_ASSERT _Static_assert
#endif
MG_STATIC_ASSERT(0 MG_REASONS(MG_LIST_ONE) == MG_REASON_COUNT, "MG_REASONS: a number is missing or used twice");

static inline const char *mg_reason_name(__u32 reason)
{
	switch (reason) {
#define MG_REASON_NAME(name, number, kind, label) case number: return label;
	MG_REASONS(MG_REASON_NAME)
#undef MG_REASON_NAME
	}
	return 0;
}

static inline int mg_reason_kind(__u32 reason)
{
	switch (reason) {
#define MG_REASON_KIND(name, number, kind, label) case number: return MG_REASON_KIND_##kind;
	MG_REASONS(MG_REASON_KIND)
#undef MG_REASON_KIND
	}
	return -1;
}

#define MG_REASON_FIRST_DROP MG_REASON_DROPPED

/* enum xdp_action values, spelled out so this header needs no linux/bpf.h. */
static inline __u32 mg_reason_xdp_action(__u32 reason)
{
	if (reason < MG_REASON_FIRST_DROP)
		return 2; /* XDP_PASS */
	if (reason == MG_REASON_ICMP_SENT)
		return 3; /* XDP_TX */
	return 1;         /* XDP_DROP */
}

/*
 * An address as the maps key it: an IPv6 address, or an IPv4 address mapped as ::ffff:a.b.c.d
 * (RFC 4291). Only the IPv4 session map is keyed by the bare 4-byte address: hashing 4 bytes
 * instead of 16 is the largest saving on the per-packet path.
 */
struct mg_addr {
	__u8 bytes[MG_ADDR_LEN];
};

/* Where a session came from: a restarted daemon keeps the ones its configuration does not own. */
enum mg_source {
	MG_SOURCE_STATIC = 0,  /* --session / config file */
	MG_SOURCE_CONTROL = 1, /* mtuguardctl (and ocserv's connect-script through it) */
	MG_SOURCE_OCSERV = 2,  /* --ocserv: occtl's list of users */
	MG_SOURCE_ASA = 3,     /* --syslog-listen: Cisco ASA syslog */
	MG_SOURCE_COUNT,
};

/* A session's own MSS clamping, over the global --mss-clamp. */
enum mg_mss_mode {
	MG_MSS_DEFAULT = 0, /* follow --mss-clamp */
	MG_MSS_ON = 1,
	MG_MSS_OFF = 2,
};

/*
 * Counters of one session (or pool), updated by the program in place on the oversize path only.
 * They live in the session's own map value: no second lookup per oversize packet, and no second
 * map entry per session. The daemon carries them over when it replaces a session.
 */
struct mg_session_stats {
	__u64 oversize_packets;
	__u64 icmp_sent;
	__u64 last_oversize_ns; /* mg_now() of the last oversize packet, 0 = never */
};

/*
 * A session's first 8 bytes are its policy. In a client pool's array (mg_direct4/6) the daemon
 * rewrites them in place with one 8-byte store, so the program reads them with one 8-byte load
 * (mg_policy_of) and decides everything on that copy, whether the slot is empty included: a
 * packet sees the whole old or the whole new policy, never a mix.
 */
struct mg_session {
	__u16 dtls_mtu; /* 0 only in an empty client pool slot: no session */
	__u16 tls_mtu;
	__u8 transport; /* enum mg_transport */
	__u8 source;    /* enum mg_source; the data path ignores it */
	__u8 mss_clamp; /* enum mg_mss_mode */
	__u8 flags;     /* MG_SESSION_* */
	struct mg_session_stats stats;
};

/*
 * Who a session belongs to and what its headend said of it, as its source knew it: kept in
 * mg_session_meta beside the session, only for sessions that have any of it. The data path never
 * reads it; it is pinned with the sessions so that a restarted daemon still knows whose each
 * session is. Names are NUL-padded, at most MG_NAME_MAX - 1 bytes of UTF-8 without control
 * characters (the daemon cleans what a source sends).
 */
#define MG_NAME_MAX 64
struct mg_session_meta {
	char user[MG_NAME_MAX];      /* "" unknown */
	char group[MG_NAME_MAX];     /* "" unknown */
	struct mg_addr public_addr;  /* the client's public address, mapped as mg_addr */
	__u8 has_public;
	__u8 pad;
	__u16 client_mtu;  /* the MTU the client was given and applies; 0: the session's DTLS MTU */
	__u16 headend_mtu; /* the threshold the headend last reported for it (ASA 722036/722035); 0: none */
	__u16 pad2;
};

/*
 * A client pool slot holding the policy of the pool prefix (mg_pools) that covers the address,
 * not a session: the program counts its oversize packets under that prefix.
 */
#define MG_SESSION_POOL_FILL 1u

/*
 * The client pools (--client-pool): sessions whose address lies in one are kept in an array
 * indexed by the pool's base plus the address's offset in the pool (mg_direct4, mg_direct6: all
 * pools of a family back to back), one lookup the verifier inlines, instead of a hash table's.
 * The pool that may hold an address is read from an index of 2^16 buckets per family, each
 * the entry of the one pool whose blocks fall into it: a block is an aligned run of addresses
 * the size of the family's smallest pool, so that it lies in one pool at most (pools are
 * prefixes, aligned to their size). A bucket no pool's block falls into names entry 0, whose
 * bounds then turn the address away; one that blocks of two pools fall into is marked
 * MG_POOL_BUCKET_SEARCH and the pool is found by a binary search over the family's table,
 * sorted by first address, at most four steps. Entries past the last pool repeat it, so that the
 * search never lands on an entry that is no pool. One load finds the pool however many there
 * are. Written by the daemon before it attaches and not changed while the maps live. A pool spans
 * at most the last 32 bits of an address (MG_MAX_CLIENT_POOL).
 */
#define MG_MAX_CLIENT_POOLS 16 /* per family; a power of two: the search halves it */
#define MG_CLIENT_POOL_STEPS 4 /* log2(MG_MAX_CLIENT_POOLS) */
#define MG_POOL_BUCKET_BITS 16
#define MG_POOL_BUCKET_SEARCH 0x80

/*
 * The bucket of an address's block: its number (the last 64 bits shifted by the block size) plus
 * an offset drawn from the first 64 bits, the number's upper bits and the daemon's seed. Within
 * one run of 2^16 block numbers the buckets follow the numbers, so pools near each other never
 * share one; runs elsewhere start at a pseudo-random bucket, and the daemon picks the seed under
 * which the fewest buckets are shared.
 */
static inline __u32 mg_pool_bucket(__u64 high, __u64 low, __u32 shift, __u64 seed)
{
	__u64 block = low >> (shift & 63);
	__u64 offset = ((high ^ (block >> MG_POOL_BUCKET_BITS) ^ seed) * 0x9e3779b97f4a7c15ULL) >>
		       (64 - MG_POOL_BUCKET_BITS);

	return (__u32)(block + offset) & ((1u << MG_POOL_BUCKET_BITS) - 1);
}

struct mg_client_pool4 {
	__u32 first; /* the pool's first address, host byte order */
	__u32 size;  /* addresses in it; 0 = no pool */
	__u32 base;  /* the index of its first slot in mg_direct4 */
	__u32 pad;
};

struct mg_client_pool6 {
	__u64 high;  /* the first 64 bits of its addresses, host byte order */
	__u64 first; /* the last 64 bits of its first address, host byte order */
	__u32 size;  /* addresses in it; 0 = no pool */
	__u32 base;  /* the index of its first slot in mg_direct6 */
};

struct mg_client_pools {
	/* The search's first step: the largest power of two below the pool count (0: one or none). */
	__u32 step4;
	__u32 step6;
	__u32 count4; /* pools in pools4 (the daemon's bookkeeping; the search needs only step4) */
	__u32 count6;
	/* log2 of the family's smallest pool's size: a block's size */
	__u32 shift4;
	__u32 shift6;
	__u64 seed4; /* the buckets' seed (see mg_pool_bucket) */
	__u64 seed6;
	struct mg_client_pool4 pools4[MG_MAX_CLIENT_POOLS];
	struct mg_client_pool6 pools6[MG_MAX_CLIENT_POOLS];
	/* Each bucket: the entry of the pool whose blocks fall into it, or MG_POOL_BUCKET_SEARCH. */
	__u8 buckets4[1u << MG_POOL_BUCKET_BITS];
	__u8 buckets6[1u << MG_POOL_BUCKET_BITS];
};

/* The largest client pool: 2^20 addresses (IPv4 /12, IPv6 /108), 32 MiB of slots. */
#define MG_MAX_CLIENT_POOL (1u << 20)
/* All client pools of one family together: 2^22 addresses, 128 MiB of slots. */
#define MG_MAX_CLIENT_POOL_SLOTS (1u << 22)

/*
 * Bumped whenever a map's key or value layout changes: a daemon refuses pinned maps of
 * another ABI instead of reading them wrongly.
 */
#define MG_ABI_VERSION 9

/* Pool map key (LPM trie): IPv4 prefixes are mapped too, so their length is 96 + the prefix. */
struct mg_pool_key {
	__u32 prefixlen;
	struct mg_addr addr;
};

/*
 * Which way the packets an interface receives travel, relative to the VPN clients; the MSS
 * counters' direction says which way the SYN went (tc egress on an --iface: from the clients).
 */
enum mg_direction {
	MG_DIR_TO_CLIENT = 0,   /* --iface: from inside servers toward clients; MTU enforced */
	MG_DIR_FROM_CLIENT = 1, /* --client-iface: from clients; counted only */
	MG_DIR_COUNT,
};

static inline const char *mg_direction_name(__u32 direction)
{
	return direction == MG_DIR_FROM_CLIENT ? "from_client" : "to_client";
}

#define MG_MAC_LEN 6

/* Per attached interface, filled by the daemon; keyed by ifindex. */
struct mg_iface {
	__u32 slot; /* counter slot, 1 .. MG_MAX_IFACES - 1; 0 = no interface (direct table) */
	__u32 mtu;  /* the interface's MTU; a longer IP packet can only be an aggregate */
	__u8 icmp_src4[4];
	__u8 icmp_src6[MG_ADDR_LEN];
	__u8 has_src4;
	__u8 has_src6;
	__u8 direction; /* enum mg_direction */
	__u8 l3_only;   /* no Ethernet header: a tun device such as ocserv's vpnsN */
	/*
	 * The interface's own MAC address, the source of the ICMP errors it sends: not the
	 * destination of the frame being answered, which may be a group address.
	 */
	__u8 mac[MG_MAC_LEN];
	__u8 has_mac;
	__u8 pad;
};

/* What happened to the MSS option of a session's TCP SYN or SYN-ACK, one counter each; named as
 * MG_REASONS is. */
#define MG_MSS_OUTCOMES(X)                                                                       \
	X(CLAMPED, 0, "clamped")             /* lowered to the session's effective MTU - 40 / - 60 */ \
	X(ALREADY_SMALL, 1, "already_small") /* at or below it: left alone */                   \
	X(NO_OPTION, 2, "no_option")         /* no MSS option: none is ever added */            \
	X(MALFORMED, 3, "malformed")         /* the option list does not parse: left untouched */ \
	X(DISABLED, 4, "disabled")           /* clamping is off for this session */

enum mg_mss_outcome {
#define MG_MSS_ENUM(name, number, label) MG_MSS_##name = number,
	MG_MSS_OUTCOMES(MG_MSS_ENUM)
#undef MG_MSS_ENUM
	MG_MSS_OUTCOME_COUNT,
};

MG_STATIC_ASSERT(0 MG_MSS_OUTCOMES(MG_LIST_ONE) == MG_MSS_OUTCOME_COUNT,
	       "MG_MSS_OUTCOMES: a number is missing or used twice");

static inline const char *mg_mss_outcome_name(__u32 outcome)
{
	switch (outcome) {
#define MG_MSS_NAME(name, number, label) case number: return label;
	MG_MSS_OUTCOMES(MG_MSS_NAME)
#undef MG_MSS_NAME
	}
	return 0;
}

#define MG_MSS_ENTRIES (MG_MAX_IFACES * MG_DIR_COUNT * MG_MSS_OUTCOME_COUNT)

static inline __u32 mg_mss_index(__u32 slot, __u32 direction, __u32 outcome)
{
	return (slot * MG_DIR_COUNT + direction) * MG_MSS_OUTCOME_COUNT + outcome;
}

/*
 * Runtime settings, a global of the program that the daemon writes through the skeleton. The
 * token bucket's fill times are precomputed here so the data path never divides.
 *
 * They are published whole, never written in place: the program holds MG_SETTINGS_SLOTS of them
 * and an index (config.bpf.h). The daemon writes a complete value into the slot no packet is
 * reading and flips the index with one store; a packet reads the index once and is judged by
 * that slot alone, so it sees the old settings or the new ones, never a mix of the two.
 */
#define MG_SETTINGS_SLOTS 2

struct mg_bucket_config {
	__u64 rate;    /* tokens per second; 0 means no limit */
	__u64 burst;   /* bucket size in tokens */
	__u64 fill_ns; /* time to fill an empty bucket: burst * 1e9 / rate */
};

struct mg_settings {
	__u32 action;    /* enum mg_action */
	__u32 has_pools; /* bit 0: IPv4 pools exist, bit 1: IPv6 pools exist */
	__u32 mss_clamp; /* clamp SYN MSS unless a session says otherwise */
	__u32 pad;
	struct mg_bucket_config icmp_global;
	struct mg_bucket_config icmp_per_source;
};

#define MG_HAS_POOLS4 1u
#define MG_HAS_POOLS6 2u

/*
 * The program's clock (clock.bpf.h): jiffies scaled to ns, so CLOCK_MONOTONIC at tick resolution
 * (within a fraction of a second: jiffies start counting when the tick starts). The daemon writes
 * it before attaching.
 */
struct mg_clock {
	__u64 tick_ns;         /* ns per jiffy: clock_getres(CLOCK_MONOTONIC_COARSE) */
	__u64 initial_jiffies; /* jiffies at boot: the kernel's INITIAL_JIFFIES for this HZ */
};

/* Token bucket state; tokens are kept in nanotokens (tokens * 1e9) to avoid division. */
struct mg_bucket {
	__u64 nanotokens;
	__u64 last_ns;
};

/* The global bucket is taken under a lock: it is the ceiling on all ICMP the agent emits. */
struct mg_locked_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct mg_bucket bucket;
};

struct mg_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * Sizes of oversize packets (L3 length over the session's MTU), per interface slot and family:
 * cumulative-free bucket counts with upper bounds at the MTUs met in practice, the last bucket
 * open-ended, and the sum of lengths (Prometheus histogram _sum).
 */
#define MG_SIZE_BUCKETS 10
#define MG_SIZE_BUCKET_BOUNDS {1280, 1300, 1347, 1380, 1400, 1418, 1450, 1500, 9000}

struct mg_size_histogram {
	__u64 buckets[MG_SIZE_BUCKETS];
	__u64 sum;
};

#define MG_HISTOGRAM_ENTRIES (MG_MAX_IFACES * MG_FAMILY_COUNT)

/* Index into the per-CPU counter array. */
static inline __u32 mg_counter_index(__u32 slot, __u32 family, __u32 reason)
{
	return (slot * MG_FAMILY_COUNT + family) * MG_REASON_COUNT + reason;
}

#define MG_COUNTER_ENTRIES (MG_MAX_IFACES * MG_FAMILY_COUNT * MG_REASON_COUNT)

/*
 * A flow answered with an ICMP error (flows.bpf.h), in its slot flow % MG_ANSWERED_FLOWS. Its
 * window is the run of errors it has been sent without a quiet gap and with one MTU.
 */
struct mg_answered_flow {
	__u64 flow;              /* mg_flow_hash() of the flow; 0: the slot is empty */
	__u64 first_answered_ns; /* mg_now() of the first error of its window */
	__u64 last_answered_ns;  /* mg_now() of its latest error */
	__u64 unheeded;          /* oversize packets answered a second or more into a window */
	__u32 mtu;               /* the MTU its window's errors announce */
	__u32 pad;
};

/*
 * Passive observation on the client-facing side (observe.bpf.c): per client public address, what
 * the VPN's two channels carry. The daemon's transport tracker reads it: DTLS datagrams both ways
 * mean the session rides DTLS; TLS segments and no DTLS, TLS. Counters are atomic adds (several
 * CPUs see one client); times are bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC_COARSE.
 */
struct mg_client_obs {
	__u64 tls_syns;      /* TCP SYNs to the TLS port: new TLS connections */
	__u64 tls_packets;   /* TCP segments to the TLS port */
	__u64 dtls_in;       /* UDP datagrams to the DTLS port */
	__u64 dtls_out;      /* UDP datagrams from the DTLS port to the client */
	__u64 dtls_hellos;   /* of dtls_in: DTLS ClientHellos (the client trying to bring DTLS up) */
	__u64 other_udp;     /* UDP datagrams to other ports (a DTLS port mismatch) */
	__u64 last_syn_ns;
	__u64 last_tls_ns;
	__u64 last_dtls_in_ns;
	__u64 last_dtls_out_ns;
	__u64 last_other_udp_ns;
	__u16 other_udp_port; /* the destination port of the last of those */
	__u16 pad[3];
};

/* Totals over all clients, per-CPU: what diagnose and the metrics read without walking the LRU. */
enum mg_observed {
	MG_OBSERVED_TLS_SYNS = 0,
	MG_OBSERVED_TLS_PACKETS,
	MG_OBSERVED_DTLS_IN,
	MG_OBSERVED_DTLS_OUT,
	MG_OBSERVED_DTLS_HELLOS,
	MG_OBSERVED_OTHER_UDP,
	MG_OBSERVED_COUNT,
};

/* The observation program's settings (host byte order), written by the daemon before attaching. */
struct mg_observe_settings {
	__u16 tls_port;
	__u16 dtls_port;
	__u32 pad;
};

#endif /* MTUGUARD_KERN_USER_H */
