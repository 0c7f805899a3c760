// mtuguard_bench's instances of mtuguard: loaded, filled as the daemon fills them, and read back.
#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include "bench.hpp"
#include "kernel/client_pool.hpp"
#include "kernel/settings.hpp"
#include "packet.hpp"

namespace mtuguard::bench {
namespace {

// Exact sessions of each family in the maps, as the loader reads them back: the table's size is
// part of the result.
std::pair<uint32_t, uint32_t> session_count(const Datapath &datapath)
{
    uint32_t v4 = 0, v6 = 0;
    for (const auto &entry : datapath.sessions())
        if (entry.prefix.is_host())
            ++(entry.prefix.ipv4 ? v4 : v6);
    return {v4, v6};
}

void expect_sessions(const Datapath &d, uint32_t want)
{
    if (auto [v4, v6] = session_count(d); v4 != want || v6 != want)
        fail("the session maps hold " + std::to_string(v4) + " IPv4 and " + std::to_string(v6) +
             " IPv6 sessions, not " + std::to_string(want) + " each");
}

// Entries of one of the instance's hash maps (mg_sessions4, mg_sessions6), walked key by key.
uint32_t hash_entries(const Datapath &datapath, const char *map)
{
    const int fd = datapath.map_fd(map);
    mg_addr key{}, next{}; // large enough for either map's key
    uint32_t n = 0;
    for (const void *at = nullptr; bpf_map_get_next_key(fd, at, &next) == 0; at = &key) {
        key = next;
        ++n;
    }
    return n;
}

// The client-pool rows measure the slot lookup only if every session has a slot.
void expect_fit(const Instances &in, uint32_t most)
{
    const ClientPoolSpan span4 = span_of(in.client_pools[0]), span6 = span_of(in.client_pools[1]);
    if (!slot_offset(span4, nth_host(in.client_first4, most - 1)) ||
        !slot_offset(span6, nth_host(in.client_first6, most - 1)))
        fail(std::to_string(most) + " sessions from " + addresses.client_session4 + " and " +
             addresses.client_session6 + " do not fit the client pools " + addresses.client_pool4 + " and " +
             addresses.client_pool6 + ": give --sessions at most " +
             std::to_string(span4.first + span4.size - low32(in.client_first4.addr)));
}

// The settings, the interface entries and the session every instance gets: ICMP errors never
// rate limited, sessions on DTLS with MTU session_mtu.
void define_policy(Instances &in)
{
    in.config.icmp_global = {0, 0}; // unlimited: the ICMP paths are never rate limited
    in.config.icmp_per_source = {0, 0};
    in.config.on_oversize = MG_ACTION_ICMP;
    in.iface.slot = lo_slot;
    in.iface.mtu = lo_mtu;
    const mg_addr answer4 = parse_address(addresses.icmp_source4).addr;
    const mg_addr answer6 = parse_address(addresses.icmp_source6).addr;
    std::memcpy(in.iface.icmp_src4, &answer4.bytes[12], 4);
    std::memcpy(in.iface.icmp_src6, answer6.bytes, 16);
    in.iface.has_src4 = in.iface.has_src6 = 1;
    std::memcpy(in.iface.mac, test::gateway_mac.data(), sizeof(in.iface.mac));
    in.iface.has_mac = 1;
    in.session.dtls_mtu = session_mtu;
    in.session.tls_mtu = session_mtu - 100; // not in use: the session rides DTLS
    in.session.transport = MG_TRANSPORT_DTLS;
    in.client_pools = {parse_prefix(addresses.client_pool4), parse_prefix(addresses.client_pool6)};
    in.first4 = parse_address(addresses.session4);
    in.first6 = parse_address(addresses.session6);
    in.client_first4 = parse_address(addresses.client_session4);
    in.client_first6 = parse_address(addresses.client_session6);
}

// The big instances, loaded in batches as the daemon loads a file of sessions.
void load_big(Datapath &d, uint32_t count, const Prefix &f4, const Prefix &f6, const mg_session &session)
{
    std::vector<SessionEntry> entries;
    for (uint32_t n = 1; n < count; ++n) {
        entries.push_back({nth_host(f4, n), session});
        entries.push_back({nth_host(f6, n), session});
    }
    std::vector<bool> fresh(entries.size(), true);
    d.set_sessions(std::move(entries), fresh);
}

void fill(Instances &in, const Options &options)
{
    mg_iface silent_iface = in.iface; // no address to send ICMP errors from
    silent_iface.has_src4 = silent_iface.has_src6 = 0;
    std::memset(silent_iface.icmp_src4, 0, sizeof(silent_iface.icmp_src4));
    std::memset(silent_iface.icmp_src6, 0, sizeof(silent_iface.icmp_src6));
    std::vector<Datapath *> hashed = {in.few.get(), in.pooled.get()};
    std::vector<Datapath *> direct = {in.direct_few.get(), in.direct_silent.get(), in.direct_pooled.get(),
                                      in.direct_sixteen.get(), in.warm.get()};
    for (size_t b = 0; b < in.bigs.size(); ++b) {
        hashed.push_back(in.bigs[b].get());
        direct.push_back(in.direct_bigs[b].get());
    }
    for (auto [instances, f4, f6] :
         {std::tuple{&hashed, in.first4, in.first6}, std::tuple{&direct, in.client_first4, in.client_first6}})
        for (Datapath *d : *instances) {
            d->set_settings(make_settings(in.config));
            d->set_iface(lo_ifindex, d == in.direct_silent.get() ? silent_iface : in.iface);
            d->set_session(f4, in.session);
            d->set_session(f6, in.session);
        }
    // Pool prefixes: the hashed pooled instance gives a whole IPv4 /16 and IPv6 /48 a default
    // session; the client-pool one a /16 and a /112 inside its client pools, whose slots then
    // hold their policy. The frames go to addresses in them that have no exact session.
    in.pooled->set_session(parse_prefix(addresses.pool4), in.session);
    in.pooled->set_session(parse_prefix(addresses.pool6), in.session);
    in.direct_pooled->set_session(parse_prefix(addresses.client_pool_prefix4), in.session);
    in.direct_pooled->set_session(parse_prefix(addresses.client_pool_prefix6), in.session);
    for (size_t b = 0; b < in.bigs.size(); ++b) {
        load_big(*in.bigs[b], options.sessions[b], in.first4, in.first6, in.session);
        load_big(*in.direct_bigs[b], options.sessions[b], in.client_first4, in.client_first6, in.session);
    }
}

// Every instance holds exactly what it was given; with client pools every session is in a slot.
void verify(const Instances &in, const Options &options)
{
    for (const auto *d :
         {&in.few, &in.pooled, &in.direct_few, &in.direct_silent, &in.direct_pooled, &in.direct_sixteen, &in.warm})
        expect_sessions(**d, 1);
    for (size_t b = 0; b < in.bigs.size(); ++b) {
        expect_sessions(*in.bigs[b], options.sessions[b]);
        expect_sessions(*in.direct_bigs[b], options.sessions[b]);
    }
    std::vector<const Datapath *> direct = {in.direct_few.get(), in.direct_silent.get(), in.direct_pooled.get(),
                                            in.direct_sixteen.get(), in.warm.get()};
    for (const auto &d : in.direct_bigs)
        direct.push_back(d.get());
    for (const Datapath *d : direct)
        for (const char *map : {"mg_sessions4", "mg_sessions6"})
            if (uint32_t n = hash_entries(*d, map))
                fail(std::string(map) + " of a client-pool instance holds " + std::to_string(n) +
                     " sessions, not 0: the client pools do not cover them");
    for (const Datapath *d : {in.pooled.get(), in.direct_pooled.get()})
        if (d->pools().size() != 2)
            fail("a pooled instance holds " + std::to_string(d->pools().size()) + " pools, not 2");
}

} // namespace

Prefix nth_host(const Prefix &first, uint32_t n)
{
    Prefix host = first;
    host.addr = with_low32(first.addr, low32(first.addr) + n);
    return host;
}

std::unique_ptr<Instances> load_instances(const Options &options)
{
    auto in = std::make_unique<Instances>();
    define_policy(*in);
    expect_fit(*in, *std::max_element(options.sessions.begin(), options.sessions.end()));
    const uint32_t max_sessions = in->config.max_sessions;
    // Hashed: the loader sizes every session map alike, the statistics of both families included.
    in->few = std::make_unique<Datapath>(max_sessions);
    in->pooled = std::make_unique<Datapath>(max_sessions);
    // With client pools: the hash maps hold only sessions outside the pools, none here.
    for (auto *d : {&in->direct_few, &in->direct_silent, &in->direct_pooled})
        *d = std::make_unique<Datapath>(max_sessions, "", in->client_pools);
    // Fifteen /24s and /120s below the client pools, which sort last.
    in->sixteen_pools = in->client_pools;
    for (int k = 0; k < MG_MAX_CLIENT_POOLS - 1; ++k) {
        in->sixteen_pools.push_back(parse_prefix("10.0." + std::to_string(k) + ".0/24"));
        in->sixteen_pools.push_back(parse_prefix("2001:db8:0:" + std::to_string(k) + "::/120"));
    }
    in->direct_sixteen = std::make_unique<Datapath>(max_sessions, "", in->sixteen_pools);
    for (uint32_t n : options.sessions) {
        in->bigs.push_back(std::make_unique<Datapath>(2 * n + n / 4));
        in->direct_bigs.push_back(std::make_unique<Datapath>(max_sessions, "", in->client_pools));
    }
    // The maps behind the ICMP paths warm: a small client-pool instance of their own.
    in->warm = std::make_unique<Datapath>(max_sessions, "", in->client_pools);
    fill(*in, options);
    verify(*in, options);
    std::cerr << "loaded: 1";
    for (uint32_t n : options.sessions)
        std::cerr << ", " << n;
    std::cerr << " sessions per family, hashed and in client pools\n";
    return in;
}

} // namespace mtuguard::bench
