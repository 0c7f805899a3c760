// mtuguard_bench's timing: the test runs, the two methods and their checks.
#include "measure.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "xdp_pass.skel.h"

namespace mtuguard::bench {
namespace {

double clock_ns(clockid_t clock)
{
    timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

// A verdict's name as every report gives it; a reason the ABI does not name shows as its number.
std::string reason_text(uint32_t reason)
{
    const char *name = mg_reason_name(reason);
    return name ? name : "reason " + std::to_string(reason);
}

} // namespace

void fail(const std::string &what) { throw std::runtime_error(what); }

Run test_run(int prog_fd, const std::vector<uint8_t> &frame, int repeat, std::vector<uint8_t> *out,
             CpuClock cpu_clock)
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
    return {opts.retval, opts.duration, opts.data_size_out, wall_end - wall_start, cpu_end - cpu_start};
}

XdpPass::XdpPass()
{
    skel_ = xdp_pass_bpf__open_and_load();
    if (!skel_)
        throw std::system_error(errno, std::generic_category(), "loading xdp_pass");
}

XdpPass::~XdpPass() { xdp_pass_bpf__destroy(skel_); }

int XdpPass::program_fd() const { return bpf_program__fd(skel_->progs.xdp_pass); }

Checker::Checker(const Path &path) : path_(path)
{
    if (path.datapath)
        before_ = path.datapath->counters();
}

void Checker::expect(uint64_t runs) const
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
        fail(path_.name + " (" + path_.sessions + " sessions): expected " + std::to_string(runs) + " x " +
             reason_text(path_.reason) + " (" + std::to_string(want_bytes) + " bytes), counters show " +
             std::to_string(got) + " (" + std::to_string(bytes) + " bytes) and " + std::to_string(elsewhere) +
             " under other verdicts: " + describe_delta(*path_.datapath, before_));
}

void expect_action(const Path &path, const Run &run)
{
    if (run.retval != path.action)
        fail(path.name + ": XDP action " + std::to_string(run.retval) + ", expected " +
             std::to_string(path.action));
}

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
        s << sep << reason_text(reason) << " +" << packets << " (slot " << slot << ", "
          << (family == MG_FAMILY_IPV4 ? "IPv4" : family == MG_FAMILY_IPV6 ? "IPv6" : "other") << ")";
        sep = ", ";
    }
    return *sep ? s.str() : "nothing";
}

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

double mean(const std::vector<double> &v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

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

ProgramSize program_size(int fd)
{
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len))
        throw std::system_error(errno, std::generic_category(), "reading program info");
    return {info.xlated_prog_len / 8, info.jited_prog_len};
}

int pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0) {
        if (sched_getaffinity(0, sizeof(set), &set))
            throw std::system_error(errno, std::generic_category(), "reading the CPU affinity");
        for (int c = CPU_SETSIZE - 1; c >= 0 && cpu < 0; --c)
            if (CPU_ISSET(c, &set))
                cpu = c;
        if (cpu < 0)
            fail("no CPU to run on");
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        throw std::system_error(errno, std::generic_category(), "pinning to CPU " + std::to_string(cpu));
    return cpu;
}

} // namespace mtuguard::bench
