// mtuguard_bench's figures as JSON: every row of the results with its figure per round, the
// cross-check, the growth with the session table, the ICMP paths warm, the probes, the checks
// made and the setting of the run. report.cpp renders docs/benchmarks.md's sections from it.
#include <sstream>

#include "bench.hpp"
#include "icmp_warm.h"
#include "report.hpp"

namespace mtuguard::bench {
namespace {

using nlohmann::json;
using Series = std::vector<double>;

const char *const in_pool = ", client pool";

// The figures of a run, per round, derived from its paths.
class Figures {
public:
    explicit Figures(const Bench &bench)
        : bench_(bench), paths_(bench.paths.all), empty_(paths_[bench.paths.base]), rounds_(bench.options.rounds)
    {
    }

    template <class Figure> Series per_round(Figure figure) const
    {
        Series v;
        for (int r = 0; r < rounds_; ++r)
            v.push_back(figure(r));
        return v;
    }

    // One line of the results table: a figure per round, and the empty program to divide by.
    json row(const std::string &name, const std::string &sessions, const char *method, const Series &ns,
             const Series &base, const char *target = nullptr, double ratio = 0, bool upper_bound = false) const
    {
        return {{"name", name},
                {"sessions", sessions},
                {"method", method},
                {"ns", ns},
                {"base_ns", base},
                {"judge", upper_bound ? "upper_bound" : "measured"},
                {"target", target ? target : "–"},
                {"target_ratio", ratio}};
    }

    json repeat_row(size_t i, const char *target = nullptr, double ratio = 0) const
    {
        const Path &p = paths_[i];
        return row(p.name, p.sessions, "repeat", p.repeat_cpu_ns, p.datapath ? p.base_cpu_ns : p.repeat_cpu_ns,
                   target, ratio);
    }

    // The empty program's repeat figure plus the path's extra cost by the difference method.
    Series difference_ns(size_t i) const
    {
        return per_round([&](int r) { return empty_.repeat_cpu_ns[r] + paths_[i].extra_kernel_ns[r]; });
    }
    json difference_row(size_t i) const
    {
        return row(paths_[i].name, paths_[i].sessions, "difference", difference_ns(i), empty_.repeat_cpu_ns);
    }

    // The ICMP path warm, the earlier estimate: the withheld path (which runs all of the ICMP
    // path up to the rate limit and the error's construction) by the repeat method, plus what the
    // ICMP path costs beyond it by the difference method.
    Series bound_ns(const WarmPath &w) const
    {
        const Path &p = paths_[w.icmp], &h = paths_[w.withheld];
        return per_round([&](int r) { return h.repeat_cpu_ns[r] + p.extra_kernel_ns[r] - h.extra_kernel_ns[r]; });
    }

    // The ICMP path warm, measured: restore_then_mtuguard less the mean of restore_only and
    // shrink_then_restore, plus the empty program; an upper bound (see the report).
    json warm_row(const WarmPath &w) const
    {
        return row(paths_[w.icmp].name + ", warm", paths_[w.icmp].sessions, "restore", per_round([&](int r) {
                       return w.restore_icmp_ns[r] - (w.restore_ns[r] + w.shrink_ns[r]) / 2 + w.base_ns[r];
                   }),
                   w.base_ns, "≤ 15×", 15);
    }

    json mss_row() const
    {
        const MssWarm &m = bench_.mss;
        return row("TCP SYN within MTU, MSS clamped " + std::to_string(mss_large) + " → " +
                       std::to_string(session_mtu - 40) + " in tc (against the empty tc program), IPv4" + in_pool,
                   "1", "restore",
                   per_round([&](int r) { return m.clamp_ns[r] - m.restore_ns[r] + m.base_ns[r]; }), m.base_ns,
                   "≤ 4×", 4);
    }

    json segment_row() const
    {
        const MssWarm &m = bench_.mss;
        return row(std::string("TCP data segment (not a SYN) within MTU, tc ingress program (against the empty tc program), IPv4") +
                       in_pool,
                   "1", "repeat", m.segment_ns, m.segment_base_ns, "≤ 1.5×", 1.5);
    }

