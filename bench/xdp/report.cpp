// mtuguard_bench's report, rendered from its JSON: the results and their cross-check, the growth
// with the session table, the ICMP paths warm, the probes, the checks made and the method, as
// docs/benchmarks.md shows them. Statistics over the rounds (medians, ratios, ranges) and the
// verdicts on the targets are made here, from the figures per round.
#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace mtuguard::bench {
namespace {

using nlohmann::json;
using Series = std::vector<double>;

double median(Series v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double median_of(const json &series) { return median(series.get<Series>()); }

// a[r] / b[r], round by round.
Series ratios(const Series &a, const Series &b)
{
    Series out;
    for (size_t r = 0; r < a.size(); ++r)
        out.push_back(a[r] / b[r]);
    return out;
}

std::string range(const Series &v)
{
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return fixed(*lo) + " – " + fixed(*hi);
}

std::string session_list(const json &s)
{
    const auto sessions = s["sessions"].get<std::vector<uint32_t>>();
    std::string list;
    for (size_t k = 0; k < sessions.size(); ++k)
        list += (k ? (k + 1 == sessions.size() ? " and " : ", ") : "") + std::to_string(sessions[k]);
    return list;
}

std::string rounds_text(const json &s)
{
    const int rounds = s["rounds"].get<int>();
    return std::to_string(rounds) + (rounds == 1 ? " round" : " rounds");
}

// The results table; returns what missed its target.
std::vector<std::string> results_table(std::ostringstream &md, const json &results)
{
    const json &a = results["setup"]["addresses"];
    md << "## Results\n\n"
       << "Two configurations of the session table. *client pool*: instances with the client "
          "pools "
       << a["client_pool4"].get<std::string>() << " and " << a["client_pool6"].get<std::string>()
       << " (`--client-pool`, "
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
    for (const json &row : results["rows"]) {
        const Series ns = row["ns"].get<Series>();
        const double ratio = median(ratios(ns, row["base_ns"].get<Series>()));
        const double target = row["target_ratio"].get<double>();
        std::string met = "–";
        if (target) {
            const bool within = ratio <= target;
            if (row["judge"] == "upper_bound") {
                met = within ? "yes" : "not shown";
            } else {
                met = within ? "yes" : "**no**";
                if (!within)
                    missed.push_back(row["name"].get<std::string>() +
                                     " (sessions per family: " + row["sessions"].get<std::string>() + ")");
            }
        }
        md << "| " << row["name"].get<std::string>() << " | " << row["sessions"].get<std::string>() << " | "
           << row["method"].get<std::string>() << " | " << fixed(median(ns)) << " | " << fixed(ratio) << "× | "
           << row["target"].get<std::string>() << " | " << met << " | " << range(ns) << " |\n";
    }
    return missed;
}

void results_section(std::ostringstream &md, const json &results)
{
    const json &s = results["setup"];
    std::vector<std::string> missed = results_table(md, results);
    md << "\nMethods: *repeat* = one syscall with repeat = " << s["repeat"].get<int>()
       << "; *difference* = the empty program's repeat figure + the path's extra run time over "
          "the empty program at repeat = 1 (cold: informational; the targets are for the warm "
          "paths, a large repeat, which the ICMP paths can only take behind a restore); *restore* = the "
          "path behind a restore of the frame, minus the restore, plus the empty program, all "
          "by the repeat method (for the ICMP paths an upper bound, see *The ICMP paths warm, "
          "measured*). Figures are medians over "
       << rounds_text(s)
       << "; a ratio is the median over the rounds of the path's figure divided by the empty "
          "program's, measured just before it (repeat, restore) or at the start of the round "
          "(difference).\n\n";
    const uint32_t largest = s["sessions"].back().get<uint32_t>();
    for (const json &f : results["flat"])
        if (f["judged"].get<bool>() && f["growth"].get<double>() > 1.2)
            missed.push_back(f["name"].get<std::string>() + ": " + fixed(f["growth"].get<double>()) +
                             "× the cost at 1 session with " + std::to_string(largest) + " sessions");
    if (missed.empty()) {
        md << "Every target was met.\n\n";
    } else {
        md << "**Targets missed:** ";
        for (size_t i = 0; i < missed.size(); ++i)
            md << (i ? "; " : "") << missed[i];
        md << ".\n\n";
    }
}

void cross_check_section(std::ostringstream &md, const json &results)
{
    md << "### Cross-check: extra cost over the empty program, by both methods and both clocks\n\n"
       << "Medians over the rounds, in ns. The repeat method runs the program millions of times "
          "in a row (caches, TLB and branch predictors warm); the difference method runs it "
          "once per syscall, right after a kernel entry that flushed the TLB and disturbed the "
          "caches, so its figures include those cold misses.\n\n"
       << "| path | sessions per family | repeat, thread CPU clock | repeat, CLOCK_MONOTONIC | "
          "difference, kernel-timed | difference, CLOCK_MONOTONIC |\n"
       << "|---|---:|---:|---:|---:|---:|\n";
    for (const json &path : results["cross_check"]) {
        md << "| " << path["name"].get<std::string>() << " | " << path["sessions"].get<std::string>() << " | ";
        if (!path["repeat_cpu_ns"].is_null())
            md << fixed(median_of(path["repeat_cpu_ns"])) << " | " << fixed(median_of(path["repeat_wall_ns"]))
               << " | ";
        else
            md << "n/a | n/a | ";
        md << fixed(median_of(path["difference_kernel_ns"])) << " | "
           << fixed(median_of(path["difference_wall_ns"])) << " |\n";
    }
    const json &empty = results["empty"];
    md << "\nThe empty program itself, repeat method: " << fixed(median_of(empty["repeat_cpu_ns"]))
       << " ns by the thread CPU clock, " << fixed(median_of(empty["repeat_wall_ns"]))
       << " ns by CLOCK_MONOTONIC, " << fixed(median_of(empty["repeat_kernel_ns"]), 0)
       << " ns as the kernel reports it (whole ns, rounded down).\n\n";
}

void flat_section(std::ostringstream &md, const json &results)
{
    const json &sessions = results["setup"]["sessions"];
    md << "### Flat to a million sessions\n\n"
       << "ns per packet (medians over the rounds) of the same path with the session table at "
          "each size, and the cost at the largest size divided by the cost at one session "
          "(median over the rounds of the two ratios to the empty program, so the machine's "
          "load cancels out). Target: at most 1.2×, judged on the client-pool rows; the hashed "
          "rows are informational, as in the results. The cold rows are the extreme case, not a "
          "target: every packet a different session, one syscall each, so its entry is neither "
          "in the cache nor in the TLB.\n\n| path | 1";
    for (const json &n : sessions)
        md << " | " << n.get<uint32_t>();
    md << " | largest ÷ 1 | target | met |\n|---|---:";
    for (size_t k = 0; k < sessions.size(); ++k)
        md << "|---:";
    md << "|---:|---|---|\n";
    for (const json &f : results["flat"]) {
        const bool judged = f["judged"].get<bool>();
        const double growth = f["growth"].get<double>();
        md << "| " << f["name"].get<std::string>();
        for (const json &v : f["ns"])
            md << " | " << fixed(v.get<double>());
        md << " | " << fixed(growth) << "× | " << (judged ? "≤ 1.2×" : "–") << " | "
           << (judged ? (growth <= 1.2 ? "yes" : "**no**") : "–") << " |\n";
    }
    md << "\n";
}

void pools_section(std::ostringstream &md, const json &results)
{
    md << "### Sixteen client pools\n\n"
          "The same session in the last of 16 client pools per family (15 /24s or /120s below the "
          "pool of the sessions) and in a single pool: ns per packet and the ratio of the two "
          "(median over the rounds of the ratios to the empty program). The pool is read from a "
          "bucket index, one load however many pools there are.\n\n"
          "| path | single pool (ns) | 16th of 16 (ns) | ratio | target | met |\n|---|---:|---:|---:|---|---|\n";
    for (const json &row : results["pools"]) {
        const double ratio = row["ratio"].get<double>();
        md << "| " << row["name"].get<std::string>() << " | " << fixed(row["reference_ns"].get<double>()) << " | "
           << fixed(row["ns"].get<double>()) << " | " << fixed(ratio) << "× | ≤ 1.1× | "
           << (ratio <= 1.1 ? "yes" : "**no**") << " |\n";
    }
    md << "\n";
}

// The median of a probe's figures, by its program's name.
double probe_median(const json &results, const std::string &program)
{
    for (const json &probe : results["probes"])
        if (probe["program"] == program)
            return median_of(probe["ns"]);
    throw std::runtime_error("no probe " + program);
}

// The ICMP paths warm: one table row each, and what the bound method said of the same cost.
std::vector<std::string> warm_table(std::ostringstream &md, const json &results)
{
    const json &s = results["setup"];
    md << "### The ICMP paths warm, measured\n\n"
       << "`bench/icmp_warm.bpf.c` includes `bpf/mtuguard.bpf.c` whole and defines three more "
          "XDP programs in the same object: `restore_only`, which turns the buffer back into the "
          "original oversize frame (when it is not the original length: `bpf_xdp_adjust_head` "
          "by the bytes the error pushed and `bpf_xdp_adjust_tail` back to the original length, "
          "which zeroes the regrown bytes; then the first "
       << s["warm_head_len"].get<int>()
       << " bytes written "
          "back from a global) and returns XDP_PASS; `restore_then_mtuguard`, the same restore "
          "followed by `mtuguard_xdp()` inlined; and `shrink_then_restore`, which gives the "
          "frame the error's shape without its content (the head grown and the tail cut, as the "
          "ICMP path does, nothing written) and then restores it. With the restore every "
          "repetition of one syscall takes the ICMP path, so all run by the repeat method "
          "(repeat = "
       << s["repeat"].get<int>()
       << ", thread CPU clock), the empty program right "
          "before them on the same frame. Medians over "
       << rounds_text(s) << ", in ns per packet:\n\n"
       << "| path | empty program | restore_only | shrink_then_restore | restore_then_mtuguard "
          "| **ICMP path, warm, at most** = restore_then_mtuguard − (restore_only + "
          "shrink_then_restore) / 2 + empty | × empty program | range over rounds | pessimistic "
          "= restore_then_mtuguard − restore_only + empty | × empty program | lower estimate = "
          "restore_then_mtuguard − shrink_then_restore + empty | × empty program | bound method "
          "|\n"
       << "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n";
    std::vector<std::string> bound_notes;
    for (const json &w : results["warm"]) {
        const Series base = w["empty_ns"].get<Series>(), restore = w["restore_only_ns"].get<Series>(),
                     shrink = w["shrink_then_restore_ns"].get<Series>(),
                     icmp = w["restore_then_mtuguard_ns"].get<Series>();
        Series at_most_ns, upper_ns, lower_ns;
        for (size_t r = 0; r < base.size(); ++r) {
            at_most_ns.push_back(icmp[r] - (restore[r] + shrink[r]) / 2 + base[r]);
            upper_ns.push_back(icmp[r] - restore[r] + base[r]);
            lower_ns.push_back(icmp[r] - shrink[r] + base[r]);
        }
        const double bound = median_of(w["bound_ns"]);
        const std::string name = w["name"].get<std::string>();
        md << "| " << name << " | " << fixed(median(base)) << " | " << fixed(median(restore)) << " | "
           << fixed(median(shrink)) << " | " << fixed(median(icmp)) << " | **" << fixed(median(at_most_ns))
           << "** | " << fixed(median(ratios(at_most_ns, base))) << "× | " << range(at_most_ns) << " | "
           << fixed(median(upper_ns)) << " | " << fixed(median(ratios(upper_ns, base))) << "× | "
           << fixed(median(lower_ns)) << " | " << fixed(median(ratios(lower_ns, base))) << "× | " << fixed(bound)
           << " |\n";
        const char *where = bound < median(lower_ns)   ? "below even the lower estimate"
                            : bound < median(upper_ns) ? "between the lower and the pessimistic estimate"
                                                       : "above every estimate";
        bound_notes.push_back(name + ": " + fixed(bound) + " ns, " + where);
    }
    return bound_notes;
}

void warm_section(std::ostringstream &md, const json &results)
{
    const std::vector<std::string> bound_notes = warm_table(md, results);
    // Each probe makes two calls; the restore makes one of each.
    const double adjust_ns = (probe_median(results, "probe_head") + probe_median(results, "probe_tail")) / 2;
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

}

void probes_section(std::ostringstream &md, const json &results)
{
    const double base_ns = median_of(results["empty"]["repeat_cpu_ns"]);
    md << "### Where the time goes\n\n"
       << "Each building block as a probe program of its own (`bench/probes.bpf.c`) that does "
          "only that and leaves the packet alone, priced by the repeat method: its cost over "
          "the empty program, median over the rounds, warm.\n\n"
       << "| block | extra ns | × empty program | stands for |\n"
       << "|---|---:|---:|---|\n";
    for (const json &probe : results["probes"]) {
        const double ns = median_of(probe["ns"]);
        md << "| " << probe["block"].get<std::string>() << " | " << fixed(ns) << " | " << fixed(ns / base_ns)
           << "× | " << probe["stands_for"].get<std::string>() << " |\n";
    }
    const json &scale = results["scale"];
    auto extra = [&](const char *path) { return fixed(median_of(scale[path])); };
    md << "\nFor scale: the whole within-MTU IPv4 path costs " << extra("within4_client_pool")
       << " ns over the empty program in the client pool and " << extra("within4_hashed")
       << " ns hashed, the no-session path " << extra("no_session_empty_slot")
       << " ns on an empty slot "
          "of the client pool and "
       << extra("no_session_hashed")
       << " ns hashed, the withheld "
          "IPv4 path (everything of the ICMP path before the rate limit) "
       << extra("withheld4") << " ns.\n\n";
}

void checks_section(std::ostringstream &md, const json &results)
{
    const json &checks = results["checks"], &sizes = results["program_sizes"];
    auto insns = [](const json &size) { return size["xlated_insns"].get<uint32_t>(); };
    auto jited = [](const json &size) { return size["jited_bytes"].get<uint32_t>(); };
    md << "### Checks made in this run\n\n"
       << "- Every measurement was followed by a read of `mg_counters` (summed over CPUs): "
          "exactly as many packets as the program ran, all under the path's own interface slot ("
       << results["setup"]["lo_slot"].get<int>()
       << ", the loopback device), family and reason, bytes to match, none under "
          "any other verdict; every syscall returned the path's XDP action. The benchmark stops "
          "at the first mismatch.\n"
       << "- Packets the program did not answer came out byte for byte unchanged.\n"
       << "- The session maps of every instance held exactly the sessions loaded (read back "
          "through the loader), and the hash maps of every client-pool instance were walked key "
          "by key and found empty: the client-pool rows found their sessions (and, inside the "
          "client pools, the pool prefixes' policy) in the slots.\n";
    for (const json &line : checks["outputs"])
        md << "- " << line.get<std::string>() << ".\n";
    for (const json &line : checks["warm_outputs"])
        md << "- " << line.get<std::string>() << ".\n";
    md << "- The repeat caveat, measured:\n";
    for (const json &line : checks["caveat"])
        md << "  - " << line.get<std::string>() << ".\n";
    const json &warm = sizes["icmp_warm"];
    md << "- Program size: mtuguard_xdp " << insns(sizes["mtuguard_xdp"]) << " BPF instructions ("
       << jited(sizes["mtuguard_xdp"]) << " bytes JITed); xdp_pass " << insns(sizes["xdp_pass"]) << " ("
       << jited(sizes["xdp_pass"]) << " bytes); in `bench/icmp_warm.bpf.c`'s object, mtuguard_xdp "
       << insns(warm["mtuguard_xdp"]) << ", restore_only " << insns(warm["restore_only"])
       << ", restore_then_mtuguard " << insns(warm["restore_then_mtuguard"]) << ".\n\n";
}

void method_section(std::ostringstream &md, const json &results)
{
    const json &s = results["setup"], &a = s["addresses"];
    md << "## Method\n\n"
       << "Each path is a frame built in code and run through `bpf_prog_test_run_opts` "
          "(BPF_PROG_TEST_RUN) without a ctx, so the kernel presents it as received on the "
          "loopback device, ifindex " << s["lo_ifindex"].get<int>() << ", which the program's interface table "
          "registers with counter slot " << s["lo_slot"].get<int>() << ", MTU " << s["lo_mtu"].get<int>() << " and the ICMP "
          "source addresses " << a["icmp_source4"].get<std::string>() << " and " << a["icmp_source6"].get<std::string>() << " (the *withheld* "
          "paths run a second instance whose table gives no address). Sessions have DTLS MTU "
       << s["session_mtu"].get<int>() << " and ride DTLS; frames within MTU carry " << s["within_len"].get<int>()
       << " bytes of IP, oversize ones " << s["over_len"].get<int>() << " with DF, all UDP. The action is "
          "`icmp` with both ICMP rate limits off (rate 0 = unlimited), so no error is withheld "
          "for the rate. Each configuration has a small instance with one IPv4 and one IPv6 "
          "session, big ones with "
       << session_list(s) << " of each family (loaded in batches, as the daemon loads a file), "
          "measured on sessions from the middle of each range, and a pooled instance with one "
          "session of each family and pool prefixes. With client pools (" << a["client_pool4"].get<std::string>()
       << ", " << a["client_pool6"].get<std::string>() << "): sessions from " << a["client_session4"].get<std::string>() << " and "
       << a["client_session6"].get<std::string>() << " up, the pool prefixes " << a["client_pool_prefix4"].get<std::string>() << " and "
       << a["client_pool_prefix6"].get<std::string>() << " inside the client pools (frames to "
       << a["client_pool_member4"].get<std::string>() << " and " << a["client_pool_member6"].get<std::string>() << "), the hash maps "
          "empty (checked), and the withheld instance. Hashed: sessions from " << a["session4"].get<std::string>()
       << " and " << a["session6"].get<std::string>() << " up, the pool prefixes " << a["pool4"].get<std::string>() << " and "
       << a["pool6"].get<std::string>() << " (frames to " << a["pool_member4"].get<std::string>() << " and " << a["pool_member6"].get<std::string>()
       << "). The counts are read back through the loader before measuring. The paths after "
          "the session lookup (MSS, withheld, ICMP) are measured with client pools only: they "
          "run the same code whichever table found the session. The process is "
          "pinned to CPU " << s["cpu"].get<int>() << ". There are "
       << rounds_text(s) << ", each measuring every path; figures are medians over the rounds. The "
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
       << s["repeat"].get<int>() << ", timed around the whole syscall with `clock_gettime` and divided "
          "by the repeat; the syscall's fixed cost, spread over the repeat, vanishes. The clock "
          "is the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), which leaves out the time other "
          "tasks ran while the kernel's loop yielded the CPU; CLOCK_MONOTONIC is in the "
          "cross-check. The kernel's own figure is an average in whole nanoseconds, too coarse "
          "for a program that costs a few.\n\n"
       << "**Difference method** (every path; the only one for the ICMP paths and for a "
          "destination that changes with every packet): " << s["samples"].get<size_t>() << " pairs of "
          "syscalls per round, each with repeat = 1: the empty program, then the path, on the "
          "same frame, so both pay the same copy-in and set-up (no data_out is asked for). The "
          "path's extra cost is the difference of the two mean run times after the slowest "
       << fixed(s["slow_tail"].get<double>() * 100, 0) << "% of each are dropped. The run time is the one the "
          "kernel measures around the program inside each syscall: whole nanoseconds, but "
          "jittering over several, so their mean over " << s["samples"].get<size_t>() << " runs resolves "
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
       << s["samples"].get<size_t>() << " sessions of a shuffled order, and one untimed pass over them "
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

}

} // namespace

std::string fixed(double v, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string render_markdown(const json &results)
{
    std::ostringstream md;
    results_section(md, results);
    cross_check_section(md, results);
    flat_section(md, results);
    pools_section(md, results);
    warm_section(md, results);
    probes_section(md, results);
    checks_section(md, results);
    method_section(md, results);
    return md.str();
}

} // namespace mtuguard::bench
