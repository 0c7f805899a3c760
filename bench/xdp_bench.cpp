// mtuguard_bench: what the enforcement program costs per packet on each verdict path, measured
// with BPF_PROG_TEST_RUN against an empty XDP program (xdp_pass) loaded in the same run.
// bench/run builds it, runs it and puts its Markdown report into docs/benchmarks.md.
//
// BPF_PROG_TEST_RUN runs a non-live XDP program `repeat` times on ONE buffer and never restores
// it, so a path that rewrites the packet (the ICMP errors) is taken once and every later
// repetition sees the error it built. Hence two methods, both checked against the counters:
//  - repeat method, for paths that leave the packet as it was: one syscall with a large repeat,
//    timed around the whole syscall with clock_gettime (the kernel's own figure is whole ns);
//  - difference method, for every path: repeat = 1, syscalls alternating between xdp_pass and
//    the path on the same frame; the difference of the mean run times is the path's cost over
//    the empty program, added to the empty program's repeat-method figure.
// The report's "Method" section, written below, says the rest.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "common/address.hpp"
#include "icmp_warm.h" // before the skeleton, which uses struct warm_restore
#include "bench_icmp_warm.skel.h"
#include "bench_probes.skel.h"
#include "config/config.hpp"
#include "kernel/datapath.hpp"
#include "kernel/settings.hpp"
#include "xdp_pass.skel.h"

using namespace mtuguard;
namespace po = boost::program_options;

namespace {

// BPF_PROG_TEST_RUN without a ctx runs the program as if received on the loopback device.
constexpr uint32_t lo_ifindex = 1;
constexpr uint32_t lo_slot = 1;
constexpr uint32_t lo_mtu = 9000; // above every test frame: nothing is taken for a GRO aggregate

constexpr uint16_t session_mtu = 1400;
constexpr uint16_t within_len = session_mtu; // L3 length that exactly fits
constexpr uint16_t over_len = 1500;          // L3 length over the session MTU
constexpr uint32_t xdp_drop_action = 1, xdp_pass_action = 2, xdp_tx_action = 3;

constexpr size_t eth_len = 14;
constexpr size_t icmp4_frame_len = eth_len + 576;  // RFC 1812 minimum datagram
constexpr size_t icmp6_frame_len = eth_len + 1280; // RFC 8200 minimum MTU

// Share of the slowest single runs the difference method drops: interrupts only ever add time.
constexpr double slow_tail = 0.01;

const char *const sender4 = "198.51.100.10";
const char *const sender6 = "2001:db8:100::10";
const char *const icmp_source4 = "192.0.2.1";
const char *const icmp_source6 = "2001:db8:ffff::1";
// Each instance exists twice. With client pools (--client-pool or a pool prefix's default):
// the largest pools there are (2^20 addresses), every session of the biggest instance inside.
// Hashed: no client pool, every session in the hash maps, as for sessions outside a client pool.
const char *const client_pool4_text = "10.16.0.0/12";
const char *const client_pool6_text = "2001:db8:10::/108";
const char *const client_session4 = "10.16.0.1"; // first of the client-pool IPv4 sessions
const char *const client_session6 = "2001:db8:10::1";
const char *const empty_slot4 = "10.20.0.1"; // in the client pool, never a session
const char *const session4 = "10.8.0.1";     // first of the hashed IPv4 sessions
const char *const session6 = "2001:db8:8::1";
const char *const stranger4 = "172.16.0.1"; // never a session, outside the client pools
const char *const pool4_text = "10.9.0.0/16"; // pool prefixes of the hashed pooled instance
const char *const pool6_text = "2001:db8:9::/48";
const char *const pool_member4_text = "10.9.3.7"; // in the pools, no exact session
const char *const pool_member6_text = "2001:db8:9::3:7";
// Pool prefixes of the client-pool pooled instance, inside its client pools: their slots hold
// the prefixes' policy.
const char *const client_pool_prefix4_text = "10.17.0.0/16";
const char *const client_pool_prefix6_text = "2001:db8:10::1:0/112";
const char *const client_pool_member4_text = "10.17.3.7";
const char *const client_pool_member6_text = "2001:db8:10::1:307";
// A SYN's MSS option: already below the clamp (1400 - 40 / - 60), or above it.
constexpr uint16_t mss_small = 1300;
constexpr uint16_t mss_large = 1460;

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

// ---- frames ----------------------------------------------------------------------------------

void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

uint16_t get16(const uint8_t *p) { return p[0] << 8 | p[1]; }

// RFC 1071 sum over bytes (big-endian 16-bit words), not folded or complemented.
uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum = 0)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += p[len - 1] << 8;
    return sum;
}

uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

void put_ethernet(std::vector<uint8_t> &f, uint16_t ethertype)
{
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
    std::memcpy(&f[0], dst, 6);
    std::memcpy(&f[6], src, 6);
    put16(&f[12], ethertype);
}

// Ethernet + IPv4 (DF set) + UDP, `l3_len` bytes from the IP header on, zero payload.
std::vector<uint8_t> ipv4_frame(const mg_addr &src, const mg_addr &dst, uint16_t l3_len)
{
    std::vector<uint8_t> f(eth_len + l3_len);
    put_ethernet(f, 0x0800);
    uint8_t *ip = &f[eth_len];
    ip[0] = 0x45;
    put16(ip + 2, l3_len);
    put16(ip + 4, 0x1234);
    put16(ip + 6, 0x4000); // DF
    ip[8] = 64;
    ip[9] = 17; // UDP
    std::memcpy(ip + 12, &src.bytes[12], 4);
    std::memcpy(ip + 16, &dst.bytes[12], 4);
    put16(ip + 10, fold(sum16(ip, 20)));
    uint8_t *udp = ip + 20;
    put16(udp, 40000);
    put16(udp + 2, 5001);
    put16(udp + 4, l3_len - 20);
    return f;
}

// Ethernet + IPv6 + UDP, `l3_len` bytes from the IP header on, zero payload.
std::vector<uint8_t> ipv6_frame(const mg_addr &src, const mg_addr &dst, uint16_t l3_len)
{
    std::vector<uint8_t> f(eth_len + l3_len);
    put_ethernet(f, 0x86dd);
    uint8_t *ip = &f[eth_len];
    ip[0] = 0x60;
    put16(ip + 4, l3_len - 40);
    ip[6] = 17; // UDP
    ip[7] = 64;
    std::memcpy(ip + 8, src.bytes, 16);
    std::memcpy(ip + 24, dst.bytes, 16);
    uint8_t *udp = ip + 40;
    put16(udp, 40000);
    put16(udp + 2, 5001);
    put16(udp + 4, l3_len - 40);
    return f;
}

// The TCP pseudo header's sum (RFC 9293 3.1, RFC 8200 8.1) of a frame built below.
uint32_t tcp_pseudo_sum(const std::vector<uint8_t> &f, bool v6)
{
    const uint8_t *ip = &f[eth_len];
    const uint32_t tcp_len = v6 ? get16(ip + 4) : get16(ip + 2) - 20u;
    return (v6 ? sum16(ip + 8, 32) : sum16(ip + 12, 8)) + 6 + tcp_len;
}

// Ethernet + IPv4 or IPv6 + a TCP SYN whose only option is MSS `mss`, no payload.
std::vector<uint8_t> tcp_syn_frame(bool v6, const mg_addr &src, const mg_addr &dst, uint16_t mss)
{
    const uint16_t tcp_len = 24, l3_len = (v6 ? 40 : 20) + tcp_len;
    std::vector<uint8_t> f = v6 ? ipv6_frame(src, dst, l3_len) : ipv4_frame(src, dst, l3_len);
    uint8_t *ip = &f[eth_len];
    if (v6) {
        ip[6] = 6;
    } else {
        ip[9] = 6;
        put16(ip + 10, 0);
        put16(ip + 10, fold(sum16(ip, 20)));
    }
    uint8_t *tcp = ip + (v6 ? 40 : 20);
    std::memset(tcp, 0, tcp_len);
    put16(tcp, 40000);
    put16(tcp + 2, 443);
    tcp[12] = (tcp_len / 4) << 4;
    tcp[13] = 0x02; // SYN
    put16(tcp + 14, 64240);
    tcp[20] = 2; // MSS
    tcp[21] = 4;
    put16(tcp + 22, mss);
    put16(tcp + 16, fold(tcp_pseudo_sum(f, v6) + sum16(tcp, tcp_len)));
    f.resize(std::max<size_t>(f.size(), 64)); // Ethernet's minimum frame (without FCS) and more
    return f;
}

// ---- running the programs --------------------------------------------------------------------