    // A path's figure over the empty program's, in one round.
    double ratio_round(size_t i, int r) const
    {
        const Path &p = paths_[i];
        return p.repeatable ? p.repeat_cpu_ns[r] / p.base_cpu_ns[r]
                            : (empty_.repeat_cpu_ns[r] + p.extra_kernel_ns[r]) / empty_.repeat_cpu_ns[r];
    }
    double ns_of(size_t i) const
    {
        return paths_[i].repeatable ? median(paths_[i].repeat_cpu_ns) : median(difference_ns(i));
    }

    // The table's size: each path at every size against itself at one session, both as ratios
    // to the empty program measured beside them, so the machine's load cancels out.
    json flat(size_t one, const ConfigPaths &config, size_t BigPaths::*member, bool judged) const
    {
        std::vector<size_t> at = {one};
        for (const BigPaths &bp : config.bigs)
            at.push_back(bp.*member);
        Series ns;
        for (size_t i : at)
            ns.push_back(ns_of(i));
        const double growth = median(per_round([&](int r) { return ratio_round(at.back(), r) / ratio_round(one, r); }));
        return {{"name", paths_[one].name}, {"ns", ns}, {"growth", growth}, {"judged", judged}};
    }

    // One path against another, both as ratios to the empty program measured beside them.
    json against(size_t path, size_t reference) const
    {
        return {{"name", paths_[path].name},
                {"ns", ns_of(path)},
                {"reference_ns", ns_of(reference)},
                {"ratio", median(per_round([&](int r) { return ratio_round(path, r) / ratio_round(reference, r); }))}};
    }

    // Cold: one syscall per packet, a different session each time (at 1 session: the same one,
    // by the same difference method).
    json cold(const std::string &suffix, const ConfigPaths &config) const
    {
        std::vector<size_t> at = {config.within4};
        for (const BigPaths &bp : config.bigs)
            at.push_back(bp.varied);
        Series ns;
        for (size_t i : at)
            ns.push_back(median(empty_.repeat_cpu_ns) + median(paths_[i].extra_kernel_ns));
        const double growth = median(per_round([&](int r) {
            return (empty_.repeat_cpu_ns[r] + paths_[at.back()].extra_kernel_ns[r]) /
                   (empty_.repeat_cpu_ns[r] + paths_[config.within4].extra_kernel_ns[r]);
        }));
        return {{"name", "session within MTU, IPv4" + suffix +
                             ", a different session every packet (cold, difference method; at 1 session the same "
                             "session)"},
                {"ns", ns},
                {"growth", growth},
                {"judged", false}};
    }

