#include "daemon/reload_plan.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace mtuguard {
namespace {

bool same_session(const mg_session &a, const mg_session &b)
{
    return a.dtls_mtu == b.dtls_mtu && a.tls_mtu == b.tls_mtu && a.transport == b.transport &&
           a.mss_clamp == b.mss_clamp;
}

std::string list_text(std::vector<std::string> items)
{
    std::sort(items.begin(), items.end());
    std::string out;
    for (const auto &item : items)
        out += (out.empty() ? "" : ",") + item;
    return out.empty() ? "(none)" : out;
}

std::string path_text(const std::string &path) { return path.empty() ? "''" : path; }

std::string rate_text(const RateLimit &limit, bool burst)
{
    return std::to_string(burst ? limit.burst : limit.rate);
}

std::string source_text(const std::optional<Prefix> &source)
{
    return source ? source->to_string() : "(the interface's address)";
}

} // namespace

std::string ReloadReport::describe() const
{
    std::string out = std::to_string(sessions_added) + " session(s) added, " + std::to_string(sessions_changed) +
                      " changed, " + std::to_string(sessions_removed) + " removed";
    for (const auto &change : applied)
        out += "; " + change;
    if (!restart_needed.empty()) {
        out += "; needs a restart, kept as running:";
        for (const auto &option : restart_needed)
            out += " " + option;
    }
    return out;
}