double clock_ns(clockid_t clock)
{
    timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

struct Run {
    uint32_t retval = 0;
    uint32_t kernel_ns = 0; // the kernel's average per repetition, whole ns
    uint32_t size_out = 0;
    double wall_ns = 0;     // the whole syscall, CLOCK_MONOTONIC
    double cpu_ns = 0;      // the whole syscall, CLOCK_THREAD_CPUTIME_ID (when asked for)
};

enum class CpuClock { Skip, Read };

Run test_run(int prog_fd, const std::vector<uint8_t> &frame, int repeat,
             std::vector<uint8_t> *out = nullptr, CpuClock cpu_clock = CpuClock::Skip)
{
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = frame.size();
    opts.repeat = repeat;
    if (out) {
        out->assign(4096, 0);
        opts.data_out = out->data();
        opts.data_size_out = out->size();
    }
    const bool cpu = cpu_clock == CpuClock::Read;
    double cpu_start = cpu ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : 0;
    double wall_start = clock_ns(CLOCK_MONOTONIC);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    double wall_end = clock_ns(CLOCK_MONOTONIC);
    double cpu_end = cpu ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : 0;
    if (err)
        throw std::system_error(-err, std::generic_category(), "BPF_PROG_TEST_RUN");
    if (out)
        out->resize(opts.data_size_out);
    return {opts.retval, opts.duration, opts.data_size_out, wall_end - wall_start,
            cpu_end - cpu_start};
}

// The empty program, through its own skeleton.
class XdpPass {
public:
    XdpPass()
    {
        skel_ = xdp_pass_bpf__open_and_load();
        if (!skel_)
            throw std::system_error(errno, std::generic_category(), "loading xdp_pass");
    }
    ~XdpPass() { xdp_pass_bpf__destroy(skel_); }
    XdpPass(const XdpPass &) = delete;
    XdpPass &operator=(const XdpPass &) = delete;
    int program_fd() const { return bpf_program__fd(skel_->progs.xdp_pass); }

private:
    xdp_pass_bpf *skel_ = nullptr;
};

// The building-block probes (probes.bpf.c), their maps filled so every probe takes its
// XDP_PASS path on `frame` (the oversize IPv6 frame).
class Probes {
public:
    explicit Probes(const std::vector<uint8_t> &frame)
    {
        skel_ = bench_probes_bpf__open_and_load();
        if (!skel_)
            throw std::system_error(errno, std::generic_category(), "loading the probes");
        uint32_t ifindex = 1;
        uint8_t iface[32] = {};
        uint8_t key16[16];
        uint64_t session = 0;
        std::memcpy(key16, &frame[eth_len + 24], 16);
        if (bpf_map__update_elem(skel_->maps.probe_hash4, &ifindex, sizeof(ifindex), iface,
                                 sizeof(iface), BPF_ANY) ||
            bpf_map__update_elem(skel_->maps.probe_hash16, key16, sizeof(key16), &session,
                                 sizeof(session), BPF_ANY))
            throw std::system_error(errno, std::generic_category(), "filling the probes' maps");
    }
    ~Probes() { bench_probes_bpf__destroy(skel_); }
    Probes(const Probes &) = delete;
    Probes &operator=(const Probes &) = delete;

    struct Probe {
        const char *block;
        const char *prices; // what in a data path the block stands for
        int fd;
        const char *program;
    };
    std::vector<Probe> all() const
    {
        auto *p = &skel_->progs;
        return {
            {"hash lookup, 4-byte key", "an IPv4 address or an ifindex as the key",
             bpf_program__fd(p->probe_lookup4), "probe_lookup4"},
            {"hash lookup, 16-byte key", "an IPv6 (or IPv4-mapped) address as the key",
             bpf_program__fd(p->probe_lookup16), "probe_lookup16"},
            {"per-CPU array lookup and update", "the verdict counters; any array-indexed table",
             bpf_program__fd(p->probe_count), "probe_count"},
            {"atomic add to a shared map value", "per-session statistics",
             bpf_program__fd(p->probe_atomic),
             "probe_atomic"},
            {"`bpf_ktime_get_ns()`", "a precise clock read",
             bpf_program__fd(p->probe_ktime), "probe_ktime"},
            {"`bpf_ktime_get_coarse_ns()`", "a clock read at tick resolution",
             bpf_program__fd(p->probe_ktime_coarse), "probe_ktime_coarse"},
            {"`bpf_jiffies64()`", "the same resolution as the program reads it (inlined)",
             bpf_program__fd(p->probe_jiffies), "probe_jiffies"},
            {"`bpf_csum_diff` over 20 + 556 bytes", "the checksums of a 576-byte ICMPv4 error",
             bpf_program__fd(p->probe_csum4), "probe_csum4"},
            {"`bpf_csum_diff` over 40 + 1240 bytes", "the checksum of a 1280-byte ICMPv6 error",
             bpf_program__fd(p->probe_csum6), "probe_csum6"},
            {"`bpf_xdp_adjust_head`, two calls", "growing the head for new headers (one call)",
             bpf_program__fd(p->probe_head), "probe_head"},
            {"`bpf_xdp_adjust_tail`, two calls", "cutting the error to size (one call)",
             bpf_program__fd(p->probe_tail), "probe_tail"},
        };
    }

private:
    bench_probes_bpf *skel_ = nullptr;
};

// The last 32 bits of an address (the whole of a mapped IPv4 one), host byte order.
uint32_t low32(const mg_addr &addr)
{
    uint32_t word;
    std::memcpy(&word, &addr.bytes[12], 4);
    return ntohl(word);
}

// `first` + n: the n-th address from `first` up, counted in its last 32 bits.
mg_addr nth_address(const mg_addr &first, uint32_t n)
{
    mg_addr a = first;
    const uint32_t low = htonl(low32(first) + n);
    std::memcpy(&a.bytes[12], &low, 4);
    return a;
}

// The client pools as the program reads them (struct mg_client_pools), for an object the loader
// does not fill: the IPv4 pool's range of mapped addresses, the IPv6 pool's first 96 bits and
// the range of its last 32.
mg_client_pools client_pools_setting(const std::vector<Prefix> &pools)
{
    mg_client_pools setting{};
    for (const Prefix &pool : pools) {
        const uint32_t size = 1u << (128 - pool.mapped_length());
        const uint32_t first = low32(pool.addr) & ~(size - 1);
        if (pool.ipv4) {
            setting.first4 = first;
            setting.size4 = size;
        } else {
            std::memcpy(setting.prefix6, pool.addr.bytes, 12);
            setting.first6 = first;
            setting.size6 = size;
        }
    }
    return setting;
}

// The slot of a host address in its family's client pool, if it lies in one.
std::optional<uint32_t> client_pool_slot(const mg_client_pools &pools, const Prefix &host)
{
    const uint32_t offset = low32(host.addr) - (host.ipv4 ? pools.first4 : pools.first6);
    if (host.ipv4)
        return offset < pools.size4 ? std::optional<uint32_t>(offset) : std::nullopt;
    if (std::memcmp(host.addr.bytes, pools.prefix6, 12) != 0 || offset >= pools.size6)
        return std::nullopt;
    return offset;
}

// The ICMP paths warm (bench/icmp_warm.bpf.c): mtuguard's own program, compiled into an object
// of its own behind a restore that turns the buffer back into the original frame before every
// repetition. The object has its own copies of mtuguard's maps; they are filled here through
// libbpf as the loader fills the real ones for the small client-pool instance: the loopback
// device's entry, the client pools' slot arrays and setting, one session per family in its slot
// (or, outside the pools, its hash map), each with its zeroed statistics, and the settings.
class IcmpWarm {
public:
    IcmpWarm(const mg_settings &settings, const mg_iface &iface, uint32_t ifindex,
             const std::vector<std::pair<Prefix, mg_session>> &sessions,
             const std::vector<Prefix> &client_pools)
        : pools_(client_pools_setting(client_pools))
    {
        skel_ = bench_icmp_warm_bpf__open();
        if (!skel_)
            throw std::system_error(errno, std::generic_category(), "opening icmp_warm");
        // One slot per address of a pool, as the loader sizes them (one where there is none).
        int err = bpf_map__set_max_entries(skel_->maps.mg_direct4, std::max(pools_.size4, 1u));
        if (!err)
            err = bpf_map__set_max_entries(skel_->maps.mg_direct6, std::max(pools_.size6, 1u));
        if (!err)
            err = bench_icmp_warm_bpf__load(skel_);
        if (err) {
            bench_icmp_warm_bpf__destroy(skel_);
            throw std::system_error(-err, std::generic_category(), "loading icmp_warm");
        }
        skel_->bss->mg_settings = settings;
        skel_->bss->mg_client_pools = pools_;
        skel_->bss->mg_clock = program_clock();
        auto update = [](bpf_map *map, const void *key, size_t key_size, const void *value,
                         size_t value_size, const char *what) {
            if (bpf_map__update_elem(map, key, key_size, value, value_size, BPF_ANY))
                throw std::system_error(errno, std::generic_category(),
                                        std::string("icmp_warm: filling ") + what);
        };
        update(skel_->maps.mg_ifaces_direct, &ifindex, sizeof(ifindex), &iface, sizeof(iface),
               "mg_ifaces_direct");
        for (const auto &[prefix, session] : sessions) {
            if (auto slot = client_pool_slot(pools_, prefix))
                update(prefix.ipv4 ? skel_->maps.mg_direct4 : skel_->maps.mg_direct6, &*slot,
                       sizeof(*slot), &session, sizeof(session), "a client pool slot");
            else if (prefix.ipv4)
                update(skel_->maps.mg_sessions4, &prefix.addr.bytes[12], 4, &session,
                       sizeof(session), "mg_sessions4");
            else
                update(skel_->maps.mg_sessions6, &prefix.addr, sizeof(prefix.addr), &session,
                       sizeof(session), "mg_sessions6");
        }
    }
    ~IcmpWarm() { bench_icmp_warm_bpf__destroy(skel_); }
    IcmpWarm(const IcmpWarm &) = delete;
    IcmpWarm &operator=(const IcmpWarm &) = delete;

    // What the restore puts back: `frame`, which an ICMP error grows by `pushed` bytes at the head
    // and turns into a frame of `error_len` bytes.
    void restore_to(const std::vector<uint8_t> &frame, int pushed, size_t error_len)
    {
        if (frame.size() < WARM_HEAD_LEN)
            fail("icmp_warm: frame shorter than the restored head");
        warm_restore r{};
        r.frame_len = frame.size();
        r.pushed = pushed;
        r.error_len = error_len;
        std::memcpy(r.head, frame.data(), WARM_HEAD_LEN);
        skel_->bss->warm_restore = r;
    }
    int restore_only_fd() const { return bpf_program__fd(skel_->progs.restore_only); }
    int shrink_then_restore_fd() const
    {
        return bpf_program__fd(skel_->progs.shrink_then_restore);
    }
    int restore_then_mtuguard_fd() const
    {
        return bpf_program__fd(skel_->progs.restore_then_mtuguard);
    }
    int mtuguard_fd() const { return bpf_program__fd(skel_->progs.mtuguard_xdp); }

    // mg_counters summed over CPUs, as Datapath::counters() reads the real map.
    std::vector<mg_counter> counters() const
    {
        const int cpus = libbpf_num_possible_cpus();
        if (cpus <= 0)
            fail("libbpf_num_possible_cpus failed");
        std::vector<mg_counter> out(MG_COUNTER_ENTRIES), per_cpu(cpus);
        for (uint32_t i = 0; i < MG_COUNTER_ENTRIES; ++i) {
            if (bpf_map__lookup_elem(skel_->maps.mg_counters, &i, sizeof(i), per_cpu.data(),
                                     per_cpu.size() * sizeof(mg_counter), 0))
                throw std::system_error(errno, std::generic_category(),
                                        "icmp_warm: reading mg_counters");
            for (const auto &c : per_cpu) {
                out[i].packets += c.packets;
                out[i].bytes += c.bytes;
            }
        }
        return out;
    }
    // mg_mss_counters summed over CPUs, indexed by mg_mss_index().
    std::vector<uint64_t> mss_counters() const
    {
        const int cpus = libbpf_num_possible_cpus();
        std::vector<uint64_t> out(MG_MSS_ENTRIES), per_cpu(cpus);
        for (uint32_t i = 0; i < MG_MSS_ENTRIES; ++i) {
            if (bpf_map__lookup_elem(skel_->maps.mg_mss_counters, &i, sizeof(i), per_cpu.data(),
                                     per_cpu.size() * sizeof(uint64_t), 0))
                throw std::system_error(errno, std::generic_category(),
                                        "icmp_warm: reading mg_mss_counters");
            for (uint64_t c : per_cpu)
                out[i] += c;
        }
        return out;
    }
    uint64_t session_icmp_sent(const Prefix &prefix) const
    {
        mg_session session{};
        int err;
        if (const auto slot = client_pool_slot(pools_, prefix))
            err = bpf_map__lookup_elem(prefix.ipv4 ? skel_->maps.mg_direct4 : skel_->maps.mg_direct6,
                                       &*slot, sizeof(*slot), &session, sizeof(session), 0);
        else if (prefix.ipv4)
            err = bpf_map__lookup_elem(skel_->maps.mg_sessions4, &prefix.addr.bytes[12], 4,
                                       &session, sizeof(session), 0);
        else
            err = bpf_map__lookup_elem(skel_->maps.mg_sessions6, &prefix.addr, sizeof(prefix.addr),
                                       &session, sizeof(session), 0);
        if (err)
            throw std::system_error(errno, std::generic_category(), "icmp_warm: reading the session");
        return session.stats.icmp_sent;
    }

private:
    mg_client_pools pools_;
    bench_icmp_warm_bpf *skel_ = nullptr;
};

// Names for the verdicts this benchmark drives; any other shows as its number.
std::string reason_label(uint32_t reason)
{
    switch (reason) {
    case MG_REASON_NO_SESSION:
        return "no-session";
    case MG_REASON_WITHIN_MTU:
        return "within-mtu";
    case MG_REASON_SUPPRESSED_NO_ADDRESS:
        return "suppressed-no-address";
    case MG_REASON_ICMP_SENT:
        return "icmp-sent";
    default:
        return "reason " + std::to_string(reason);
    }
}

// Every counter that moved since `before`, in words.
std::string describe_delta(const Datapath &datapath, const std::vector<mg_counter> &before)
{
    auto after = datapath.counters();
    std::ostringstream s;
    const char *sep = "";
    for (uint32_t i = 0; i < after.size(); ++i) {
        uint64_t packets = after[i].packets - before[i].packets;
        if (!packets)
            continue;
        uint32_t reason = i % MG_REASON_COUNT;
        uint32_t family = i / MG_REASON_COUNT % MG_FAMILY_COUNT;
        uint32_t slot = i / MG_REASON_COUNT / MG_FAMILY_COUNT;
        s << sep << reason_label(reason) << " +" << packets << " (slot " << slot << ", "
          << (family == MG_FAMILY_IPV4 ? "IPv4" : family == MG_FAMILY_IPV6 ? "IPv6" : "other")
          << ")";
        sep = ", ";
    }
    return *sep ? s.str() : "nothing";
}

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

// ---- what is measured ------------------------------------------------------------------------

// One verdict path: a frame, the program it goes through and the one counter it must bump.
struct Path {
    std::string name;
    std::string sessions;               // how many sessions the map held, for the report
    const Datapath *datapath = nullptr; // null: the baseline (xdp_pass)
    std::vector<uint8_t> frame;
    uint32_t family = MG_FAMILY_OTHER;
    uint32_t reason = 0;
    uint32_t action = xdp_pass_action;
    // False when the repeat method would measure the wrong thing: the path rewrites the packet,
    // or the frame must change from run to run.
    bool repeatable = true;
    // Called before each run of the difference method, with the run's number: varies the frame.
    std::function<void(std::vector<uint8_t> &, size_t)> vary;

    // Results, one entry per round.
    std::vector<double> repeat_cpu_ns, repeat_wall_ns, repeat_kernel_ns; // per run
    std::vector<double> base_cpu_ns, base_wall_ns; // the empty program, measured just before
    std::vector<double> extra_kernel_ns, extra_wall_ns; // over xdp_pass, difference method

    int program_fd(const XdpPass &baseline) const
    {
        return datapath ? datapath->program_fd() : baseline.program_fd();
    }
};

// Proves a measurement took the intended verdict, exactly as often as the program ran.
class Checker {
public:
    explicit Checker(const Path &path) : path_(path)
    {
        if (path.datapath)
            before_ = path.datapath->counters();
    }
    // Exactly `runs` packets under the path's own counter (slot, family, reason), bytes to match,
    // and not one anywhere else.
    void expect(uint64_t runs) const
    {
        if (!path_.datapath)
            return;
        auto after = path_.datapath->counters();
        uint32_t want = mg_counter_index(lo_slot, path_.family, path_.reason);
        uint64_t elsewhere = 0;
        for (uint32_t i = 0; i < after.size(); ++i)
            if (i != want)
                elsewhere += after[i].packets - before_[i].packets;
        uint64_t got = after[want].packets - before_[want].packets;
        uint64_t bytes = after[want].bytes - before_[want].bytes;
        uint64_t want_bytes = runs * path_.frame.size();
        if (got != runs || elsewhere != 0 || bytes != want_bytes)
            fail(path_.name + " (" + path_.sessions + " sessions): expected " +
                 std::to_string(runs) + " x " + reason_label(path_.reason) + " (" +
                 std::to_string(want_bytes) + " bytes), counters show " + std::to_string(got) +
                 " (" + std::to_string(bytes) + " bytes) and " + std::to_string(elsewhere) +
                 " under other verdicts: " + describe_delta(*path_.datapath, before_));
    }

private:
    const Path &path_;
    std::vector<mg_counter> before_;
};

void expect_action(const Path &path, const Run &run)
{
    if (run.retval != path.action)
        fail(path.name + ": XDP action " + std::to_string(run.retval) + ", expected " +
             std::to_string(path.action));
}

double mean(const std::vector<double> &v)
{
    return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

// The mean without the slowest `slow_tail` share.
double trimmed_mean(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    v.resize(std::max<size_t>(1, v.size() - static_cast<size_t>(v.size() * slow_tail)));
    return mean(v);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Repeat method: one syscall, `repeat` runs on the unchanged frame; right before it, the same for
// the empty program, so the two see the same load on the machine.
void measure_repeat(Path &path, const XdpPass &baseline, int repeat)
{
    if (path.datapath) {
        Run base = test_run(baseline.program_fd(), path.frame, repeat, nullptr, CpuClock::Read);
        if (base.retval != xdp_pass_action)
            fail("xdp_pass returned " + std::to_string(base.retval));
        path.base_cpu_ns.push_back(base.cpu_ns / repeat);
        path.base_wall_ns.push_back(base.wall_ns / repeat);
    }
    Checker check(path);
    Run run = test_run(path.program_fd(baseline), path.frame, repeat, nullptr, CpuClock::Read);
    expect_action(path, run);
    check.expect(repeat);
    path.repeat_cpu_ns.push_back(run.cpu_ns / repeat);
    path.repeat_wall_ns.push_back(run.wall_ns / repeat);
    path.repeat_kernel_ns.push_back(run.kernel_ns);
}

// Difference method: `samples` pairs of syscalls, xdp_pass then the path, each with repeat = 1
// on the same frame, which the kernel copies in afresh for each.
void measure_difference(Path &path, const XdpPass &baseline, size_t samples)
{
    std::vector<double> base_kernel, base_wall, path_kernel, path_wall;
    for (auto *v : {&base_kernel, &base_wall, &path_kernel, &path_wall})
        v->reserve(samples);
    Checker check(path);
    std::vector<uint8_t> frame = path.frame;
    const int fd = path.program_fd(baseline);
    for (size_t i = 0; i < samples; ++i) {
        if (path.vary)
            path.vary(frame, i);
        Run b = test_run(baseline.program_fd(), frame, 1);
        Run p = test_run(fd, frame, 1);
        if (b.retval != xdp_pass_action)
            fail("xdp_pass returned " + std::to_string(b.retval));
        expect_action(path, p);
        base_kernel.push_back(b.kernel_ns);
        base_wall.push_back(b.wall_ns);
        path_kernel.push_back(p.kernel_ns);
        path_wall.push_back(p.wall_ns);
    }
    check.expect(samples);
    path.extra_kernel_ns.push_back(trimmed_mean(path_kernel) - trimmed_mean(base_kernel));
    path.extra_wall_ns.push_back(trimmed_mean(path_wall) - trimmed_mean(base_wall));
}

// ---- checks of the ICMP paths' output --------------------------------------------------------

// The error frame the ICMP path builds, checked field by field; returns a one-line summary.
std::string check_icmp_output(const Path &path, const std::vector<uint8_t> &out)
{
    const bool v4 = path.family == MG_FAMILY_IPV4;
    const size_t want_len = v4 ? icmp4_frame_len : icmp6_frame_len;
    auto bad = [&](const std::string &what) { fail(path.name + ": output " + what); };
    if (out.size() != want_len)
        bad("is " + std::to_string(out.size()) + " bytes, expected " + std::to_string(want_len));
    if (std::memcmp(&out[0], &path.frame[6], 6) || std::memcmp(&out[6], &path.frame[0], 6))
        bad("MAC addresses are not swapped");
    const uint8_t *ip = &out[eth_len];
    const uint8_t *orig = &path.frame[eth_len];
    uint32_t mtu;
    if (v4) {
        const uint8_t *icmp = ip + 20;
        if (get16(&out[12]) != 0x0800 || ip[0] != 0x45 || ip[9] != 1 || get16(ip + 2) != 576)
            bad("is not a 576-byte IPv4 ICMP datagram");
        if (fold(sum16(ip, 20)) != 0)
            bad("IPv4 header checksum is wrong");
        if (std::memcmp(ip + 16, orig + 12, 4))
            bad("is not addressed to the sender");
        if (icmp[0] != 3 || icmp[1] != 4)
            bad("is not ICMP destination unreachable / fragmentation needed");
        if (fold(sum16(icmp, 556)) != 0)
            bad("ICMP checksum is wrong");
        if (std::memcmp(icmp + 8, orig, 548))
            bad("does not quote the original datagram");
        mtu = get16(icmp + 6);
    } else {
        const uint8_t *icmp = ip + 40;
        if (get16(&out[12]) != 0x86dd || ip[0] >> 4 != 6 || ip[6] != 58 ||
            get16(ip + 4) != 1240)
            bad("is not a 1280-byte ICMPv6 datagram");
        if (std::memcmp(ip + 24, orig + 8, 16))
            bad("is not addressed to the sender");
        if (icmp[0] != 2 || icmp[1] != 0)
            bad("is not ICMPv6 Packet Too Big");
        uint32_t pseudo = sum16(ip + 8, 32) + 1240 + 58; // addresses, length, next header
        if (fold(sum16(icmp, 1240, pseudo)) != 0)
            bad("ICMPv6 checksum is wrong");
        if (std::memcmp(icmp + 8, orig, 1232))
            bad("does not quote the original datagram");
        mtu = static_cast<uint32_t>(get16(icmp + 4)) << 16 | get16(icmp + 6);
    }
    if (mtu != session_mtu)
        bad("announces MTU " + std::to_string(mtu));
    return std::to_string(out.size()) + "-byte frame, " +
           (v4 ? "type 3 code 4" : "type 2 code 0") + ", MTU " + std::to_string(mtu) +
           ", checksums valid, original datagram quoted";
}

// ---- the report ------------------------------------------------------------------------------

std::string fixed(double v, int decimals = 2)
{
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

struct ProgramSize {
    uint32_t xlated_insns = 0;
    uint32_t jited_bytes = 0;
};

ProgramSize program_size(int fd)
{
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len))
        throw std::system_error(errno, std::generic_category(), "reading program info");
    return {info.xlated_prog_len / 8, info.jited_prog_len};
}

// What a row's figure is, and so what it can say about its target.
enum class Judge {
    Measured,   // the cost itself: met or not
    UpperBound, // at most this: below the target proves it met, above proves nothing
};

// One line of the results table: a figure per round, the median reported.
struct Row {
    std::string name;
    std::string sessions;
    std::string method;
    std::vector<double> per_round;
    std::vector<double> base_per_round; // the empty program to divide by, round by round
    Judge judge = Judge::Measured;
    std::string target = "–";
    double target_ratio = 0; // 0: no target
};

struct Options {
    int rounds = 11;
    int repeat = 10'000'000;
    size_t samples = 20'000;
    std::vector<uint32_t> sessions = {1'000, 100'000, 1'000'000}; // the big instances
    int cpu = -1;
    std::string plot_data;
    std::string markdown;
};

void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        throw std::system_error(errno, std::generic_category(),
                                "pinning to CPU " + std::to_string(cpu));
}

int last_allowed_cpu()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set))
        throw std::system_error(errno, std::generic_category(), "reading the CPU affinity");
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu)
        if (CPU_ISSET(cpu, &set))
            return cpu;
    fail("no CPU to run on");
}

