/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive observation of the VPN's two data channels on the client-facing interface: per client
 * public address, TCP toward the TLS port (new connections and liveness) and UDP datagrams of
 * the DTLS port in both directions (with the ClientHellos of a client trying to bring DTLS up),
 * plus UDP from a known client to any other port, the sign of a DTLS port mismatch. Nothing is
 * changed or dropped: this only counts, into an LRU table the daemon's transport tracker reads.
 *
 * IPv4 non-first fragments carry no ports and are skipped; IPv6 is read when TCP or UDP follows
 * the fixed header directly (VPN clients do not send extension headers on these channels).
 */
#ifndef MTUGUARD_OBSERVE_BPF_H
#define MTUGUARD_OBSERVE_BPF_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "parse.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the daemon sizes it to --max-sessions */
	__type(key, struct mg_addr); /* IPv4 mapped */
	__type(value, struct mg_client_obs);
} mg_clients SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_OBSERVED_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} mg_observed SEC(".maps");

/* Zero ports match nothing: the daemon writes them before attaching. */
struct mg_observe_settings mg_observe_settings;

/* DTLS record header (RFC 6347 4.1) and the handshake type after it. */
#define MG_DTLS_RECORD_LEN 13
#define MG_TLS_CONTENT_HANDSHAKE 22
#define MG_TLS_CLIENT_HELLO 1

static __always_inline void mg_observed_add(__u32 what, __u32 count)
{
	__u64 *total = bpf_map_lookup_elem(&mg_observed, &what);

	if (total)
		*total += count;
}

/* The client's entry; made on first sight when `create`, else only an existing one. */
static __always_inline struct mg_client_obs *mg_client(const struct mg_addr *addr, int create)
{
	struct mg_client_obs *obs = bpf_map_lookup_elem(&mg_clients, addr);
	struct mg_client_obs fresh = {};

	if (obs || !create)
		return obs;
	bpf_map_update_elem(&mg_clients, addr, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mg_clients, addr);
}

/*
 * A ClientHello of DTLS 1.0 (0xfeff), 1.2 (0xfefd) or Cisco's pre-standard DTLS (0x0100, which
 * AnyConnect still speaks to older headends).
 */
static __always_inline int mg_dtls_client_hello(const __u8 *payload, void *data_end)
{
	__u16 version;

	if ((void *)(payload + MG_DTLS_RECORD_LEN + 1) > data_end)
		return 0;
	version = (__u16)payload[1] << 8 | payload[2];
	return payload[0] == MG_TLS_CONTENT_HANDSHAKE && payload[MG_DTLS_RECORD_LEN] == MG_TLS_CLIENT_HELLO &&
	       (version == 0xfeff || version == 0xfefd || version == 0x0100);
}

/* The upper-layer header's offset, or 0 when there is none to read (see the scope paragraph). */
static __always_inline __u32 mg_observe_l4(void *data, void *data_end, const struct mg_packet *pkt)
{
	if (pkt->family == MG_FAMILY_IPV4) {
		struct iphdr *iph = mg_l3(data, pkt);

		if ((void *)(iph + 1) > data_end || (iph->frag_off & bpf_htons(MG_IP_OFFSET)))
			return 0;
		return pkt->l3_off + iph->ihl * 4;
	}
	return pkt->l3_off + sizeof(struct ipv6hdr);
}

/*
 * One packet on the outside interface: `inbound` from a client (the peer is the source),
 * otherwise toward one (the peer is the destination). Only its headers need to be at data;
 * frame_len is its whole length. `segments` > 1 for a GSO packet.
 */
static __always_inline void mg_observe(void *data, void *data_end, __u32 frame_len, int inbound,
				       __u32 segments)
{
	const struct mg_observe_settings *cfg = &mg_observe_settings;
	struct mg_packet pkt = { .from_client = inbound, .frame_len = frame_len };
	struct mg_client_obs *obs;
	struct mg_addr peer;
	__u64 now;
	__u32 l4;

	if (mg_parse_frame(data, data_end, &pkt) != MG_PARSED)
		return;
	if (pkt.next_header != IPPROTO_TCP && pkt.next_header != IPPROTO_UDP)
		return;
	/* at most MG_L3_OFF_MAX + 60: the mask is the verifier's bound, a no-op on the value */
	_Static_assert(MG_L3_OFF_MAX + 60 <= 0xff, "the mask must keep every transport offset");
	l4 = mg_observe_l4(data, data_end, &pkt) & 0xff;
	if (!l4)
		return;
	mg_peer_mapped(&pkt, &peer);
	now = bpf_ktime_get_coarse_ns();

	if (pkt.next_header == IPPROTO_TCP) {
		struct tcphdr *tcp = data + l4;

		if ((void *)(tcp + 1) > data_end || !inbound || tcp->dest != bpf_htons(cfg->tls_port))
			return;
		obs = mg_client(&peer, 1);
		if (!obs)
			return;
		__sync_fetch_and_add(&obs->tls_packets, segments);
		obs->last_tls_ns = now;
		mg_observed_add(MG_OBSERVED_TLS_PACKETS, segments);
		if (tcp->syn && !tcp->ack) {
			__sync_fetch_and_add(&obs->tls_syns, 1);
			obs->last_syn_ns = now;
			mg_observed_add(MG_OBSERVED_TLS_SYNS, 1);
		}
		return;
	}

	struct udphdr *udp = data + l4;

	if ((void *)(udp + 1) > data_end)
		return;
	if (!inbound) {
		if (udp->source != bpf_htons(cfg->dtls_port) || !(obs = mg_client(&peer, 1)))
			return;
		__sync_fetch_and_add(&obs->dtls_out, segments);
		obs->last_dtls_out_ns = now;
		mg_observed_add(MG_OBSERVED_DTLS_OUT, segments);
		return;
	}
	if (udp->dest == bpf_htons(cfg->dtls_port)) {
		if (!(obs = mg_client(&peer, 1)))
			return;
		__sync_fetch_and_add(&obs->dtls_in, segments);
		obs->last_dtls_in_ns = now;
		mg_observed_add(MG_OBSERVED_DTLS_IN, segments);
		if (mg_dtls_client_hello((const __u8 *)(udp + 1), data_end)) {
			__sync_fetch_and_add(&obs->dtls_hellos, 1);
			mg_observed_add(MG_OBSERVED_DTLS_HELLOS, 1);
		}
		return;
	}
	/* Only from a client already seen on the VPN ports: other hosts' UDP is none of ours. */
	if (!(obs = mg_client(&peer, 0)))
		return;
	__sync_fetch_and_add(&obs->other_udp, segments);
	obs->last_other_udp_ns = now;
	obs->other_udp_port = bpf_ntohs(udp->dest);
	mg_observed_add(MG_OBSERVED_OTHER_UDP, segments);
}

#endif /* MTUGUARD_OBSERVE_BPF_H */
