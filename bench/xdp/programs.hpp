// The programs mtuguard_bench runs beside mtuguard's own: the building-block probes
// (bench/probes.bpf.c) and the ICMP paths warm (bench/icmp_warm.bpf.c).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/datapath.hpp"

struct bench_probes_bpf;
struct bench_icmp_warm_bpf;

namespace mtuguard::bench {

// The building-block probes, their maps filled so every probe takes its XDP_PASS path on
// `frame` (the oversize IPv6 frame).
class Probes {
public:
    explicit Probes(const std::vector<uint8_t> &frame);
    ~Probes();
    Probes(const Probes &) = delete;
    Probes &operator=(const Probes &) = delete;

    struct Probe {
        const char *block;
        const char *prices; // what in a data path the block stands for
        int fd;
        const char *program;
    };
    std::vector<Probe> all() const;

private:
    bench_probes_bpf *skel_ = nullptr;
};

// The ICMP paths warm: mtuguard's own program, compiled into an object of its own behind a
// restore that turns the buffer back into the original frame before every repetition. The
// object's maps are those of `datapath`, reused by their descriptors, so the loader fills them
// and reads their counters and sessions back as for any instance; its globals (the settings,
// the client pools, the clock) are its own and copied here from what `datapath` was given.
class IcmpWarm {
public:
    IcmpWarm(const Datapath &datapath, const std::vector<Prefix> &client_pools);
    ~IcmpWarm();
    IcmpWarm(const IcmpWarm &) = delete;
    IcmpWarm &operator=(const IcmpWarm &) = delete;

    // What the restore puts back: `frame`, which an ICMP error grows by `pushed` bytes at the head
    // and turns into a frame of `error_len` bytes.
    void restore_to(const std::vector<uint8_t> &frame, int pushed, size_t error_len);
    int restore_only_fd() const;
    int shrink_then_restore_fd() const;
    int restore_then_mtuguard_fd() const;
    int mtuguard_fd() const;
    // The MSS clamp's tc counterparts: the empty tc program, the restore, the restore + clamp.
    int tc_pass_fd() const;
    int mss_restore_only_fd() const;
    int mss_restore_then_clamp_fd() const;
    const Datapath &datapath() const { return datapath_; }

private:
    const Datapath &datapath_;
    bench_icmp_warm_bpf *skel_ = nullptr;
};

} // namespace mtuguard::bench
