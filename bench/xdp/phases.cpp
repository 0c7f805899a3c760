// mtuguard_bench's phases after the setup: every path checked once, the ICMP paths and the MSS
// clamp behind the restore, the repeat caveat shown, and the measured rounds.
#include <linux/pkt_cls.h>

#include <cstring>
#include <iostream>

#include "bench.hpp"
#include "packet.hpp"
#include "report.hpp"

namespace mtuguard::bench {
namespace {

using test::get16;

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
    const std::span<const uint8_t> ip = std::span(out).subspan(eth_len);
    const uint8_t *orig = &path.frame[eth_len];
    uint32_t mtu;
    if (v4) {
        const auto icmp = ip.subspan(20);
        if (get16(out, 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 1 || get16(ip, 2) != 576)
            bad("is not a 576-byte IPv4 ICMP datagram");
        if (!test::ipv4_checksum_ok(out, eth_len))
            bad("IPv4 header checksum is wrong");
        if (std::memcmp(&ip[16], orig + 12, 4))
            bad("is not addressed to the sender");
        if (icmp[0] != 3 || icmp[1] != 4)
            bad("is not ICMP destination unreachable / fragmentation needed");
        if (!test::checksum_ok(icmp.first(556)))
            bad("ICMP checksum is wrong");
        if (std::memcmp(&icmp[8], orig, 548))
            bad("does not quote the original datagram");
        mtu = get16(icmp, 6);
    } else {
        const auto icmp = ip.subspan(40);
        if (get16(out, 12) != 0x86dd || ip[0] >> 4 != 6 || ip[6] != 58 || get16(ip, 4) != 1240)
            bad("is not a 1280-byte ICMPv6 datagram");
        if (std::memcmp(&ip[24], orig + 8, 16))
            bad("is not addressed to the sender");
        if (icmp[0] != 2 || icmp[1] != 0)
            bad("is not ICMPv6 Packet Too Big");
        if (!test::checksum_ok(icmp.first(1240), test::ipv6_pseudo_sum(ip)))
            bad("ICMPv6 checksum is wrong");
        if (std::memcmp(&icmp[8], orig, 1232))
            bad("does not quote the original datagram");
        mtu = test::get32(icmp, 4);
    }
    if (mtu != session_mtu)
        bad("announces MTU " + std::to_string(mtu));
    return std::to_string(out.size()) + "-byte frame, " + (v4 ? "type 3 code 4" : "type 2 code 0") + ", MTU " +
           std::to_string(mtu) + ", checksums valid, original datagram quoted";
}

// The programs of bench/icmp_warm.bpf.c.
enum class Warm { RestoreOnly, ShrinkThenRestore, RestoreThenMtuguard };

int warm_fd(const IcmpWarm &warm, Warm program)
{
    return program == Warm::RestoreThenMtuguard ? warm.restore_then_mtuguard_fd()
           : program == Warm::RestoreOnly       ? warm.restore_only_fd()
                                                : warm.shrink_then_restore_fd();
}

// One run of a bench/icmp_warm.bpf.c program, checked: the XDP action, and exactly `repeat`
// ICMP errors under the path's counter (and the session's icmp_sent) behind mtuguard, none
// anywhere for the others.
Run warm_run(Bench &bench, const WarmPath &w, Warm program, int repeat, std::vector<uint8_t> *out, CpuClock clock)
{
    const Path &p = bench.paths.all[w.icmp];
    const Datapath &maps = bench.warm.datapath();
    const bool with_mtuguard = program == Warm::RestoreThenMtuguard;
    const std::string what = p.name + (with_mtuguard                  ? ", restore_then_mtuguard"
                                       : program == Warm::RestoreOnly ? ", restore_only"
                                                                      : ", shrink_then_restore");
    bench.warm.restore_to(p.frame, w.pushed, w.error_len);
    const auto before = maps.counters();
    const uint64_t sent_before = maps.session(w.target).value().stats.icmp_sent;
    Run run = test_run(warm_fd(bench.warm, program), p.frame, repeat, out, clock);
    const auto after = maps.counters();
    const uint32_t want = mg_counter_index(lo_slot, p.family, MG_REASON_ICMP_SENT);
    const uint64_t expected = with_mtuguard ? repeat : 0;
    uint64_t elsewhere = 0;
    for (uint32_t i = 0; i < after.size(); ++i)
        if (i != want)
            elsewhere += after[i].packets - before[i].packets;
    const uint64_t got = after[want].packets - before[want].packets;
    const uint64_t bytes = after[want].bytes - before[want].bytes;
    const uint64_t sent = maps.session(w.target).value().stats.icmp_sent - sent_before;
    if (got != expected || bytes != expected * p.frame.size() || elsewhere || sent != expected)
        fail(what + ", repeat = " + std::to_string(repeat) + ": expected " + std::to_string(expected) + " x " +
             mg_reason_name(MG_REASON_ICMP_SENT) + ", counters show " + std::to_string(got) + " (" +
             std::to_string(bytes) + " bytes), " + std::to_string(elsewhere) + " under other verdicts, " +
             std::to_string(sent) + " in the session's icmp_sent");
    const uint32_t action = with_mtuguard ? xdp_tx_action : xdp_pass_action;
    if (run.retval != action)
        fail(what + ": XDP action " + std::to_string(run.retval) + ", expected " + std::to_string(action));
    return run;
}

// The MSS clamp (tc) behind the restore: a SYN announcing more than the session fits has its MSS
// lowered and its checksum fixed on every repetition; the restore writes the original head back
// first. With the clamp, exactly `repeat` clamped MSS options to the client and nothing else
// counted (the tc programs count no verdicts); without it, nothing at all.
Run mss_run(Bench &bench, bool clamp, int repeat, std::vector<uint8_t> *out, CpuClock clock)
{
    const Datapath &maps = bench.warm.datapath();
    const std::vector<uint8_t> &syn = bench.mss.frame;
    bench.warm.restore_to(syn, 0, syn.size());
    const auto before = maps.counters();
    const auto mss_before = maps.mss_counters();
    Run run = test_run(clamp ? bench.warm.mss_restore_then_clamp_fd() : bench.warm.mss_restore_only_fd(), syn, repeat,
                       out, clock);
    const auto after = maps.counters();
    const auto mss_after = maps.mss_counters();
    const uint32_t want_mss = mg_mss_index(lo_slot, MG_DIR_TO_CLIENT, MG_MSS_CLAMPED);
    const uint64_t expected = clamp ? repeat : 0;
    uint64_t elsewhere = 0, mss_elsewhere = 0;
    for (uint32_t i = 0; i < after.size(); ++i)
        elsewhere += after[i].packets - before[i].packets;
    for (uint32_t i = 0; i < mss_after.size(); ++i)
        if (i != want_mss)
            mss_elsewhere += mss_after[i] - mss_before[i];
    const uint32_t action = clamp ? uint32_t(TC_ACT_UNSPEC) : uint32_t(TC_ACT_OK);
    if (elsewhere || mss_after[want_mss] - mss_before[want_mss] != expected || mss_elsewhere || run.retval != action)
        fail("MSS clamp (tc) behind the restore, repeat = " + std::to_string(repeat) + ": expected " +
             std::to_string(expected) + " x MSS " + mg_mss_outcome_name(MG_MSS_CLAMPED) +
             ", no verdict counted and tc action " + std::to_string(int(action)) +
             "; the counters or the action differ (action " + std::to_string(int(run.retval)) + ")");
    return run;
}

} // namespace

std::unique_ptr<Bench> make_bench(const Options &options, int cpu, Instances &in, PathSet &paths)
{
    // The ICMP paths warm: the same client pools, sessions, interface entry and settings as the
    // small client-pool instance, in an instance of their own.
    auto bench = std::unique_ptr<Bench>(new Bench{.options = options,
                                                  .cpu = cpu,
                                                  .instances = in,
                                                  .paths = paths,
                                                  .probes = Probes(paths.all[paths.icmp6].frame),
                                                  .warm = IcmpWarm(*in.warm, in.client_pools)});
    bench->probe_list = bench->probes.all();
    bench->probe_ns.resize(bench->probe_list.size());
    bench->warm_paths = {{paths.icmp4, paths.silent4, in.client_first4, 20 + 8, icmp4_frame_len},
                         {paths.icmp6, paths.silent6, in.client_first6, 40 + 8, icmp6_frame_len}};
    bench->mss.frame = syn_frame(parse_address(addresses.sender4), in.client_first4, mss_large);
    bench->mss.segment = data_frame(parse_address(addresses.sender4), in.client_first4, session_mtu - 40);
    return bench;
}

void check_paths(Bench &bench)
{
    const XdpPass &baseline = bench.instances.baseline;
    for (Path &path : bench.paths.all) {
        Checker check(path);
        std::vector<uint8_t> out;
        Run run = test_run(path.program_fd(baseline), path.frame, 1, &out);
        expect_action(path, run);
        check.expect(1);
        if (path.reason == MG_REASON_ICMP_SENT)
            bench.outputs.push_back(path.name + ": " + check_icmp_output(path, out));
        else if (out != path.frame)
            fail(path.name + ": the program changed a packet it did not answer");
    }
    const auto &frame = bench.paths.all[bench.paths.icmp6].frame;
    for (const auto &probe : bench.probe_list) {
        std::vector<uint8_t> out;
        Run run = test_run(probe.fd, frame, 1, &out);
        if (run.retval != xdp_pass_action || out != frame)
            fail(std::string("probe ") + probe.block + ": XDP action " + std::to_string(run.retval) +
                 ", or the packet changed");
    }
}

void check_warm(Bench &bench)
{
    // The restore, shown to work: restore_only leaves the frame as it was; behind it, mtuguard
    // answers every repetition (the counters, checked in warm_run) with the same error.
    for (const WarmPath &w : bench.warm_paths) {
        const Path &p = bench.paths.all[w.icmp];
        std::vector<uint8_t> out;
        warm_run(bench, w, Warm::RestoreOnly, 2, &out, CpuClock::Skip);
        if (out != p.frame)
            fail(p.name + ", restore_only: changed the frame");
        warm_run(bench, w, Warm::ShrinkThenRestore, 2, &out, CpuClock::Skip);
        if (out != p.frame)
            fail(p.name + ", shrink_then_restore: did not restore the frame");
        warm_run(bench, w, Warm::RestoreThenMtuguard, 1, &out, CpuClock::Skip);
        const std::string once = check_icmp_output(p, out);
        warm_run(bench, w, Warm::RestoreThenMtuguard, 2, &out, CpuClock::Skip);
        const std::string twice = check_icmp_output(p, out);
        if (once != twice)
            fail(p.name + ", restore_then_mtuguard: the second repetition built another error");
        bench.warm_outputs.push_back("`" + p.name + "` behind the restore: restore_only and "
                                     "shrink_then_restore at repeat = 2 left the frame byte for byte "
                                     "as it was and counted nothing; restore_then_mtuguard at repeat = "
                                     "1 and 2 counted exactly 1 and 2 ICMP errors (interface counter "
                                     "and the session's icmp_sent) and output " +
                                     twice);
    }
    const std::vector<uint8_t> &syn = bench.mss.frame;
    std::vector<uint8_t> out;
    mss_run(bench, false, 2, &out, CpuClock::Skip);
    if (out != syn)
        fail("MSS clamp, mss_restore_only: changed the frame");
    mss_run(bench, true, 2, &out, CpuClock::Skip);
    if (out.size() != syn.size() || get16(out, eth_len + 20 + 22) != session_mtu - 40 ||
        !test::tcp_checksum_ok(out, eth_len))
        fail("MSS clamp behind the restore: the MSS is not " + std::to_string(session_mtu - 40) +
             " or the TCP checksum is wrong");
    bench.mss_output = "TCP SYN with MSS " + std::to_string(mss_large) +
                       " through the tc clamp behind the restore: "
                       "mss_restore_only at repeat = 2 left it byte for byte as it was and counted "
                       "nothing; mss_restore_then_clamp at repeat = 2 counted exactly 2 clamped MSS "
                       "options and no verdict, and output MSS " +
                       std::to_string(session_mtu - 40) + " with a valid TCP checksum";
}

// On their first pass over a freshly written client-pool slot array many runs take tens of µs
// (the program's first touch of that memory), on the next none do; an agent pays that once
// after loading its sessions, so the rounds leave it out.
void warm_up_varied(Bench &bench)
{
    for (Path &path : bench.paths.all)
        if (path.vary) {
            measure_difference(path, bench.instances.baseline, bench.options.samples);
            path.extra_kernel_ns.clear();
            path.extra_wall_ns.clear();
        }
}

// The caveat, shown rather than assumed: a rewriting path with repeat = 2, and with the full
// repeat as a naive benchmark would run it.
void show_repeat_caveat(Bench &bench)
{
    const int repeat = bench.options.repeat;
    for (size_t i : {bench.paths.icmp4, bench.paths.icmp6}) {
        const Path &path = bench.paths.all[i];
        auto before = path.datapath->counters();
        std::vector<uint8_t> out;
        Run run = test_run(path.datapath->program_fd(), path.frame, 2, &out);
        bench.caveat.push_back("`" + path.name + "`, repeat = 2: counters " + describe_delta(*path.datapath, before) +
                               "; XDP action of the last run " + std::to_string(run.retval) + "; data_out " +
                               std::to_string(run.size_out) + " bytes");
        before = path.datapath->counters();
        run = test_run(path.datapath->program_fd(), path.frame, repeat, nullptr, CpuClock::Read);
        bench.caveat.push_back("`" + path.name + "`, repeat = " + std::to_string(repeat) +
                               ": the repeat method would report " + fixed(run.cpu_ns / repeat) +
                               " ns per run, but the counters show " + describe_delta(*path.datapath, before));
    }
}

namespace {

void measure_probes(Bench &bench)
{
    const int repeat = bench.options.repeat;
    const auto &frame = bench.paths.all[bench.paths.icmp6].frame;
    for (size_t i = 0; i < bench.probe_list.size(); ++i) {
        Run empty = test_run(bench.instances.baseline.program_fd(), frame, repeat, nullptr, CpuClock::Read);
        Run run = test_run(bench.probe_list[i].fd, frame, repeat, nullptr, CpuClock::Read);
        if (run.retval != xdp_pass_action || empty.retval != xdp_pass_action)
            fail(std::string("probe ") + bench.probe_list[i].block + " failed");
        bench.probe_ns[i].push_back((run.cpu_ns - empty.cpu_ns) / repeat);
    }
}

// The ICMP paths warm: the empty program, the restore alone and the restore with mtuguard
// behind it, each at the full repeat, every ICMP error counted; then the MSS clamp alike, in tc
// against the empty tc program.
void measure_warm(Bench &bench)
{
    const int repeat = bench.options.repeat;
    const int empty_fd = bench.instances.baseline.program_fd();
    for (WarmPath &w : bench.warm_paths) {
        Run empty = test_run(empty_fd, bench.paths.all[w.icmp].frame, repeat, nullptr, CpuClock::Read);
        if (empty.retval != xdp_pass_action)
            fail("xdp_pass returned " + std::to_string(empty.retval));
        Run restore = warm_run(bench, w, Warm::RestoreOnly, repeat, nullptr, CpuClock::Read);
        Run shrink = warm_run(bench, w, Warm::ShrinkThenRestore, repeat, nullptr, CpuClock::Read);
        Run icmp = warm_run(bench, w, Warm::RestoreThenMtuguard, repeat, nullptr, CpuClock::Read);
        w.base_ns.push_back(empty.cpu_ns / repeat);
        w.restore_ns.push_back(restore.cpu_ns / repeat);
        w.shrink_ns.push_back(shrink.cpu_ns / repeat);
        w.restore_icmp_ns.push_back(icmp.cpu_ns / repeat);
    }
    Run empty = test_run(bench.warm.tc_pass_fd(), bench.mss.frame, repeat, nullptr, CpuClock::Read);
    Run restore = mss_run(bench, false, repeat, nullptr, CpuClock::Read);
    Run clamp = mss_run(bench, true, repeat, nullptr, CpuClock::Read);
    bench.mss.base_ns.push_back(empty.cpu_ns / repeat);
    bench.mss.restore_ns.push_back(restore.cpu_ns / repeat);
    bench.mss.clamp_ns.push_back(clamp.cpu_ns / repeat);
    Run segment_empty = test_run(bench.warm.tc_pass_fd(), bench.mss.segment, repeat, nullptr, CpuClock::Read);
    Run segment = test_run(bench.instances.warm->mss_program_fd(true), bench.mss.segment, repeat, nullptr, CpuClock::Read);
    if (segment.retval != uint32_t(TC_ACT_UNSPEC))
        fail("the tc ingress program returned " + std::to_string(segment.retval) + " for a data segment");
    bench.mss.segment_base_ns.push_back(segment_empty.cpu_ns / repeat);
    bench.mss.segment_ns.push_back(segment.cpu_ns / repeat);
}

void log_round(const Bench &bench, int round)
{
    const auto &paths = bench.paths.all;
    std::cerr << "round " << round + 1 << "/" << bench.options.rounds << ": empty program "
              << fixed(paths[bench.paths.base].repeat_cpu_ns.back()) << " ns";
    for (const Path &path : paths)
        if (path.datapath)
            std::cerr << " | " << path.name << " (" << path.sessions
                      << "): " << (path.repeatable ? fixed(path.repeat_cpu_ns.back()) + " ns, " : "") << "+"
                      << fixed(path.extra_kernel_ns.back()) << " ns";
    for (const WarmPath &w : bench.warm_paths)
        std::cerr << " | " << paths[w.icmp].name
                  << ", warm: " << fixed(w.restore_icmp_ns.back() - w.restore_ns.back() + w.base_ns.back()) << " ns";
    std::cerr << "\n";
}

} // namespace

// Each round measures every path by each method it allows, and the empty program next to every
// measurement, so a change in the machine's load moves both.
void measure_round(Bench &bench, int round)
{
    for (Path &path : bench.paths.all)
        if (path.repeatable)
            measure_repeat(path, bench.instances.baseline, bench.options.repeat);
    for (Path &path : bench.paths.all)
        if (path.datapath)
            measure_difference(path, bench.instances.baseline, bench.options.samples);
    measure_probes(bench);
    measure_warm(bench);
    log_round(bench, round);
}

} // namespace mtuguard::bench
