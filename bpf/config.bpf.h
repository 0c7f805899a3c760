/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the daemon tells the program: the runtime settings (globals the daemon writes through
 * the skeleton, read without a map lookup) and the table of interfaces it is attached to, which
 * gives each interface its counter slot, its MTU and the addresses ICMP errors are sent from. The
 * table is an array indexed by ifindex, so finding the interface costs no hash on every packet.
 */
#ifndef MTUGUARD_CONFIG_BPF_H
#define MTUGUARD_CONFIG_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "mtuguard_kern_user.h"

/*
 * Zero is a valid default (action icmp, no rate limit); the daemon fills them before attaching.
 * Two slots and the index of the live one (see struct mg_settings): the daemon rewrites only the
 * slot the index does not name, and only once every packet that could have read it is done.
 */
struct mg_settings mg_settings[MG_SETTINGS_SLOTS];
__u32 mg_settings_index;

_Static_assert((MG_SETTINGS_SLOTS & (MG_SETTINGS_SLOTS - 1)) == 0, "the index is masked");

/* The settings of this packet: read once, at its start, and passed to everything that decides. */
static __always_inline const struct mg_settings *mg_settings_now(void)
{
	return &mg_settings[*(volatile __u32 *)&mg_settings_index & (MG_SETTINGS_SLOTS - 1)];
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_IFINDEX_DIRECT);
	__type(key, __u32); /* ifindex */
	__type(value, struct mg_iface);
} mg_ifaces_direct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_IFACES);
	__type(key, __u32); /* ifindex >= MG_IFINDEX_DIRECT */
	__type(value, struct mg_iface);
} mg_ifaces SEC(".maps");

/* NULL for an interface the daemon did not register: counted in slot 0, never answered from. */
static __always_inline const struct mg_iface *mg_iface_of(__u32 ifindex)
{
	const struct mg_iface *iface;

	if (ifindex < MG_IFINDEX_DIRECT) {
		iface = bpf_map_lookup_elem(&mg_ifaces_direct, &ifindex);
		return iface && iface->slot ? iface : NULL;
	}
	return bpf_map_lookup_elem(&mg_ifaces, &ifindex);
}

static __always_inline const struct mg_iface *mg_iface_lookup(struct xdp_md *ctx)
{
	return mg_iface_of(ctx->ingress_ifindex);
}

#endif /* MTUGUARD_CONFIG_BPF_H */
