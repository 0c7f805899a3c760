// How mtuguard_bench times a program: BPF_PROG_TEST_RUN with a repeat (the repeat method) or
// alternating with the empty program at repeat = 1 (the difference method), every run checked
// against the verdict counters; the paths it times, and the statistics over rounds.
//
// BPF_PROG_TEST_RUN runs a non-live XDP program `repeat` times on ONE buffer and never restores
// it, so a path that rewrites the packet (the ICMP errors) is taken once and every later
// repetition sees the error it built. Hence the two methods:
//  - repeat method, for paths that leave the packet as it was: one syscall with a large repeat,
//    timed around the whole syscall with clock_gettime (the kernel's own figure is whole ns);
//  - difference method, for every path: repeat = 1, syscalls alternating between xdp_pass and
//    the path on the same frame; the difference of the mean run times is the path's cost over
//    the empty program, added to the empty program's repeat-method figure.
#pragma once

#include <time.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel/datapath.hpp"
#include "mtuguard_kern_user.h"

struct xdp_pass_bpf;

namespace mtuguard::bench {

// BPF_PROG_TEST_RUN without a ctx runs the program as if received on the loopback device.
constexpr uint32_t lo_ifindex = 1;
constexpr uint32_t lo_slot = 1;
constexpr uint32_t lo_mtu = 9000; // above every test frame: nothing is taken for a GRO aggregate

constexpr uint32_t xdp_drop_action = 1, xdp_pass_action = 2, xdp_tx_action = 3;

// Share of the slowest single runs the difference method drops: interrupts only ever add time.
constexpr double slow_tail = 0.01;

[[noreturn]] void fail(const std::string &what);

struct Run {
    uint32_t retval = 0;
    uint32_t kernel_ns = 0; // the kernel's average per repetition, whole ns
    uint32_t size_out = 0;
    double wall_ns = 0; // the whole syscall, CLOCK_MONOTONIC
    double cpu_ns = 0;  // the whole syscall, CLOCK_THREAD_CPUTIME_ID (when asked for)
};

enum class CpuClock { Skip, Read };

Run test_run(int prog_fd, const std::vector<uint8_t> &frame, int repeat, std::vector<uint8_t> *out = nullptr,
             CpuClock cpu_clock = CpuClock::Skip);

// The empty program, through its own skeleton.
class XdpPass {
public:
    XdpPass();
    ~XdpPass();
    XdpPass(const XdpPass &) = delete;
    XdpPass &operator=(const XdpPass &) = delete;
    int program_fd() const;

private:
    xdp_pass_bpf *skel_ = nullptr;
};

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
    std::vector<double> base_cpu_ns, base_wall_ns;      // the empty program, measured just before
    std::vector<double> extra_kernel_ns, extra_wall_ns; // over xdp_pass, difference method

    int program_fd(const XdpPass &baseline) const
    {
        return datapath ? datapath->program_fd() : baseline.program_fd();
    }
};

// Proves a measurement took the intended verdict, exactly as often as the program ran.
class Checker {
public:
    explicit Checker(const Path &path);
    // Exactly `runs` packets under the path's own counter (slot, family, reason), bytes to match,
    // and not one anywhere else.
    void expect(uint64_t runs) const;

private:
    const Path &path_;
    std::vector<mg_counter> before_;
};

void expect_action(const Path &path, const Run &run);

// Every counter that moved since `before`, in words.
std::string describe_delta(const Datapath &datapath, const std::vector<mg_counter> &before);

// Repeat method: one syscall, `repeat` runs on the unchanged frame; right before it, the same for
// the empty program, so the two see the same load on the machine.
void measure_repeat(Path &path, const XdpPass &baseline, int repeat);
// Difference method: `samples` pairs of syscalls, xdp_pass then the path, each with repeat = 1
// on the same frame, which the kernel copies in afresh for each.
void measure_difference(Path &path, const XdpPass &baseline, size_t samples);

double mean(const std::vector<double> &v);
// The mean without the slowest `slow_tail` share.
double trimmed_mean(std::vector<double> v);
double median(std::vector<double> v);

struct ProgramSize {
    uint32_t xlated_insns = 0;
    uint32_t jited_bytes = 0;
};
ProgramSize program_size(int fd);

// Pins the process to `cpu`, or to the last CPU it may run on when `cpu` < 0; returns the CPU.
int pin(int cpu);

} // namespace mtuguard::bench