namespace {

// The static sessions, checked against the running maps (see plan_reload).
void plan_sessions(ReloadPlan &plan, const Config &running, const Config &next, const RunningMaps &maps)
{
    std::map<std::string, const SessionSpec *> before, after;
    for (const auto &spec : running.sessions)
        before[spec.prefix.to_string()] = &spec;
    for (const auto &spec : next.sessions)
        after[spec.prefix.to_string()] = &spec;
    std::map<std::string, SessionEntry> in_maps;
    for (const auto &entry : maps.sessions)
        in_maps[entry.prefix.to_string()] = entry;
    int64_t hosts = int64_t(maps.hosts), pools = int64_t(maps.pools);
    for (const auto &[key, spec] : before) {
        auto it = in_maps.find(key);
        if (!after.count(key) && it != in_maps.end() && it->second.session.source == MG_SOURCE_STATIC) {
            plan.removals.push_back(it->second);
            (spec->prefix.is_host() ? hosts : pools) -= 1;
        }
    }
    for (const auto &[key, spec] : after) {
        auto it = in_maps.find(key);
        auto previous = before.find(key);
        if (previous != before.end() && same_session(previous->second->session, spec->session) &&
            it != in_maps.end() && it->second.session.source == MG_SOURCE_STATIC)
            continue;
        plan.writes.push_back(*spec);
        if (it == in_maps.end())
            (spec->prefix.is_host() ? hosts : pools) += 1;
    }
    if (hosts > int64_t(maps.max_sessions))
        throw ConfigError("--session: " + std::to_string(hosts) + " sessions with those added through mtuguardctl, "
                          "over the running --max-sessions " + std::to_string(maps.max_sessions) +
                          " (a larger map needs a restart after `mtuguardctl detach`)");
    if (pools > int64_t(MG_MAX_POOLS))
        throw ConfigError("--session: " + std::to_string(pools) + " pool prefixes with those added through "
                          "mtuguardctl, over the limit of " + std::to_string(MG_MAX_POOLS));
}

// What only a restart can change keeps its running value.
void keep_restart_only(ReloadPlan &plan, const Config &running, const Config &next)
{
    Config &merged = plan.merged;
    auto restart_only = [&](bool differs, const std::string &option, const std::string &running_value,
                            const std::string &wanted) {
        if (!differs)
            return;
        plan.report.restart_needed.push_back(option);
        plan.warnings.push_back("reload: " + option + " " + wanted + " needs a restart; running on with " +
                                running_value);
    };
    auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    restart_only(sorted(next.ifaces) != sorted(running.ifaces), "--iface", list_text(running.ifaces),
                 list_text(next.ifaces));
    restart_only(sorted(next.client_ifaces) != sorted(running.client_ifaces), "--client-iface",
                 list_text(running.client_ifaces), list_text(next.client_ifaces));
    restart_only(next.xdp_mode != running.xdp_mode, "--xdp-mode", xdp_mode_name(running.xdp_mode),
                 xdp_mode_name(next.xdp_mode));
    restart_only(next.max_sessions != running.max_sessions, "--max-sessions", std::to_string(running.max_sessions),
                 std::to_string(next.max_sessions));
    auto pool_texts = [](const std::vector<Prefix> &pools) {
        std::vector<std::string> texts;
        for (const Prefix &p : pools)
            texts.push_back(p.to_string());
        return texts;
    };
    // The pools in another order are the same pools: the program searches them sorted.
    restart_only(sorted(pool_texts(next.client_pools)) != sorted(pool_texts(running.client_pools)), "--client-pool",
                 list_text(pool_texts(running.client_pools)), list_text(pool_texts(next.client_pools)));
    restart_only(next.pin_path != running.pin_path, "--pin-path", path_text(running.pin_path),
                 path_text(next.pin_path));
    restart_only(next.control_socket != running.control_socket, "--control-socket",
                 path_text(running.control_socket), path_text(next.control_socket));
    restart_only(next.metrics_listen != running.metrics_listen, "--metrics-listen",
                 path_text(running.metrics_listen), path_text(next.metrics_listen));
    // The observation programs and the session sources are set up once, at start.
    const auto sources = [](const Config &c) {
        return std::tie(c.outside_ifaces, c.tls_port, c.dtls_port, c.ocserv, c.occtl, c.occtl_socket,
                        c.ocserv_config, c.ocserv_interval, c.occtl_timeout, c.syslog_listen, c.asa_groups);
    };
    restart_only(sources(next) != sources(running),
                 "--outside-iface, --tls-port, --dtls-port, --ocserv*, --occtl*, --syslog-listen or "
                 "--asa-group", "the options given at start", "a change");
    std::tie(merged.outside_ifaces, merged.tls_port, merged.dtls_port, merged.ocserv, merged.occtl,
             merged.occtl_socket, merged.ocserv_config, merged.ocserv_interval, merged.occtl_timeout, merged.syslog_listen,
             merged.asa_groups) = sources(running);
    merged.ifaces = running.ifaces;
    merged.client_ifaces = running.client_ifaces;
    merged.xdp_mode = running.xdp_mode;
    merged.max_sessions = running.max_sessions;
    merged.client_pools = running.client_pools;
    merged.pin_path = running.pin_path;
    merged.control_socket = running.control_socket;
    merged.metrics_listen = running.metrics_listen;
}

// The settings the program and the tracker read: applied as they are.
void list_applied(ReloadReport &report, const Config &running, const Config &next)
{
    auto applied = [&](bool differs, const std::string &option, const std::string &was, const std::string &is) {
        if (differs)
            report.applied.push_back(option + " " + was + " -> " + is);
    };
    applied(next.on_oversize != running.on_oversize, "--on-oversize", action_name(running.on_oversize),
            action_name(next.on_oversize));
    applied(next.mss_clamp != running.mss_clamp, "--mss-clamp", running.mss_clamp ? "on" : "off",
            next.mss_clamp ? "on" : "off");
    applied(next.icmp_global.rate != running.icmp_global.rate, "--icmp-rate", rate_text(running.icmp_global, false),
            rate_text(next.icmp_global, false));
    applied(next.icmp_global.burst != running.icmp_global.burst, "--icmp-burst",
            rate_text(running.icmp_global, true), rate_text(next.icmp_global, true));
    applied(next.icmp_per_source.rate != running.icmp_per_source.rate, "--icmp-rate-per-source",
            rate_text(running.icmp_per_source, false), rate_text(next.icmp_per_source, false));
    applied(next.icmp_per_source.burst != running.icmp_per_source.burst, "--icmp-burst-per-source",
            rate_text(running.icmp_per_source, true), rate_text(next.icmp_per_source, true));
    applied(next.icmp_source4 != running.icmp_source4, "--icmp-source (IPv4)", source_text(running.icmp_source4),
            source_text(next.icmp_source4));
    applied(next.icmp_source6 != running.icmp_source6, "--icmp-source (IPv6)", source_text(running.icmp_source6),
            source_text(next.icmp_source6));
    applied(next.keep_attached != running.keep_attached, "--keep-attached", running.keep_attached ? "on" : "off",
            next.keep_attached ? "on" : "off");
    applied(next.transport_tracking != running.transport_tracking, "--transport-tracking",
            running.transport_tracking ? "on" : "off", next.transport_tracking ? "on" : "off");
    applied(next.dtls_idle_timeout != running.dtls_idle_timeout, "--dtls-idle-timeout",
            std::to_string(running.dtls_idle_timeout.count()) + " ms", std::to_string(next.dtls_idle_timeout.count()) + " ms");
    applied(next.storm_reconnects != running.storm_reconnects || next.storm_window != running.storm_window,
            "--storm-reconnects/--storm-window",
            std::to_string(running.storm_reconnects) + " in " + std::to_string(running.storm_window.count()) + " s",
            std::to_string(next.storm_reconnects) + " in " + std::to_string(next.storm_window.count()) + " s");
    applied(next.early_reconnect != running.early_reconnect, "--early-reconnect",
            std::to_string(running.early_reconnect.count()) + " s", std::to_string(next.early_reconnect.count()) + " s");
}

} // namespace

ReloadPlan plan_reload(const Config &running, const Config &next, const RunningMaps &maps)
{
    ReloadPlan plan;
    plan.merged = next;
    plan_sessions(plan, running, next, maps);
    keep_restart_only(plan, running, next);
    list_applied(plan.report, running, next);
    return plan;
}

} // namespace mtuguard