int run(const Options &options)
{
    // 1. One CPU for everything: per-CPU state stays warm and the counters land in one place.
    const int cpu = options.cpu >= 0 ? options.cpu : last_allowed_cpu();
    pin(cpu);

    // 2. The programs: the empty baseline, and mtuguard in two configurations. With client
    //    pools: one session per family, many, pool prefixes inside the pools, and one session
    //    but no address to send ICMP errors from. Hashed (no client pool, as for sessions
    //    outside one): one session, many, pool prefixes.
    Config config;
    config.icmp_global = {0, 0}; // unlimited: the ICMP paths are never rate limited
    config.icmp_per_source = {0, 0};
    config.on_oversize = MG_ACTION_ICMP;
    mg_iface iface{};
    iface.slot = lo_slot;
    iface.mtu = lo_mtu;
    mg_iface silent_iface = iface; // has_src4 = has_src6 = 0
    const mg_addr answer4 = parse_address(icmp_source4).addr;
    const mg_addr answer6 = parse_address(icmp_source6).addr;
    std::memcpy(iface.icmp_src4, &answer4.bytes[12], 4);
    std::memcpy(iface.icmp_src6, answer6.bytes, 16);
    iface.has_src4 = iface.has_src6 = 1;
    mg_session session{};
    session.dtls_mtu = session_mtu;
    session.tls_mtu = session_mtu - 100; // not in use: the session rides DTLS
    session.transport = MG_TRANSPORT_DTLS;

    const std::vector<Prefix> client_pools = {parse_prefix(client_pool4_text),
                                              parse_prefix(client_pool6_text)};
    const mg_client_pools client_pool_span = client_pools_setting(client_pools);
    const Prefix client_first4 = parse_address(client_session4);
    const Prefix client_first6 = parse_address(client_session6);
    const uint32_t most = *std::max_element(options.sessions.begin(), options.sessions.end());
    // The client-pool rows measure the slot lookup only if every session has a slot.
    {
        Prefix last4 = client_first4, last6 = client_first6;
        last4.addr = nth_address(client_first4.addr, most - 1);
        last6.addr = nth_address(client_first6.addr, most - 1);
        if (!client_pool_slot(client_pool_span, last4) ||
            !client_pool_slot(client_pool_span, last6))
            fail(std::to_string(most) + " sessions from " + client_session4 + " and " +
                 client_session6 + " do not fit the client pools " + client_pool4_text + " and " +
                 client_pool6_text + ": give --sessions at most " +
                 std::to_string(client_pool_span.first4 + client_pool_span.size4 -
                                low32(client_first4.addr)));
    }

    XdpPass baseline;
    // Hashed: the loader sizes every session map alike, the statistics of both families included.
    Datapath few(config.max_sessions), pooled(config.max_sessions);
    // With client pools: the hash maps hold only sessions outside the pools, none here.
    Datapath direct_few(config.max_sessions, "", client_pools);
    Datapath direct_silent(config.max_sessions, "", client_pools);
    Datapath direct_pooled(config.max_sessions, "", client_pools);
    std::vector<std::unique_ptr<Datapath>> bigs, direct_bigs;
    for (uint32_t n : options.sessions) {
        bigs.push_back(std::make_unique<Datapath>(2 * n + n / 4));
        direct_bigs.push_back(std::make_unique<Datapath>(config.max_sessions, "", client_pools));
    }
    const Prefix first4 = parse_address(session4), first6 = parse_address(session6);
    std::vector<Datapath *> hashed = {&few, &pooled};
    std::vector<Datapath *> direct = {&direct_few, &direct_silent, &direct_pooled};
    for (size_t b = 0; b < bigs.size(); ++b) {
        hashed.push_back(bigs[b].get());
        direct.push_back(direct_bigs[b].get());
    }
    for (auto [instances, f4, f6] : {std::tuple{&hashed, first4, first6},
                                     std::tuple{&direct, client_first4, client_first6}})
        for (Datapath *d : *instances) {
            d->set_settings(make_settings(config));
            d->set_iface(lo_ifindex, d == &direct_silent ? silent_iface : iface);
            d->set_session(f4, session);
            d->set_session(f6, session);
        }
    // Pool prefixes: the hashed pooled instance gives a whole IPv4 /16 and IPv6 /48 a default
    // session; the client-pool one a /16 and a /112 inside its client pools, whose slots then
    // hold their policy. The frames go to addresses in them that have no exact session.
    const Prefix pool4 = parse_prefix(pool4_text), pool6 = parse_prefix(pool6_text);
    pooled.set_session(pool4, session);
    pooled.set_session(pool6, session);
    direct_pooled.set_session(parse_prefix(client_pool_prefix4_text), session);
    direct_pooled.set_session(parse_prefix(client_pool_prefix6_text), session);
    // The big instances, loaded in batches as the daemon loads a file of sessions.
    auto load_big = [&](Datapath &d, uint32_t count, const Prefix &f4, const Prefix &f6) {
        std::vector<SessionEntry> entries;
        for (uint32_t n = 1; n < count; ++n) {
            Prefix p4 = f4, p6 = f6;
            p4.addr = nth_address(f4.addr, n);
            p6.addr = nth_address(f6.addr, n);
            entries.push_back({p4, session});
            entries.push_back({p6, session});
        }
        std::vector<bool> fresh(entries.size(), true);
        d.set_sessions(std::move(entries), fresh);
    };
    for (size_t b = 0; b < bigs.size(); ++b) {
        load_big(*bigs[b], options.sessions[b], first4, first6);
        load_big(*direct_bigs[b], options.sessions[b], client_first4, client_first6);
    }
    auto expect_sessions = [](const Datapath &d, uint32_t want) {
        if (auto [v4, v6] = session_count(d); v4 != want || v6 != want)
            fail("the session maps hold " + std::to_string(v4) + " IPv4 and " +
                 std::to_string(v6) + " IPv6 sessions, not " + std::to_string(want) + " each");
    };
    for (const Datapath *d : {&few, &pooled, &direct_few, &direct_silent, &direct_pooled})
        expect_sessions(*d, 1);
    for (size_t b = 0; b < bigs.size(); ++b) {
        expect_sessions(*bigs[b], options.sessions[b]);
        expect_sessions(*direct_bigs[b], options.sessions[b]);
    }
    // With client pools every session must be in a slot: the hash maps stay empty.
    for (const Datapath *d : direct)
        for (const char *map : {"mg_sessions4", "mg_sessions6"})
            if (uint32_t n = hash_entries(*d, map))
                fail(std::string(map) + " of a client-pool instance holds " + std::to_string(n) +
                     " sessions, not 0: the client pools do not cover them");
    for (const Datapath *d : {&pooled, &direct_pooled})
        if (d->pools().size() != 2)
            fail("a pooled instance holds " + std::to_string(d->pools().size()) + " pools, not 2");
    const std::string few_count = "1";
    std::cerr << "loaded: 1";
    for (uint32_t n : options.sessions)
        std::cerr << ", " << n;
    std::cerr << " sessions per family, hashed and in client pools\n";

    // 3. The frames and the paths they take.
    const mg_addr src4 = parse_address(sender4).addr, src6 = parse_address(sender6).addr;
    const mg_addr other4 = parse_address(stranger4).addr;
    // A different session every packet: a shuffled walk over the biggest instance's sessions.
    std::vector<uint32_t> order(most);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(12345));

    std::vector<Path> paths;
    auto add = [&](Path p) {
        paths.push_back(std::move(p));
        return paths.size() - 1;
    };
    const std::string in_pool = ", client pool", hashed_name = ", hashed (outside the client pool)";
    const size_t base = add({.name = "empty XDP program (xdp_pass), the baseline",
                             .sessions = "–",
                             .frame = ipv4_frame(src4, first4.addr, within_len)});
    // The same paths at each size of the session table, on a session from the middle of it.
    constexpr size_t no_path = SIZE_MAX;
    struct BigPaths {
        uint32_t count;
        size_t none, within4, within6, varied;
    };
    // One configuration's paths with its one-session instance, then with each big one.
    struct Paths {
        size_t none, within4, within6;
        std::vector<BigPaths> bigs;
    };
    auto add_sizes = [&](const std::string &suffix, Datapath &one,
                         const std::vector<std::unique_ptr<Datapath>> &big, const Prefix &f4,
                         const Prefix &f6, bool none_at_sizes) {
        auto none = [&](Datapath *d, const std::string &count) {
            return add({.name = "no session, IPv4" + suffix,
                        .sessions = count,
                        .datapath = d,
                        .frame = ipv4_frame(src4, other4, within_len),
                        .family = MG_FAMILY_IPV4,
                        .reason = MG_REASON_NO_SESSION});
        };
        auto within = [&](Datapath *d, const std::string &count, bool v6, uint32_t n) {
            return add({.name = std::string("session within MTU, ") + (v6 ? "IPv6" : "IPv4") +
                                suffix,
                        .sessions = count,
                        .datapath = d,
                        .frame = v6 ? ipv6_frame(src6, nth_address(f6.addr, n), within_len)
                                    : ipv4_frame(src4, nth_address(f4.addr, n), within_len),
                        .family = v6 ? MG_FAMILY_IPV6 : MG_FAMILY_IPV4,
                        .reason = MG_REASON_WITHIN_MTU});
        };
        Paths p{none(&one, few_count), within(&one, few_count, false, 0),
                within(&one, few_count, true, 0), {}};
        for (size_t b = 0; b < big.size(); ++b) {
            const uint32_t n = options.sessions[b];
            const std::string count = std::to_string(n);
            Datapath *d = big[b].get();
            BigPaths bp{n};
            bp.none = none_at_sizes ? none(d, count) : no_path;
            bp.within4 = within(d, count, false, n / 2);
            bp.within6 = within(d, count, true, n / 2);
            bp.varied = add(
                {.name = "session within MTU, IPv4, a different session every packet" + suffix,
                 .sessions = count,
                 .datapath = d,
                 .frame = ipv4_frame(src4, f4.addr, within_len),
                 .family = MG_FAMILY_IPV4,
                 .reason = MG_REASON_WITHIN_MTU,
                 .repeatable = false, // one frame per syscall: only the difference method varies it
                 .vary = [&order, n, first = f4.addr](std::vector<uint8_t> &frame, size_t i) {
                     // the shuffled walk, kept to this instance's sessions
                     uint32_t k = order[i % order.size()];
                     mg_addr a = nth_address(first, n == order.size() ? k : k % n);
                     std::memcpy(&frame[eth_len + 16], &a.bytes[12], 4);
                 }});
            p.bigs.push_back(bp);
        }
        return p;
    };
    // With client pools. Outside the pools a packet takes the hash like any other, so the
    // no-session path (outside) is measured at one session only, and inside, an empty slot.
    const Paths direct_paths = [&] {
        Paths p = add_sizes(in_pool, direct_few, direct_bigs, client_first4, client_first6, false);
        paths[p.none].name = "no session, IPv4, outside the client pool";
        return p;
    }();
    const size_t direct_empty = add({.name = "no session, IPv4, an empty slot of the client pool",
                                     .sessions = few_count,
                                     .datapath = &direct_few,
                                     .frame = ipv4_frame(src4, parse_address(empty_slot4).addr,
                                                         within_len),
                                     .family = MG_FAMILY_IPV4,
                                     .reason = MG_REASON_NO_SESSION});
    // Pool prefixes inside the client pools: their slots answer, one lookup as for a session.
    const size_t direct_pool_within4 =
        add({.name = "pool prefix within MTU, IPv4, inside the client pool",
             .sessions = "1 + a pool",
             .datapath = &direct_pooled,
             .frame = ipv4_frame(src4, parse_address(client_pool_member4_text).addr, within_len),
             .family = MG_FAMILY_IPV4,
             .reason = MG_REASON_WITHIN_MTU});
    const size_t direct_pool_within6 =
        add({.name = "pool prefix within MTU, IPv6, inside the client pool",
             .sessions = "1 + a pool",
             .datapath = &direct_pooled,
             .frame = ipv6_frame(src6, parse_address(client_pool_member6_text).addr, within_len),
             .family = MG_FAMILY_IPV6,
             .reason = MG_REASON_WITHIN_MTU});
    // TCP SYNs: the MSS option walked. At or below the clamp the packet is left alone, so the
    // repeat method measures it; the clamp itself rewrites it (see the MSS rows behind a restore).
    const size_t syn_small4 =
        add({.name = "TCP SYN within MTU, MSS option already small, IPv4" + in_pool,
             .sessions = few_count,
             .datapath = &direct_few,
             .frame = tcp_syn_frame(false, src4, client_first4.addr, mss_small),
             .family = MG_FAMILY_IPV4,
             .reason = MG_REASON_WITHIN_MTU});
    const size_t syn_small6 =
        add({.name = "TCP SYN within MTU, MSS option already small, IPv6" + in_pool,
             .sessions = few_count,
             .datapath = &direct_few,
             .frame = tcp_syn_frame(true, src6, client_first6.addr, mss_small),
             .family = MG_FAMILY_IPV6,
             .reason = MG_REASON_WITHIN_MTU});
    const size_t silent4 = add({.name = "over MTU, ICMPv4 withheld: no source address" + in_pool,
                                .sessions = few_count,
                                .datapath = &direct_silent,
                                .frame = ipv4_frame(src4, client_first4.addr, over_len),
                                .family = MG_FAMILY_IPV4,
                                .reason = MG_REASON_SUPPRESSED_NO_ADDRESS,
                                .action = xdp_drop_action});
    const size_t silent6 = add({.name = "over MTU, ICMPv6 withheld: no source address" + in_pool,
                                .sessions = few_count,
                                .datapath = &direct_silent,
                                .frame = ipv6_frame(src6, client_first6.addr, over_len),
                                .family = MG_FAMILY_IPV6,
                                .reason = MG_REASON_SUPPRESSED_NO_ADDRESS,
                                .action = xdp_drop_action});
    const size_t icmp4 = add({.name = "over MTU → ICMPv4 fragmentation needed" + in_pool,
                              .sessions = few_count,
                              .datapath = &direct_few,
                              .frame = ipv4_frame(src4, client_first4.addr, over_len),
                              .family = MG_FAMILY_IPV4,
                              .reason = MG_REASON_ICMP_SENT,
                              .action = xdp_tx_action,
                              .repeatable = false});
    const size_t icmp6 = add({.name = "over MTU → ICMPv6 Packet Too Big" + in_pool,
                              .sessions = few_count,
                              .datapath = &direct_few,
                              .frame = ipv6_frame(src6, client_first6.addr, over_len),
                              .family = MG_FAMILY_IPV6,
                              .reason = MG_REASON_ICMP_SENT,
                              .action = xdp_tx_action,
                              .repeatable = false});
    // Hashed: the within-MTU and no-session paths at every size; the pool prefixes, which an
    // exact lookup misses and the trie finds. The verdicts after the lookup (MSS, ICMP) are the
    // same code as with client pools, measured there only.
    const Paths hashed_paths = add_sizes(hashed_name, few, bigs, first4, first6, true);
    const size_t pool_within4 =
        add({.name = "pool prefix within MTU, IPv4" + hashed_name,
             .sessions = "1 + a pool",
             .datapath = &pooled,
             .frame = ipv4_frame(src4, parse_address(pool_member4_text).addr, within_len),
             .family = MG_FAMILY_IPV4,
             .reason = MG_REASON_WITHIN_MTU});
    const size_t pool_within6 =
        add({.name = "pool prefix within MTU, IPv6" + hashed_name,
             .sessions = "1 + a pool",
             .datapath = &pooled,
             .frame = ipv6_frame(src6, parse_address(pool_member6_text).addr, within_len),
             .family = MG_FAMILY_IPV6,
             .reason = MG_REASON_WITHIN_MTU});
    const size_t pool_none4 = add({.name = "no session, IPv4, pool prefixes in use" + hashed_name,
                                   .sessions = "1 + a pool",
                                   .datapath = &pooled,
                                   .frame = ipv4_frame(src4, other4, within_len),
                                   .family = MG_FAMILY_IPV4,
                                   .reason = MG_REASON_NO_SESSION});

    Probes probes(paths[icmp6].frame);
    const auto probe_list = probes.all();
    std::vector<std::vector<double>> probe_ns(probe_list.size());

    // The ICMP paths warm: the same client pools, sessions, interface entry and settings as the
    // small client-pool instance, in bench/icmp_warm.bpf.c's own maps.
    IcmpWarm warm(make_settings(config), iface, lo_ifindex,
                  {{client_first4, session}, {client_first6, session}}, client_pools);
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
    std::vector<WarmPath> warm_paths = {
        {icmp4, silent4, client_first4, 20 + 8, icmp4_frame_len},
        {icmp6, silent6, client_first6, 40 + 8, icmp6_frame_len}};
    enum class Warm { RestoreOnly, ShrinkThenRestore, RestoreThenMtuguard };
    // One run of a bench/icmp_warm.bpf.c program, checked: the XDP action, and exactly `repeat`
    // ICMP errors under the path's counter (and the session's icmp_sent) behind mtuguard, none
    // anywhere for the others.
    auto warm_run = [&](const WarmPath &w, Warm program, int repeat, std::vector<uint8_t> *out,
                        CpuClock clock) {
        const Path &p = paths[w.icmp];
        const bool with_mtuguard = program == Warm::RestoreThenMtuguard;
        const std::string what =
            p.name + (with_mtuguard                    ? ", restore_then_mtuguard"
                      : program == Warm::RestoreOnly ? ", restore_only"
                                                     : ", shrink_then_restore");
        warm.restore_to(p.frame, w.pushed, w.error_len);
        const auto before = warm.counters();
        const uint64_t sent_before = warm.session_icmp_sent(w.target);
        Run run = test_run(with_mtuguard                    ? warm.restore_then_mtuguard_fd()
                           : program == Warm::RestoreOnly ? warm.restore_only_fd()
                                                          : warm.shrink_then_restore_fd(),
                           p.frame, repeat, out, clock);
        const auto after = warm.counters();
        const uint32_t want = mg_counter_index(lo_slot, p.family, MG_REASON_ICMP_SENT);
        const uint64_t expected = with_mtuguard ? repeat : 0;
        uint64_t elsewhere = 0;
        for (uint32_t i = 0; i < after.size(); ++i)
            if (i != want)
                elsewhere += after[i].packets - before[i].packets;
        const uint64_t got = after[want].packets - before[want].packets;
        const uint64_t bytes = after[want].bytes - before[want].bytes;
        const uint64_t sent = warm.session_icmp_sent(w.target) - sent_before;
        if (got != expected || bytes != expected * p.frame.size() || elsewhere || sent != expected)
            fail(what + ", repeat = " + std::to_string(repeat) + ": expected " +
                 std::to_string(expected) + " x icmp-sent, counters show " + std::to_string(got) +
                 " (" + std::to_string(bytes) + " bytes), " + std::to_string(elsewhere) +
                 " under other verdicts, " + std::to_string(sent) + " in the session's icmp_sent");
        const uint32_t action = with_mtuguard ? xdp_tx_action : xdp_pass_action;
        if (run.retval != action)
            fail(what + ": XDP action " + std::to_string(run.retval) + ", expected " +
                 std::to_string(action));
        return run;
    };

    // 4. Every path once, output kept: the right verdict, and for ICMP the right error frame.
    std::vector<std::string> outputs;
    for (Path &path : paths) {
        Checker check(path);
        std::vector<uint8_t> out;
        Run run = test_run(path.program_fd(baseline), path.frame, 1, &out);
        expect_action(path, run);
        check.expect(1);
        if (path.reason == MG_REASON_ICMP_SENT)
            outputs.push_back(path.name + ": " + check_icmp_output(path, out));
        else if (out != path.frame)
            fail(path.name + ": the program changed a packet it did not answer");
    }

    for (const auto &probe : probe_list) {
        std::vector<uint8_t> out;
        Run run = test_run(probe.fd, paths[icmp6].frame, 1, &out);
        if (run.retval != xdp_pass_action || out != paths[icmp6].frame)
            fail(std::string("probe ") + probe.block + ": XDP action " +
                 std::to_string(run.retval) + ", or the packet changed");
    }

    // The restore, shown to work: restore_only leaves the frame as it was; behind it, mtuguard
    // answers every repetition (the counters, checked in warm_run) with the same error.
    std::vector<std::string> warm_outputs;
    for (const WarmPath &w : warm_paths) {
        const Path &p = paths[w.icmp];
        std::vector<uint8_t> out;
        warm_run(w, Warm::RestoreOnly, 2, &out, CpuClock::Skip);
        if (out != p.frame)
            fail(p.name + ", restore_only: changed the frame");
        warm_run(w, Warm::ShrinkThenRestore, 2, &out, CpuClock::Skip);
        if (out != p.frame)
            fail(p.name + ", shrink_then_restore: did not restore the frame");
        warm_run(w, Warm::RestoreThenMtuguard, 1, &out, CpuClock::Skip);
        const std::string once = check_icmp_output(p, out);
        warm_run(w, Warm::RestoreThenMtuguard, 2, &out, CpuClock::Skip);
        const std::string twice = check_icmp_output(p, out);
        if (once != twice)
            fail(p.name + ", restore_then_mtuguard: the second repetition built another error");
        warm_outputs.push_back("`" + p.name + "` behind the restore: restore_only and "
                               "shrink_then_restore at repeat = 2 left the frame byte for byte "
                               "as it was and counted nothing; restore_then_mtuguard at repeat = "
                               "1 and 2 counted exactly 1 and 2 ICMP errors (interface counter "
                               "and the session's icmp_sent) and output " + twice);
    }

    // The MSS clamp behind the restore: a SYN announcing more than the session fits has its MSS
    // lowered and its checksum fixed on every repetition; the restore writes the original
    // headers back first (the frame keeps its length, so no adjust call is made).
    const std::vector<uint8_t> syn_large4 =
        tcp_syn_frame(false, parse_address(sender4).addr, client_first4.addr, mss_large);
    auto mss_run = [&](Warm program, int repeat, std::vector<uint8_t> *out, CpuClock clock) {
        const bool with_mtuguard = program == Warm::RestoreThenMtuguard;
        warm.restore_to(syn_large4, 0, syn_large4.size());
        const auto before = warm.counters();
        const auto mss_before = warm.mss_counters();
        Run run = test_run(with_mtuguard ? warm.restore_then_mtuguard_fd() : warm.restore_only_fd(),
                           syn_large4, repeat, out, clock);
        const auto after = warm.counters();
        const auto mss_after = warm.mss_counters();
        const uint32_t want = mg_counter_index(lo_slot, MG_FAMILY_IPV4, MG_REASON_WITHIN_MTU);
        const uint32_t want_mss = mg_mss_index(lo_slot, MG_DIR_TO_CLIENT, MG_MSS_CLAMPED);
        const uint64_t expected = with_mtuguard ? repeat : 0;
        uint64_t elsewhere = 0, mss_elsewhere = 0;
        for (uint32_t i = 0; i < after.size(); ++i)
            if (i != want)
                elsewhere += after[i].packets - before[i].packets;
        for (uint32_t i = 0; i < mss_after.size(); ++i)
            if (i != want_mss)
                mss_elsewhere += mss_after[i] - mss_before[i];
        if (after[want].packets - before[want].packets != expected || elsewhere ||
            mss_after[want_mss] - mss_before[want_mss] != expected || mss_elsewhere ||
            run.retval != xdp_pass_action)
            fail("MSS clamp behind the restore, repeat = " + std::to_string(repeat) +
                 ": expected " + std::to_string(expected) + " x within-mtu and MSS clamped, "
                 "XDP_PASS; the counters or the action differ");
        return run;
    };
    std::string mss_output;
    {
        std::vector<uint8_t> out;
        mss_run(Warm::RestoreOnly, 2, &out, CpuClock::Skip);
        if (out != syn_large4)
            fail("MSS clamp, restore_only: changed the frame");
        mss_run(Warm::RestoreThenMtuguard, 2, &out, CpuClock::Skip);
        const size_t tcp = eth_len + 20;
        if (out.size() != syn_large4.size() || get16(&out[tcp + 22]) != session_mtu - 40 ||
            fold(tcp_pseudo_sum(out, false) + sum16(&out[tcp], 24)) != 0)
            fail("MSS clamp behind the restore: the MSS is not " +
                 std::to_string(session_mtu - 40) + " or the TCP checksum is wrong");
        mss_output = "TCP SYN with MSS " + std::to_string(mss_large) + " behind the restore: "
                     "restore_only at repeat = 2 left it byte for byte as it was and counted "
                     "nothing; restore_then_mtuguard at repeat = 2 counted exactly 2 within-MTU "
                     "packets and 2 clamped MSS options and output MSS " +
                     std::to_string(session_mtu - 40) + " with a valid TCP checksum";
    }
    std::vector<double> mss_base_ns, mss_restore_ns, mss_clamp_ns;

    // The paths with a different session every packet, once over the sessions their rounds
    // visit, untimed and checked. On their first pass over a freshly written client-pool slot
    // array many runs take tens of µs (the program's first touch of that memory), on the next
    // none do; an agent pays that once after loading its sessions, so the rounds leave it out.
    for (Path &path : paths)
        if (path.vary) {
            measure_difference(path, baseline, options.samples);
            path.extra_kernel_ns.clear();
            path.extra_wall_ns.clear();
        }

    // 5. The caveat, shown rather than assumed: a rewriting path with repeat = 2, and with the
    //    full repeat as a naive benchmark would run it.
    std::vector<std::string> caveat;
    for (size_t i : {icmp4, icmp6}) {
        const Path &path = paths[i];
        auto before = path.datapath->counters();
        std::vector<uint8_t> out;
        Run run = test_run(path.datapath->program_fd(), path.frame, 2, &out);
        caveat.push_back("`" + path.name + "`, repeat = 2: counters " +
                         describe_delta(*path.datapath, before) +
                         "; XDP action of the last run " + std::to_string(run.retval) +
                         "; data_out " + std::to_string(run.size_out) + " bytes");
        before = path.datapath->counters();
        run = test_run(path.datapath->program_fd(), path.frame, options.repeat, nullptr,
                       CpuClock::Read);
        caveat.push_back("`" + path.name + "`, repeat = " + std::to_string(options.repeat) +
                         ": the repeat method would report " +
                         fixed(run.cpu_ns / options.repeat) + " ns per run, but the counters "
                         "show " + describe_delta(*path.datapath, before));
    }

    // 6. The rounds. Each measures every path by each method it allows, and the empty program
    //    next to every measurement, so a change in the machine's load moves both.
    for (int round = 0; round < options.rounds; ++round) {
        for (Path &path : paths)
            if (path.repeatable)
                measure_repeat(path, baseline, options.repeat);
        for (Path &path : paths)
            if (path.datapath)
                measure_difference(path, baseline, options.samples);
        for (size_t i = 0; i < probe_list.size(); ++i) {
            const auto &frame = paths[icmp6].frame;
            Run empty = test_run(baseline.program_fd(), frame, options.repeat, nullptr,
                                 CpuClock::Read);
            Run run = test_run(probe_list[i].fd, frame, options.repeat, nullptr, CpuClock::Read);
            if (run.retval != xdp_pass_action || empty.retval != xdp_pass_action)
                fail(std::string("probe ") + probe_list[i].block + " failed");
            probe_ns[i].push_back((run.cpu_ns - empty.cpu_ns) / options.repeat);
        }
        // The ICMP paths warm: the empty program, the restore alone and the restore with
        // mtuguard behind it, each at the full repeat, every ICMP error counted.
        for (WarmPath &w : warm_paths) {
            const auto &frame = paths[w.icmp].frame;
            Run empty = test_run(baseline.program_fd(), frame, options.repeat, nullptr,
                                 CpuClock::Read);
            if (empty.retval != xdp_pass_action)
                fail("xdp_pass returned " + std::to_string(empty.retval));
            Run restore = warm_run(w, Warm::RestoreOnly, options.repeat, nullptr, CpuClock::Read);
            Run shrink =
                warm_run(w, Warm::ShrinkThenRestore, options.repeat, nullptr, CpuClock::Read);
            Run icmp =
                warm_run(w, Warm::RestoreThenMtuguard, options.repeat, nullptr, CpuClock::Read);
            w.base_ns.push_back(empty.cpu_ns / options.repeat);
            w.restore_ns.push_back(restore.cpu_ns / options.repeat);
            w.shrink_ns.push_back(shrink.cpu_ns / options.repeat);
            w.restore_icmp_ns.push_back(icmp.cpu_ns / options.repeat);
        }
        {
            Run empty = test_run(baseline.program_fd(), syn_large4, options.repeat, nullptr,
                                 CpuClock::Read);
            Run restore = mss_run(Warm::RestoreOnly, options.repeat, nullptr, CpuClock::Read);
            Run clamp = mss_run(Warm::RestoreThenMtuguard, options.repeat, nullptr, CpuClock::Read);
            mss_base_ns.push_back(empty.cpu_ns / options.repeat);
            mss_restore_ns.push_back(restore.cpu_ns / options.repeat);
            mss_clamp_ns.push_back(clamp.cpu_ns / options.repeat);
        }
        std::cerr << "round " << round + 1 << "/" << options.rounds << ": empty program "
                  << fixed(paths[base].repeat_cpu_ns.back()) << " ns";
        for (const Path &path : paths)
            if (path.datapath)
                std::cerr << " | " << path.name << " (" << path.sessions << "): "
                          << (path.repeatable ? fixed(path.repeat_cpu_ns.back()) + " ns, " : "")
                          << "+" << fixed(path.extra_kernel_ns.back()) << " ns";
        for (const WarmPath &w : warm_paths)
            std::cerr << " | " << paths[w.icmp].name << ", warm: "
                      << fixed(w.restore_icmp_ns.back() - w.restore_ns.back() + w.base_ns.back())
                      << " ns";
        std::cerr << "\n";
    }

    // 7. The results, as rows of figures per round.
    const Path &empty = paths[base];
    auto per_round = [&](auto figure) {
        std::vector<double> v;
        for (int r = 0; r < options.rounds; ++r)
            v.push_back(figure(r));
        return v;
    };
    auto repeat_row = [&](size_t i) {
        const Path &p = paths[i];
        return Row{p.name, p.sessions, "repeat", p.repeat_cpu_ns,
                   p.datapath ? p.base_cpu_ns : p.repeat_cpu_ns};
    };
    // The empty program's repeat figure plus the path's extra cost by the difference method.
    auto difference_row = [&](size_t i) {
        const Path &p = paths[i];
        return Row{p.name, p.sessions, "difference", per_round([&](int r) {
                       return empty.repeat_cpu_ns[r] + p.extra_kernel_ns[r];
                   }), empty.repeat_cpu_ns};
    };
    // The ICMP path warm, the earlier estimate: the withheld path (which runs all of the ICMP path
    // up to the rate limit and the error's construction) by the repeat method, plus what the ICMP
    // path costs beyond it by the difference method. Shown next to the measurement.
    auto bound_row = [&](size_t icmp, size_t withheld) {
        const Path &p = paths[icmp], &w = paths[withheld];
        return Row{p.name + ", warm, at most", p.sessions, "bound", per_round([&](int r) {
                       return w.repeat_cpu_ns[r] + p.extra_kernel_ns[r] - w.extra_kernel_ns[r];
                   }), w.base_cpu_ns, Judge::UpperBound};
    };
    // The ICMP path warm, measured: restore_then_mtuguard less the mean of restore_only and
    // shrink_then_restore, plus the empty program; an upper bound (see warm_bound_text).
    auto warm_at_most = [](const WarmPath &w, int r) {
        return w.restore_icmp_ns[r] - (w.restore_ns[r] + w.shrink_ns[r]) / 2 + w.base_ns[r];
    };
    auto warm_row = [&](const WarmPath &w) {
        return Row{paths[w.icmp].name + ", warm", paths[w.icmp].sessions, "restore",
                   per_round([&](int r) { return warm_at_most(w, r); }), w.base_ns};
    };
    auto with_target = [](Row row, const char *target, double ratio) {
        row.target = target;
        row.target_ratio = ratio;
        return row;
    };
    // The client-pool rows first: the recommended configuration, judged against the targets.
    // The hashed rows after them, for sessions outside --client-pool: informational.
    std::vector<Row> rows = {
        repeat_row(base),
        repeat_row(direct_paths.none),
        repeat_row(direct_empty),
        with_target(repeat_row(direct_paths.within4), "≤ 3×", 3),
        with_target(repeat_row(direct_paths.within6), "≤ 3×", 3),
    };
    for (const BigPaths &bp : direct_paths.bigs) {
        rows.push_back(with_target(repeat_row(bp.within4), "≤ 3×", 3));
        rows.push_back(with_target(repeat_row(bp.within6), "≤ 3×", 3));
    }
    for (const BigPaths &bp : direct_paths.bigs)
        rows.push_back(difference_row(bp.varied));
    for (Row row : {
        with_target(repeat_row(direct_pool_within4), "≤ 3×", 3),
        with_target(repeat_row(direct_pool_within6), "≤ 3×", 3),
        with_target(repeat_row(syn_small4), "≤ 5×", 5),
        with_target(repeat_row(syn_small6), "≤ 5×", 5),
        with_target(Row{"TCP SYN within MTU, MSS clamped " + std::to_string(mss_large) + " → " +
                            std::to_string(session_mtu - 40) + ", IPv4" + in_pool,
                        few_count, "restore", per_round([&](int r) {
                            return mss_clamp_ns[r] - mss_restore_ns[r] + mss_base_ns[r];
                        }), mss_base_ns},
                    "≤ 5×", 5),
        repeat_row(silent4),
        repeat_row(silent6),
        difference_row(icmp4),
        difference_row(icmp6),
        with_target(warm_row(warm_paths[0]), "≤ 15×", 15),
        with_target(warm_row(warm_paths[1]), "≤ 15×", 15),
        repeat_row(hashed_paths.none),
        repeat_row(hashed_paths.within4),
        repeat_row(hashed_paths.within6),
    })
        rows.push_back(std::move(row));
    for (const BigPaths &bp : hashed_paths.bigs) {
        rows.push_back(repeat_row(bp.none));
        rows.push_back(repeat_row(bp.within4));
        rows.push_back(repeat_row(bp.within6));
    }
    for (const BigPaths &bp : hashed_paths.bigs)
        rows.push_back(difference_row(bp.varied));
    for (size_t i : {pool_none4, pool_within4, pool_within6})
        rows.push_back(repeat_row(i));

    const double empty_repeat_median = median(empty.repeat_cpu_ns);
    // The table's size: each path at every size against itself at one session, both as ratios
    // to the empty program measured beside them, so the machine's load cancels out.
    struct Flat {
        std::string name;
        std::vector<size_t> at;  // the path at 1 session, then at each big instance
        std::vector<double> ns;  // medians, same order
        double growth = 0;       // largest instance ÷ 1 session
        bool judged = true;
    };
    std::vector<Flat> flats;
    auto ratio_round = [&](size_t i, int r) {
        const Path &p = paths[i];
        return p.repeatable ? p.repeat_cpu_ns[r] / p.base_cpu_ns[r]
                            : (empty.repeat_cpu_ns[r] + p.extra_kernel_ns[r]) /
                                  empty.repeat_cpu_ns[r];
    };
    auto ns_of = [&](size_t i) {
        const Path &p = paths[i];
        return p.repeatable ? median(p.repeat_cpu_ns) : median(per_round([&](int r) {
            return empty.repeat_cpu_ns[r] + p.extra_kernel_ns[r];
        }));
    };
    auto flat = [&](size_t one, const Paths &config, size_t BigPaths::*member, bool judged) {
        Flat f{paths[one].name, {one}};
        for (const BigPaths &bp : config.bigs)
            f.at.push_back(bp.*member);
        for (size_t i : f.at)
            f.ns.push_back(ns_of(i));
        f.growth = median(per_round([&](int r) {
            return ratio_round(f.at.back(), r) / ratio_round(one, r);
        }));
        f.judged = judged;
        return f;
    };
    // Cold: one syscall per packet, a different session each time (at 1 session: the same one,
    // by the same difference method).
    auto cold = [&](const std::string &suffix, const Paths &config) {
        Flat f{"session within MTU, IPv4" + suffix + ", a different session every packet (cold, "
               "difference method; at 1 session the same session)",
               {config.within4}};
        for (const BigPaths &bp : config.bigs)
            f.at.push_back(bp.varied);
        for (size_t i : f.at)
            f.ns.push_back(empty_repeat_median + median(paths[i].extra_kernel_ns));
        f.growth = median(per_round([&](int r) {
            return (empty.repeat_cpu_ns[r] + paths[f.at.back()].extra_kernel_ns[r]) /
                   (empty.repeat_cpu_ns[r] + paths[config.within4].extra_kernel_ns[r]);
        }));
        f.judged = false;
        return f;
    };
    const Flat direct_within4_flat =
        flat(direct_paths.within4, direct_paths, &BigPaths::within4, true);
    const Flat direct_within6_flat =
        flat(direct_paths.within6, direct_paths, &BigPaths::within6, true);
    const Flat direct_cold_flat = cold(in_pool, direct_paths);
    const Flat hashed_none_flat = flat(hashed_paths.none, hashed_paths, &BigPaths::none, false);
    const Flat hashed_within4_flat =
        flat(hashed_paths.within4, hashed_paths, &BigPaths::within4, false);
    const Flat hashed_within6_flat =
        flat(hashed_paths.within6, hashed_paths, &BigPaths::within6, false);
    const Flat hashed_cold_flat = cold(hashed_name, hashed_paths);
    flats = {direct_within4_flat, direct_within6_flat, direct_cold_flat, hashed_none_flat,
             hashed_within4_flat, hashed_within6_flat, hashed_cold_flat};
    if (!options.plot_data.empty()) {
        // The hashed columns first, where they always were; the client pools' after them.
        std::ofstream plot(options.plot_data);
        plot << "# sessions per family, then ns/packet: empty program; hashed: no session IPv4, "
                "within MTU IPv4, within MTU IPv6, a different IPv4 session every packet (cold); "
                "client pool: within MTU IPv4, within MTU IPv6, cold\n";
        for (size_t k = 0; k < direct_within4_flat.ns.size(); ++k) {
            plot << (k ? options.sessions[k - 1] : 1) << " " << fixed(empty_repeat_median);
            for (const Flat *f : {&hashed_none_flat, &hashed_within4_flat, &hashed_within6_flat,
                                  &hashed_cold_flat, &direct_within4_flat, &direct_within6_flat,
                                  &direct_cold_flat})
                plot << " " << fixed(f->ns[k]);
            plot << "\n";
        }
        if (!plot)
            fail("writing " + options.plot_data);
    }

    // 8. The report.
    const double base_ns = median(empty.repeat_cpu_ns);
    std::string session_list;
    for (size_t k = 0; k < options.sessions.size(); ++k)
        session_list += (k ? (k + 1 == options.sessions.size() ? " and " : ", ") : "") +
                        std::to_string(options.sessions[k]);
    const std::string rounds =
        std::to_string(options.rounds) + (options.rounds == 1 ? " round" : " rounds");
    std::ostringstream md;
    md << "## Results\n\n"
       << "Two configurations of the session table. *client pool*: instances with the client "
          "pools " << client_pool4_text << " and " << client_pool6_text << " (`--client-pool`, "
          "or by default the largest pool prefix given as a session; 2^20 addresses each, the "
          "largest allowed), every session inside them, so each lookup "
          "is an array index by the address's offset in the pool, which the verifier inlines; "
          "this is the configuration of a gateway that declares its VPN's pool and the targets "
          "are judged on its rows. "
          "*hashed (outside the client pool)*: instances without client pools, every session in "
          "the hash maps; these rows are informational (– in the target column): a session "
          "whose address lies outside the client pool (or any session, when no pool is "
          "declared) is found by that hash lookup instead.\n\n"
       << "| path | sessions per family | method | ns/packet | ratio to empty program | target | "
          "met | range over rounds (ns) |\n"
       << "|---|---:|---|---:|---:|---|---|---|\n";
    std::vector<std::string> missed;
    for (const Row &row : rows) {
        double ns = median(row.per_round);
        std::vector<double> ratios;
        for (size_t r = 0; r < row.per_round.size(); ++r)
            ratios.push_back(row.per_round[r] / row.base_per_round[r]);
        double ratio = median(ratios);
        auto [lo, hi] = std::minmax_element(row.per_round.begin(), row.per_round.end());
        std::string met = "–";
        if (row.target_ratio) {
            const bool within = ratio <= row.target_ratio;
            switch (row.judge) {
            case Judge::Measured:
                met = within ? "yes" : "**no**";
                if (!within)
                    missed.push_back(row.name + " (sessions per family: " + row.sessions + ")");
                break;
            case Judge::UpperBound:
                met = within ? "yes" : "not shown";
                break;
            }
        }
        md << "| " << row.name << " | " << row.sessions << " | " << row.method << " | "
           << fixed(ns) << " | " << fixed(ratio) << "× | " << row.target << " | " << met << " | "
           << fixed(*lo) << " – " << fixed(*hi) << " |\n";
    }
    md << "\nMethods: *repeat* = one syscall with repeat = " << options.repeat
       << "; *difference* = the empty program's repeat figure + the path's extra run time over "
          "the empty program at repeat = 1 (cold: informational; the targets are for the warm "
          "paths, a large repeat, which the ICMP paths can only take behind a restore); *restore* = the "
          "path behind a restore of the frame, minus the restore, plus the empty program, all "
          "by the repeat method (for the ICMP paths an upper bound, see *The ICMP paths warm, "
          "measured*). Figures are medians over " << rounds
       << "; a ratio is the median over the rounds of the path's figure divided by the empty "
          "program's, measured just before it (repeat, restore) or at the start of the round "
          "(difference).\n\n";
    for (const Flat &f : flats)
        if (f.judged && f.growth > 1.2)
            missed.push_back(f.name + ": " + fixed(f.growth) + "× the cost at 1 session with " +
                             std::to_string(options.sessions.back()) + " sessions");
    if (missed.empty()) {
        md << "Every target was met.\n\n";
    } else {
        md << "**Targets missed:** ";
        for (size_t i = 0; i < missed.size(); ++i)
            md << (i ? "; " : "") << missed[i];
        md << ".\n\n";
    }

    md << "### Cross-check: extra cost over the empty program, by both methods and both clocks\n\n"
       << "Medians over the rounds, in ns. The repeat method runs the program millions of times "
          "in a row (caches, TLB and branch predictors warm); the difference method runs it "
          "once per syscall, right after a kernel entry that flushed the TLB and disturbed the "
          "caches, so its figures include those cold misses.\n\n"
       << "| path | sessions per family | repeat, thread CPU clock | repeat, CLOCK_MONOTONIC | "
          "difference, kernel-timed | difference, CLOCK_MONOTONIC |\n"
       << "|---|---:|---:|---:|---:|---:|\n";
    for (const Path &path : paths) {
        if (!path.datapath)
            continue;
        md << "| " << path.name << " | " << path.sessions << " | ";
        if (path.repeatable) {
            md << fixed(median(per_round([&](int r) {
                   return path.repeat_cpu_ns[r] - path.base_cpu_ns[r];
               })))
               << " | "
               << fixed(median(per_round([&](int r) {
                   return path.repeat_wall_ns[r] - path.base_wall_ns[r];
               })))
               << " | ";
        } else {
            md << "n/a | n/a | ";
        }
        md << fixed(median(path.extra_kernel_ns)) << " | " << fixed(median(path.extra_wall_ns))
           << " |\n";
    }
    md << "\nThe empty program itself, repeat method: " << fixed(base_ns)
       << " ns by the thread CPU clock, " << fixed(median(empty.repeat_wall_ns))
       << " ns by CLOCK_MONOTONIC, " << fixed(median(empty.repeat_kernel_ns), 0)
       << " ns as the kernel reports it (whole ns, rounded down).\n\n";

    md << "### Flat to a million sessions\n\n"
       << "ns per packet (medians over the rounds) of the same path with the session table at "
          "each size, and the cost at the largest size divided by the cost at one session "
          "(median over the rounds of the two ratios to the empty program, so the machine's "
          "load cancels out). Target: at most 1.2×, judged on the client-pool rows; the hashed "
          "rows are informational, as in the results. The cold rows are the extreme case, not a "
          "target: every packet a different session, one syscall each, so its entry is neither "
          "in the cache nor in the TLB.\n\n| path | 1";
    for (uint32_t n : options.sessions)
        md << " | " << n;
    md << " | largest ÷ 1 | target | met |\n|---|---:";
    for (size_t k = 0; k < options.sessions.size(); ++k)
        md << "|---:";
    md << "|---:|---|---|\n";
    for (const Flat &f : flats) {
        md << "| " << f.name;
        for (double v : f.ns)
            md << " | " << fixed(v);
        md << " | " << fixed(f.growth) << "× | " << (f.judged ? "≤ 1.2×" : "–") << " | "
           << (f.judged ? (f.growth <= 1.2 ? "yes" : "**no**") : "–") << " |\n";
    }
    md << "\n";

    // The ICMP paths warm: the three figures each is made of.
    auto probe_median = [&](const char *program) {
        for (size_t i = 0; i < probe_list.size(); ++i)
            if (std::string(probe_list[i].program) == program)
                return median(probe_ns[i]);
        fail(std::string("no probe ") + program);
    };
    // Each probe makes two calls; the restore makes one of each.
    const double adjust_ns = (probe_median("probe_head") + probe_median("probe_tail")) / 2;
    md << "### The ICMP paths warm, measured\n\n"
       << "`bench/icmp_warm.bpf.c` includes `bpf/mtuguard.bpf.c` whole and defines three more "
          "XDP programs in the same object: `restore_only`, which turns the buffer back into the "
          "original oversize frame (when it is not the original length: `bpf_xdp_adjust_head` "
          "by the bytes the error pushed and `bpf_xdp_adjust_tail` back to the original length, "
          "which zeroes the regrown bytes; then the first " << WARM_HEAD_LEN << " bytes written "
          "back from a global) and returns XDP_PASS; `restore_then_mtuguard`, the same restore "
          "followed by `mtuguard_xdp()` inlined; and `shrink_then_restore`, which gives the "
          "frame the error's shape without its content (the head grown and the tail cut, as the "
          "ICMP path does, nothing written) and then restores it. With the restore every "
          "repetition of one syscall takes the ICMP path, so all run by the repeat method "
          "(repeat = " << options.repeat << ", thread CPU clock), the empty program right "
          "before them on the same frame. Medians over " << rounds << ", in ns per packet:\n\n"
       << "| path | empty program | restore_only | shrink_then_restore | restore_then_mtuguard "
          "| **ICMP path, warm, at most** = restore_then_mtuguard − (restore_only + "
          "shrink_then_restore) / 2 + empty | × empty program | range over rounds | pessimistic "
          "= restore_then_mtuguard − restore_only + empty | × empty program | lower estimate = "
          "restore_then_mtuguard − shrink_then_restore + empty | × empty program | bound method "
          "|\n"
       << "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
    std::vector<std::string> bound_notes;
    for (const WarmPath &w : warm_paths) {
        std::vector<double> at_most_ns, ratios, upper_ns, upper_ratios, lower_ns, lower_ratios;
        for (int r = 0; r < options.rounds; ++r) {
            at_most_ns.push_back(warm_at_most(w, r));
            ratios.push_back(at_most_ns.back() / w.base_ns[r]);
            upper_ns.push_back(w.restore_icmp_ns[r] - w.restore_ns[r] + w.base_ns[r]);
            upper_ratios.push_back(upper_ns.back() / w.base_ns[r]);
            lower_ns.push_back(w.restore_icmp_ns[r] - w.shrink_ns[r] + w.base_ns[r]);
            lower_ratios.push_back(lower_ns.back() / w.base_ns[r]);
        }
        auto [lo, hi] = std::minmax_element(at_most_ns.begin(), at_most_ns.end());
        const double bound = median(bound_row(w.icmp, w.withheld).per_round);
        const std::string &name = paths[w.icmp].name;
        md << "| " << name << " | " << fixed(median(w.base_ns)) << " | "
           << fixed(median(w.restore_ns)) << " | " << fixed(median(w.shrink_ns)) << " | "
           << fixed(median(w.restore_icmp_ns)) << " | **" << fixed(median(at_most_ns)) << "** | "
           << fixed(median(ratios)) << "× | " << fixed(*lo) << " – " << fixed(*hi) << " | "
           << fixed(median(upper_ns)) << " | " << fixed(median(upper_ratios)) << "× | "
           << fixed(median(lower_ns)) << " | " << fixed(median(lower_ratios)) << "× | "
           << fixed(bound) << " |\n";
        const char *where = bound < median(lower_ns)      ? "below even the lower estimate"
                            : bound < median(upper_ns) ? "between the lower and the pessimistic estimate"
                                                       : "above every estimate";
        bound_notes.push_back(name + ": " + fixed(bound) + " ns, " + where);
    }
    md << "\nWhy the judged figure is an upper bound. Every repetition but the first of "
          "restore_then_mtuguard makes the restore's two adjust calls, which *undo* the error's "
          "shape (the head given back, the tail regrown and zeroed), and then the ICMP path, "
          "which includes the two calls that *make* that shape (head grown, tail cut). "
          "restore_only makes neither adjust call (its frame never changes), so restore_then_"
          "mtuguard − restore_only is the ICMP path plus the undo: *pessimistic*. "
          "shrink_then_restore makes both, so restore_then_mtuguard − shrink_then_restore is the "
          "ICMP path minus the shaping: the *lower estimate*. The two differ by shaping + undoing, "
          "measured in place. The undo runs the same two helpers as the shaping, in the other "
          "direction, and also zeroes the regrown tail (`bpf_xdp_adjust_head` moves a pointer "
          "either way; `bpf_xdp_adjust_tail` only clears memory when it grows), so the shaping "
          "costs at most half of the pair, and the ICMP path = lower estimate + shaping is at "
          "most their mean, the judged figure. (The probes below price one call of each at "
          "about " << fixed(adjust_ns) << " ns together, half of each two-call probe.) Every "
          "run was checked: restore_then_mtuguard counted exactly `repeat` ICMP errors under the "
          "path's own counter and in the session's `icmp_sent`, nothing under any other verdict, "
          "and returned XDP_TX; restore_only and shrink_then_restore counted nothing and "
          "returned XDP_PASS.\n\n"
       << "The *bound method* column is the earlier estimate of the same cost (see Method: the "
          "withheld path by the repeat method plus the ICMP path's extra over it by the "
          "difference method), here next to the measurement: ";
    for (size_t i = 0; i < bound_notes.size(); ++i)
        md << (i ? "; " : "") << bound_notes[i];
    md << ".\n\n";

    md << "### Where the time goes\n\n"
       << "Each building block as a probe program of its own (`bench/probes.bpf.c`) that does "
          "only that and leaves the packet alone, priced by the repeat method: its cost over "
          "the empty program, median over the rounds, warm.\n\n"
       << "| block | extra ns | × empty program | stands for |\n"
       << "|---|---:|---:|---|\n";
    for (size_t i = 0; i < probe_list.size(); ++i) {
        double ns = median(probe_ns[i]);
        md << "| " << probe_list[i].block << " | " << fixed(ns) << " | " << fixed(ns / base_ns)
           << "× | " << probe_list[i].prices << " |\n";
    }
    auto extra = [&](size_t i) {
        return fixed(median(per_round([&](int r) {
            return paths[i].repeat_cpu_ns[r] - paths[i].base_cpu_ns[r];
        })));
    };
    md << "\nFor scale: the whole within-MTU IPv4 path costs " << extra(direct_paths.within4)
       << " ns over the empty program in the client pool and " << extra(hashed_paths.within4)
       << " ns hashed, the no-session path " << extra(direct_empty) << " ns on an empty slot "
          "of the client pool and " << extra(hashed_paths.none) << " ns hashed, the withheld "
          "IPv4 path (everything of the ICMP path before the rate limit) " << extra(silent4)
       << " ns.\n\n";

    ProgramSize mg = program_size(few.program_fd());
    ProgramSize pass = program_size(baseline.program_fd());
    md << "### Checks made in this run\n\n"
       << "- Every measurement was followed by a read of `mg_counters` (summed over CPUs): "
          "exactly as many packets as the program ran, all under the path's own interface slot ("
       << lo_slot << ", the loopback device), family and reason, bytes to match, none under "
          "any other verdict; every syscall returned the path's XDP action. The benchmark stops "
          "at the first mismatch.\n"
       << "- Packets the program did not answer came out byte for byte unchanged.\n"
       << "- The session maps of every instance held exactly the sessions loaded (read back "
          "through the loader), and the hash maps of every client-pool instance were walked key "
          "by key and found empty: the client-pool rows found their sessions (and, inside the "
          "client pools, the pool prefixes' policy) in the slots.\n";
    for (const auto &line : outputs)
        md << "- " << line << ".\n";
    for (const auto &line : warm_outputs)
        md << "- " << line << ".\n";
    md << "- The repeat caveat, measured:\n";
    for (const auto &line : caveat)
        md << "  - " << line << ".\n";
    md << "- Program size: mtuguard_xdp " << mg.xlated_insns << " BPF instructions ("
       << mg.jited_bytes << " bytes JITed); xdp_pass " << pass.xlated_insns << " ("
       << pass.jited_bytes << " bytes); in `bench/icmp_warm.bpf.c`'s object, mtuguard_xdp "
       << program_size(warm.mtuguard_fd()).xlated_insns << ", restore_only "
       << program_size(warm.restore_only_fd()).xlated_insns << ", restore_then_mtuguard "
       << program_size(warm.restore_then_mtuguard_fd()).xlated_insns << ".\n\n";

    md << "## Method\n\n"
       << "Each path is a frame built in code and run through `bpf_prog_test_run_opts` "
          "(BPF_PROG_TEST_RUN) without a ctx, so the kernel presents it as received on the "
          "loopback device, ifindex " << lo_ifindex << ", which the program's interface table "
          "registers with counter slot " << lo_slot << ", MTU " << lo_mtu << " and the ICMP "
          "source addresses " << icmp_source4 << " and " << icmp_source6 << " (the *withheld* "
          "paths run a second instance whose table gives no address). Sessions have DTLS MTU "
       << session_mtu << " and ride DTLS; frames within MTU carry " << within_len
       << " bytes of IP, oversize ones " << over_len << " with DF, all UDP. The action is "
          "`icmp` with both ICMP rate limits off (rate 0 = unlimited), so no error is withheld "
          "for the rate. Each configuration has a small instance with one IPv4 and one IPv6 "
          "session, big ones with "
       << session_list << " of each family (loaded in batches, as the daemon loads a file), "
          "measured on sessions from the middle of each range, and a pooled instance with one "
          "session of each family and pool prefixes. With client pools (" << client_pool4_text
       << ", " << client_pool6_text << "): sessions from " << client_session4 << " and "
       << client_session6 << " up, the pool prefixes " << client_pool_prefix4_text << " and "
       << client_pool_prefix6_text << " inside the client pools (frames to "
       << client_pool_member4_text << " and " << client_pool_member6_text << "), the hash maps "
          "empty (checked), and the withheld instance. Hashed: sessions from " << session4
       << " and " << session6 << " up, the pool prefixes " << pool4_text << " and "
       << pool6_text << " (frames to " << pool_member4_text << " and " << pool_member6_text
       << "). The counts are read back through the loader before measuring. The paths after "
          "the session lookup (MSS, withheld, ICMP) are measured with client pools only: they "
          "run the same code whichever table found the session. The process is "
          "pinned to CPU " << cpu << ". There are "
       << rounds << ", each measuring every path; figures are medians over the rounds. The "
          "empty program is measured again right before every repeat-method measurement, and "
          "each ratio divides by the empty program's figure from the same moment, so a change "
          "in the machine's load moves both.\n\n"
       << "**The repeat caveat.** With `repeat` > 1, BPF_PROG_TEST_RUN runs a (non-live) XDP "
          "program again and again on the same buffer and never restores it. A path that "
          "rewrites the packet into an ICMP error is taken once; the other repetitions see the "
          "error it built, addressed to the sender, which is not a session (see the counters "
          "above). Timed with a large repeat, the ICMP paths would report the no-session "
          "path.\n\n"
       << "**Repeat method** (paths that leave the packet alone): one syscall with repeat = "
       << options.repeat << ", timed around the whole syscall with `clock_gettime` and divided "
          "by the repeat; the syscall's fixed cost, spread over the repeat, vanishes. The clock "
          "is the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), which leaves out the time other "
          "tasks ran while the kernel's loop yielded the CPU; CLOCK_MONOTONIC is in the "
          "cross-check. The kernel's own figure is an average in whole nanoseconds, too coarse "
          "for a program that costs a few.\n\n"
       << "**Difference method** (every path; the only one for the ICMP paths and for a "
          "destination that changes with every packet): " << options.samples << " pairs of "
          "syscalls per round, each with repeat = 1: the empty program, then the path, on the "
          "same frame, so both pay the same copy-in and set-up (no data_out is asked for). The "
          "path's extra cost is the difference of the two mean run times after the slowest "
       << fixed(slow_tail * 100, 0) << "% of each are dropped. The run time is the one the "
          "kernel measures around the program inside each syscall: whole nanoseconds, but "
          "jittering over several, so their mean over " << options.samples << " runs resolves "
          "well below one. Timing the whole syscall with CLOCK_MONOTONIC instead (cross-check) "
          "looks for a difference of a few percent of a ~2 µs syscall: it is noisier, and it "
          "need not agree, since it also counts what the path changes for the rest of the "
          "syscall and for the next one. ns/packet is the empty "
          "program's repeat figure plus this extra. Each run follows a kernel entry, which on "
          "this machine flushes the TLB (page-table isolation without PCID) and disturbs the "
          "caches; the cross-check shows what that adds to paths measurable both ways, so these "
          "figures are cold costs, above what back-to-back packets in a driver's poll loop "
          "pay. The rows with a different session every packet are the extreme of this: each "
          "lookup lands on a session (a hash bucket and element, or a client pool slot) that is "
          "neither cached nor mapped in the TLB. Every round walks the same "
       << options.samples << " sessions of a shuffled order, and one untimed pass over them "
          "comes first: on a freshly written client-pool slot array many of the program's first "
          "runs took tens of µs each (its first touch of that memory), the next pass none, a "
          "cost an agent pays once after loading its sessions, not per packet.\n\n"
       << "**Bound** (ICMP paths, warm; the earlier estimate, now shown next to the measured "
          "figure): the withheld path of the same family runs every step "
          "of the ICMP path up to the rate limit and the construction of the error, and stops "
          "there without touching the packet, so the repeat method measures it warm. What the "
          "ICMP path costs beyond it is its difference-method extra minus the withheld path's. "
          "That remainder still holds the cold misses of the code and data only the ICMP path "
          "touches (the ICMP path touches everything the withheld path does, and more), so warm "
          "it should only be smaller, and the sum bound the warm cost from above; the measured "
          "figure above shows whether it does.\n\n"
       << "**Restore** (ICMP paths, warm, measured): see *The ICMP paths warm, measured* above. "
          "The restore costs the same in both programs except for the two adjust calls (and the "
          "zeroing of the regrown tail) restore_only never needs, so the figure errs high by "
          "their cost; the lower estimate there brackets it from below.\n";

    std::cout << md.str();
    if (!options.markdown.empty()) {
        std::ofstream file(options.markdown);
        file << md.str();
        if (!file)
            fail("writing " + options.markdown);
    }
    return 0;
}

} // namespace

