// mtuguard_bench's run, phase by phase: the instances of mtuguard it loads (setup.cpp), the
// verdict paths it measures on them (paths.cpp), the checks and the rounds (phases.cpp), and
// the figures it hands to the report as JSON (results.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "kernel/datapath.hpp"
#include "measure.hpp"
#include "programs.hpp"

namespace mtuguard::bench {

struct Options {
    int rounds = 11;
    int repeat = 10'000'000;
    size_t samples = 20'000;
    std::vector<uint32_t> sessions = {1'000, 100'000, 1'000'000}; // the big instances
    int cpu = -1;
    std::string plot_data;
    std::string json;
    std::string markdown;
};

constexpr uint16_t session_mtu = 1400;
constexpr uint16_t within_len = session_mtu; // L3 length that exactly fits
constexpr uint16_t over_len = 1500;          // L3 length over the session MTU

constexpr size_t eth_len = 14;
constexpr size_t icmp4_frame_len = eth_len + 576;  // RFC 1812 minimum datagram
constexpr size_t icmp6_frame_len = eth_len + 1280; // RFC 8200 minimum MTU

// A SYN's MSS option: already below the clamp (1400 - 40 / - 60), or above it.
constexpr uint16_t mss_small = 1300;
constexpr uint16_t mss_large = 1460;

// The addresses of the run, as the report names them.
struct Addresses {
    const char *sender4 = "198.51.100.10";
    const char *sender6 = "2001:db8:100::10";
    const char *icmp_source4 = "192.0.2.1";
    const char *icmp_source6 = "2001:db8:ffff::1";
    // Each instance exists twice. With client pools (--client-pool or a pool prefix's default):
    // the largest pools there are (2^20 addresses), every session of the biggest instance inside.
    // Hashed: no client pool, every session in the hash maps, as for sessions outside a client
    // pool.
    const char *client_pool4 = "10.16.0.0/12";
    const char *client_pool6 = "2001:db8:10::/108";
    const char *client_session4 = "10.16.0.1"; // first of the client-pool IPv4 sessions
    const char *client_session6 = "2001:db8:10::1";
    const char *empty_slot4 = "10.20.0.1"; // in the client pool, never a session
    const char *session4 = "10.8.0.1";     // first of the hashed IPv4 sessions
    const char *session6 = "2001:db8:8::1";
    const char *stranger4 = "172.16.0.1"; // never a session, outside the client pools
    const char *pool4 = "10.9.0.0/16";    // pool prefixes of the hashed pooled instance
    const char *pool6 = "2001:db8:9::/48";
    const char *pool_member4 = "10.9.3.7"; // in the pools, no exact session
    const char *pool_member6 = "2001:db8:9::3:7";
    // Pool prefixes of the client-pool pooled instance, inside its client pools: their slots
    // hold the prefixes' policy.
    const char *client_pool_prefix4 = "10.17.0.0/16";
    const char *client_pool_prefix6 = "2001:db8:10::1:0/112";
    const char *client_pool_member4 = "10.17.3.7";
    const char *client_pool_member6 = "2001:db8:10::1:307";
};
inline constexpr Addresses addresses;

// The host `n` addresses above `first`, counted in its last 32 bits.
Prefix nth_host(const Prefix &first, uint32_t n);

// The programs: the empty baseline, and mtuguard in two configurations. With client pools: one
// session per family, many, pool prefixes inside the pools, and one session but no address to
// send ICMP errors from. Hashed (no client pool, as for sessions outside one): one session,
// many, pool prefixes. And the instance behind the ICMP paths warm.
struct Instances {
    Config config;
    mg_iface iface{};
    mg_session session{};
    std::vector<Prefix> client_pools;
    Prefix first4, first6;               // the hashed sessions start here
    Prefix client_first4, client_first6; // the client-pool sessions
    XdpPass baseline;
    // MG_MAX_CLIENT_POOLS client pools of each family: client_pools' and below them small ones
    // (sixteen_pools), so that client_pools' is the last of the search.
    std::vector<Prefix> sixteen_pools;
    std::unique_ptr<Datapath> few, pooled, direct_few, direct_silent, direct_pooled, direct_sixteen, warm;
    std::vector<std::unique_ptr<Datapath>> bigs, direct_bigs; // one per --sessions count
};

// Loads and fills every instance, and proves each holds what it was given.
std::unique_ptr<Instances> load_instances(const Options &options);

// One configuration's paths at one session, then at each big instance.
struct BigPaths {
    uint32_t count;
    size_t none, within4, within6, varied;
};
struct ConfigPaths {
    size_t none, within4, within6;
    std::vector<BigPaths> bigs;
};

// Every path measured, by index into `all`.
struct PathSet {
    std::vector<Path> all;
    size_t base;
    ConfigPaths direct, hashed;
    size_t direct_empty, direct_pool_within4, direct_pool_within6, syn_small4, syn_small6;
    size_t sixteen_within4, sixteen_within6; // the session in the 16th of 16 client pools
    size_t silent4, silent6, icmp4, icmp6;
    size_t pool_within4, pool_within6, pool_none4;
    // A different session every packet: a shuffled walk over the biggest instance's sessions.
    std::vector<uint32_t> order;
};

std::unique_ptr<PathSet> make_paths(const Instances &instances, const Options &options);
// Ethernet + IP + a TCP SYN whose only option is MSS `mss`, no payload.
std::vector<uint8_t> syn_frame(const Prefix &src, const Prefix &dst, uint16_t mss);
// Ethernet + IP + a TCP segment (ACK, no options) carrying `payload` bytes.
std::vector<uint8_t> data_frame(const Prefix &src, const Prefix &dst, uint16_t payload);

// An ICMP path behind the restore of bench/icmp_warm.bpf.c.
struct WarmPath {
    size_t icmp;      // the ICMP path it warms: frame, family, output checks
    size_t withheld;  // the withheld path of the same family, for the bound method
    Prefix target;    // the session the frame goes to
    int pushed;       // bytes the error grows the head by: its new IP and ICMP headers
    size_t error_len; // the error's frame length
    // Per run, one entry per round: the empty program, restore_only, shrink_then_restore,
    // restore_then_mtuguard.
    std::vector<double> base_ns, restore_ns, shrink_ns, restore_icmp_ns;
};

// The MSS clamp behind the restore, per run, one entry per round: the empty program,
// restore_only, restore_then_mtuguard.
struct MssWarm {
    std::vector<uint8_t> frame; // a SYN announcing mss_large
    std::vector<double> base_ns, restore_ns, clamp_ns;
    // Not a SYN: a data segment within MTU through the real tc ingress program, which leaves it
    // as it is (repeatable), and the empty tc program on it.
    std::vector<uint8_t> segment;
    std::vector<double> segment_base_ns, segment_ns;
};

// All a run holds: what it measures and what it found.
struct Bench {
    const Options &options;
    int cpu;
    Instances &instances;
    PathSet &paths;
    Probes probes;
    std::vector<Probes::Probe> probe_list;
    std::vector<std::vector<double>> probe_ns; // per probe, one entry per round
    IcmpWarm warm;
    std::vector<WarmPath> warm_paths;
    MssWarm mss;
    // What the checks saw, one line each.
    std::vector<std::string> outputs, warm_outputs, caveat;
    std::string mss_output;
};

std::unique_ptr<Bench> make_bench(const Options &options, int cpu, Instances &instances, PathSet &paths);

// The phases, in their order.
void check_paths(Bench &bench);       // every path and probe once, its output checked
void check_warm(Bench &bench);        // the ICMP paths and the MSS clamp behind the restore
void warm_up_varied(Bench &bench);    // the different-session paths, once untimed
void show_repeat_caveat(Bench &bench);
void measure_round(Bench &bench, int round);

// The figures, as the report reads them.
nlohmann::json results(const Bench &bench);
// ns/packet against the number of sessions (gnuplot data), from results().
std::string plot_data(const nlohmann::json &results);

} // namespace mtuguard::bench