    // The path's extra cost over the empty program by the repeat method, per round.
    Series repeat_extra(size_t i, bool wall = false) const
    {
        const Path &p = paths_[i];
        return per_round([&](int r) {
            return wall ? p.repeat_wall_ns[r] - p.base_wall_ns[r] : p.repeat_cpu_ns[r] - p.base_cpu_ns[r];
        });
    }

private:
    const Bench &bench_;
    const std::vector<Path> &paths_;
    const Path &empty_;
    const int rounds_;
};

// The client-pool rows first: the recommended configuration, judged against the targets. The
// hashed rows after them, for sessions outside --client-pool: informational.
json rows(const Bench &bench, const Figures &f)
{
    const PathSet &p = bench.paths;
    json rows = {f.repeat_row(p.base), f.repeat_row(p.direct.none), f.repeat_row(p.direct_empty),
                 f.repeat_row(p.direct.within4, "≤ 2×", 2), f.repeat_row(p.direct.within6, "≤ 2×", 2),
                 f.repeat_row(p.sixteen_within4, "≤ 2.3×", 2.3), f.repeat_row(p.sixteen_within6, "≤ 2.3×", 2.3)};
    for (const BigPaths &bp : p.direct.bigs) {
        rows.push_back(f.repeat_row(bp.within4, "≤ 2×", 2));
        rows.push_back(f.repeat_row(bp.within6, "≤ 2×", 2));
    }
    for (const BigPaths &bp : p.direct.bigs)
        rows.push_back(f.difference_row(bp.varied));
    for (json row : {f.repeat_row(p.direct_pool_within4, "≤ 2×", 2), f.repeat_row(p.direct_pool_within6, "≤ 2×", 2),
                     f.repeat_row(p.syn_small4, "≤ 2×", 2), f.repeat_row(p.syn_small6, "≤ 2×", 2), f.mss_row(), f.segment_row(),
                     f.repeat_row(p.silent4), f.repeat_row(p.silent6), f.difference_row(p.icmp4),
                     f.difference_row(p.icmp6), f.warm_row(bench.warm_paths[0]), f.warm_row(bench.warm_paths[1]),
                     f.repeat_row(p.hashed.none), f.repeat_row(p.hashed.within4), f.repeat_row(p.hashed.within6)})
        rows.push_back(std::move(row));
    for (const BigPaths &bp : p.hashed.bigs) {
        rows.push_back(f.repeat_row(bp.none));
        rows.push_back(f.repeat_row(bp.within4));
        rows.push_back(f.repeat_row(bp.within6));
    }
    for (const BigPaths &bp : p.hashed.bigs)
        rows.push_back(f.difference_row(bp.varied));
    for (size_t i : {p.pool_none4, p.pool_within4, p.pool_within6})
        rows.push_back(f.repeat_row(i));
    return rows;
}

json flats(const Bench &bench, const Figures &f)
{
    const PathSet &p = bench.paths;
    const std::string hashed_name = ", hashed (outside the client pool)";
    return {f.flat(p.direct.within4, p.direct, &BigPaths::within4, true),
            f.flat(p.direct.within6, p.direct, &BigPaths::within6, true),
            f.cold(in_pool, p.direct),
            f.flat(p.hashed.none, p.hashed, &BigPaths::none, false),
            f.flat(p.hashed.within4, p.hashed, &BigPaths::within4, false),
            f.flat(p.hashed.within6, p.hashed, &BigPaths::within6, false),
            f.cold(hashed_name, p.hashed)};
}

// Every path run by mtuguard, its extra cost over the empty program by both methods and clocks.
json cross_check(const Bench &bench, const Figures &f)
{
    json out = json::array();
    for (size_t i = 0; i < bench.paths.all.size(); ++i) {
        const Path &path = bench.paths.all[i];
        if (!path.datapath)
            continue;
        out.push_back({{"name", path.name},
                       {"sessions", path.sessions},
                       {"repeat_cpu_ns", path.repeatable ? json(f.repeat_extra(i)) : json()},
                       {"repeat_wall_ns", path.repeatable ? json(f.repeat_extra(i, true)) : json()},
                       {"difference_kernel_ns", path.extra_kernel_ns},
                       {"difference_wall_ns", path.extra_wall_ns}});
    }
    return out;
}

json warm(const Bench &bench, const Figures &f)
{
    json out = json::array();
    for (const WarmPath &w : bench.warm_paths)
        out.push_back({{"name", bench.paths.all[w.icmp].name},
                       {"empty_ns", w.base_ns},
                       {"restore_only_ns", w.restore_ns},
                       {"shrink_then_restore_ns", w.shrink_ns},
                       {"restore_then_mtuguard_ns", w.restore_icmp_ns},
                       {"bound_ns", f.bound_ns(w)}});
    return out;
}

json probes(const Bench &bench)
{
    json out = json::array();
    for (size_t i = 0; i < bench.probe_list.size(); ++i)
        out.push_back({{"block", bench.probe_list[i].block},
                       {"stands_for", bench.probe_list[i].prices},
                       {"program", bench.probe_list[i].program},
                       {"ns", bench.probe_ns[i]}});
    return out;
}

json setup(const Bench &bench)
{
    const Options &o = bench.options;
    const Addresses &a = addresses;
    return {{"cpu", bench.cpu},
            {"rounds", o.rounds},
            {"repeat", o.repeat},
            {"samples", o.samples},
            {"sessions", o.sessions},
            {"slow_tail", slow_tail},
            {"lo_ifindex", lo_ifindex},
            {"lo_slot", lo_slot},
            {"lo_mtu", lo_mtu},
            {"session_mtu", session_mtu},
            {"within_len", within_len},
            {"over_len", over_len},
            {"warm_head_len", WARM_HEAD_LEN},
            {"addresses",
             {{"icmp_source4", a.icmp_source4},
              {"icmp_source6", a.icmp_source6},
              {"client_pool4", a.client_pool4},
              {"client_pool6", a.client_pool6},
              {"client_session4", a.client_session4},
              {"client_session6", a.client_session6},
              {"client_pool_prefix4", a.client_pool_prefix4},
              {"client_pool_prefix6", a.client_pool_prefix6},
              {"client_pool_member4", a.client_pool_member4},
              {"client_pool_member6", a.client_pool_member6},
              {"session4", a.session4},
              {"session6", a.session6},
              {"pool4", a.pool4},
              {"pool6", a.pool6},
              {"pool_member4", a.pool_member4},
              {"pool_member6", a.pool_member6}}}};
}

json program_sizes(const Bench &bench)
{
    auto size = [](int fd) {
        const ProgramSize s = program_size(fd);
        return json{{"xlated_insns", s.xlated_insns}, {"jited_bytes", s.jited_bytes}};
    };
    return {{"mtuguard_xdp", size(bench.instances.few->program_fd())},
            {"xdp_pass", size(bench.instances.baseline.program_fd())},
            {"icmp_warm",
             {{"mtuguard_xdp", size(bench.warm.mtuguard_fd())},
              {"restore_only", size(bench.warm.restore_only_fd())},
              {"restore_then_mtuguard", size(bench.warm.restore_then_mtuguard_fd())}}}};
}

} // namespace

json results(const Bench &bench)
{
    const Figures f(bench);
    const PathSet &p = bench.paths;
    const Path &empty = p.all[p.base];
    return {{"setup", setup(bench)},
            {"empty",
             {{"repeat_cpu_ns", empty.repeat_cpu_ns},
              {"repeat_wall_ns", empty.repeat_wall_ns},
              {"repeat_kernel_ns", empty.repeat_kernel_ns}}},
            {"rows", rows(bench, f)},
            {"cross_check", cross_check(bench, f)},
            {"flat", flats(bench, f)},
            // The session in the last of 16 client pools against the same session in a single pool.
            {"pools", {f.against(p.sixteen_within4, p.direct.within4), f.against(p.sixteen_within6, p.direct.within6)}},
            {"warm", warm(bench, f)},
            {"probes", probes(bench)},
            // The extra cost over the empty program of a few whole paths, for scale.
            {"scale",
             {{"within4_client_pool", f.repeat_extra(p.direct.within4)},
              {"within4_hashed", f.repeat_extra(p.hashed.within4)},
              {"no_session_empty_slot", f.repeat_extra(p.direct_empty)},
              {"no_session_hashed", f.repeat_extra(p.hashed.none)},
              {"withheld4", f.repeat_extra(p.silent4)}}},
            {"checks",
             {{"outputs", bench.outputs},
              {"warm_outputs", bench.warm_outputs},
              {"mss_output", bench.mss_output},
              {"caveat", bench.caveat}}},
            {"program_sizes", program_sizes(bench)}};
}

// The hashed columns first, where they always were; the client pools' after them.
std::string plot_data(const json &results)
{
    const json &flat = results["flat"];
    const json &sessions = results["setup"]["sessions"];
    const double empty = median(results["empty"]["repeat_cpu_ns"].get<Series>());
    std::ostringstream plot;
    plot << "# sessions per family, then ns/packet: empty program; hashed: no session IPv4, "
            "within MTU IPv4, within MTU IPv6, a different IPv4 session every packet (cold); "
            "client pool: within MTU IPv4, within MTU IPv6, cold\n";
    for (size_t k = 0; k < flat[0]["ns"].size(); ++k) {
        plot << (k ? sessions[k - 1].get<uint32_t>() : 1) << " " << fixed(empty);
        for (size_t column : {3, 4, 5, 6, 0, 1, 2})
            plot << " " << fixed(flat[column]["ns"][k].get<double>());
        plot << "\n";
    }
    return plot.str();
}

} // namespace mtuguard::bench
