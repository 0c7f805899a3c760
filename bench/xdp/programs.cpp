// The probes and the ICMP paths warm, loaded and filled for mtuguard_bench.
#include "programs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "icmp_warm.h" // before the skeleton, which uses struct warm_restore
#include "bench_icmp_warm.skel.h"
#include "bench_probes.skel.h"
#include "kernel/client_pool.hpp"
#include "kernel/settings.hpp"
#include "measure.hpp"

namespace mtuguard::bench {

Probes::Probes(const std::vector<uint8_t> &frame)
{
    skel_ = bench_probes_bpf__open_and_load();
    if (!skel_)
        throw std::system_error(errno, std::generic_category(), "loading the probes");
    uint32_t ifindex = 1;
    uint8_t iface[32] = {};
    uint8_t key16[16];
    uint64_t session = 0;
    std::memcpy(key16, &frame[14 + 24], 16); // the IPv6 destination
    if (bpf_map__update_elem(skel_->maps.probe_hash4, &ifindex, sizeof(ifindex), iface, sizeof(iface), BPF_ANY) ||
        bpf_map__update_elem(skel_->maps.probe_hash16, key16, sizeof(key16), &session, sizeof(session), BPF_ANY))
        throw std::system_error(errno, std::generic_category(), "filling the probes' maps");
}

Probes::~Probes() { bench_probes_bpf__destroy(skel_); }

std::vector<Probes::Probe> Probes::all() const
{
    // A program by its name in probes.bpf.c: its descriptor, and the name to say which it was.
#define PROGRAM(name) bpf_program__fd(skel_->progs.name), #name
    return {
        {"hash lookup, 4-byte key", "an IPv4 address or an ifindex as the key", PROGRAM(probe_lookup4)},
        {"hash lookup, 16-byte key", "an IPv6 (or IPv4-mapped) address as the key",
         PROGRAM(probe_lookup16)},
        {"per-CPU array lookup and update", "the verdict counters; any array-indexed table",
         PROGRAM(probe_count)},
        {"atomic add to a shared map value", "per-session statistics", PROGRAM(probe_atomic)},
        {"`bpf_ktime_get_ns()`", "a precise clock read", PROGRAM(probe_ktime)},
        {"`bpf_ktime_get_coarse_ns()`", "a clock read at tick resolution", PROGRAM(probe_ktime_coarse)},
        {"`bpf_jiffies64()`", "the same resolution as the program reads it (inlined)",
         PROGRAM(probe_jiffies)},
        {"`bpf_csum_diff` over 20 + 556 bytes", "the checksums of a 576-byte ICMPv4 error",
         PROGRAM(probe_csum4)},
        {"`bpf_csum_diff` over 40 + 1240 bytes", "the checksum of a 1280-byte ICMPv6 error",
         PROGRAM(probe_csum6)},
        {"`bpf_xdp_adjust_head`, two calls", "growing the head for new headers (one call)",
         PROGRAM(probe_head)},
        {"`bpf_xdp_adjust_tail`, two calls", "cutting the error to size (one call)", PROGRAM(probe_tail)},
    };
#undef PROGRAM
}

IcmpWarm::IcmpWarm(const Datapath &datapath, const std::vector<Prefix> &client_pools) : datapath_(datapath)
{
    skel_ = bench_icmp_warm_bpf__open();
    if (!skel_)
        throw std::system_error(errno, std::generic_category(), "opening icmp_warm");
    // Every map of the object is one of mtuguard.bpf.c's: the instance's, by name. The globals
    // (.bss and the like) are the object's own.
    int err = 0;
    bpf_map *map;
    bpf_object__for_each_map(map, skel_->obj)
    {
        if (err || bpf_map__is_internal(map))
            continue;
        const int fd = datapath.map_fd(bpf_map__name(map));
        err = fd < 0 ? -ENOENT : bpf_map__reuse_fd(map, fd);
    }
    if (!err)
        err = bench_icmp_warm_bpf__load(skel_);
    if (err) {
        bench_icmp_warm_bpf__destroy(skel_);
        throw std::system_error(-err, std::generic_category(), "loading icmp_warm on the instance's maps");
    }
    // Not running yet: the live settings slot is written directly.
    skel_->bss->mg_settings_index = 0;
    skel_->bss->mg_settings[0] = datapath.settings();
    skel_->bss->mg_client_pools = pools_setting(client_pools);
    skel_->bss->mg_clock = program_clock();
}

IcmpWarm::~IcmpWarm() { bench_icmp_warm_bpf__destroy(skel_); }

void IcmpWarm::restore_to(const std::vector<uint8_t> &frame, int pushed, size_t error_len)
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

int IcmpWarm::restore_only_fd() const { return bpf_program__fd(skel_->progs.restore_only); }
int IcmpWarm::shrink_then_restore_fd() const { return bpf_program__fd(skel_->progs.shrink_then_restore); }
int IcmpWarm::restore_then_mtuguard_fd() const { return bpf_program__fd(skel_->progs.restore_then_mtuguard); }
int IcmpWarm::mtuguard_fd() const { return bpf_program__fd(skel_->progs.mtuguard_xdp); }
int IcmpWarm::tc_pass_fd() const { return bpf_program__fd(skel_->progs.tc_pass); }
int IcmpWarm::mss_restore_only_fd() const { return bpf_program__fd(skel_->progs.mss_restore_only); }
int IcmpWarm::mss_restore_then_clamp_fd() const { return bpf_program__fd(skel_->progs.mss_restore_then_clamp); }

} // namespace mtuguard::bench