// "1000,100000": ascending counts, each at least 2.
bool parse_counts(const std::string &text, std::vector<uint32_t> &out)
{
    out.clear();
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            unsigned long n = std::stoul(item, &used);
            if (used != item.size() || n < 2 || n > 16'000'000 || (!out.empty() && n <= out.back()))
                return false;
            out.push_back(n);
        } catch (const std::exception &) {
            return false;
        }
    }
    return !out.empty();
}

int main(int argc, char **argv)
{
    Options options;
    std::string session_text = "1000,100000,1000000";
    po::options_description desc("mtuguard_bench: ns per packet of each mtuguard verdict path, "
                                 "against an empty XDP program (needs root)");
    desc.add_options()("help,h", "show this help")(
        "rounds", po::value(&options.rounds)->default_value(options.rounds),
        "rounds; figures are medians over them")(
        "repeat", po::value(&options.repeat)->default_value(options.repeat),
        "repeat per syscall, repeat method")(
        "samples", po::value(&options.samples)->default_value(options.samples),
        "syscall pairs per path and round, difference method")(
        "sessions", po::value(&session_text)->default_value(session_text),
        "sessions of each family in the big instances, comma-separated, ascending")(
        "cpu", po::value(&options.cpu), "CPU to pin to (default: the last one allowed)")(
        "plot-data", po::value(&options.plot_data),
        "write ns/packet against the number of sessions to this file (gnuplot data)")(
        "markdown", po::value(&options.markdown), "also write the Markdown report to this file");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << desc << "\nExample:\n  sudo mtuguard_bench --rounds 11 --markdown "
                                 "report.md\n";
            return 0;
        }
        if (options.rounds < 1 || options.repeat < 2 || options.samples < 100 ||
            !parse_counts(session_text, options.sessions))
            throw po::error("need --rounds >= 1, --repeat >= 2, --samples >= 100, "
                            "--sessions N[,N...] ascending, each >= 2");
    } catch (const po::error &e) {
        std::cerr << "mtuguard_bench: " << e.what() << "\n";
        return 2;
    }
    try {
        return run(options);
    } catch (const std::exception &e) {
        std::cerr << "mtuguard_bench: FAILED: " << e.what() << "\n";
        return 1;
    }
}
