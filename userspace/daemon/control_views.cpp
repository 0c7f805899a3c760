#include "daemon/control_views.hpp"

#include <arpa/inet.h>
#include <time.h>

#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "exporter/collector.hpp"

namespace mtuguard {
namespace {

using nlohmann::json;

// The program's time (bpf/clock.bpf.h: CLOCK_MONOTONIC at tick resolution) as a wall-clock time
// in UTC, ISO 8601 with milliseconds ("2026-12-06T08:55:01.123Z"): what a script compares and a
// person reads, free of the reader's time zone.
json wall_time(uint64_t monotonic_ns)
{
    if (!monotonic_ns)
        return nullptr;
    timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &mono); // its resolution, the tick
    clock_gettime(CLOCK_REALTIME, &real);
    const int64_t now_mono = int64_t(mono.tv_sec) * 1'000'000'000 + mono.tv_nsec;
    const int64_t now_real = int64_t(real.tv_sec) * 1'000'000'000 + real.tv_nsec;
    const int64_t at = now_real - (now_mono - int64_t(monotonic_ns));
    const std::time_t seconds = at / 1'000'000'000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof(text) - n, ".%03dZ", int(at % 1'000'000'000 / 1'000'000));
    return text;
}

std::string address_text(const uint8_t *bytes, bool v4)
{
    char text[INET6_ADDRSTRLEN];
    inet_ntop(v4 ? AF_INET : AF_INET6, bytes, text, sizeof(text));
    return text;
}

} // namespace

json session_json(const SessionView &view)
{
    const mg_session &s = view.entry.session;
    json out = {{"address", view.entry.prefix.to_string()},
                {"kind", view.entry.prefix.is_host() ? "session" : "pool"},
                {"dtls_mtu", s.dtls_mtu},
                {"tls_mtu", s.tls_mtu},
                {"transport", transport_name(s.transport)},
                {"effective_mtu", s.transport == MG_TRANSPORT_DTLS ? s.dtls_mtu : s.tls_mtu},
                {"source", source_name(s.source)},
                {"mss_clamp", s.mss_clamp == MG_MSS_ON ? "on" : s.mss_clamp == MG_MSS_OFF ? "off" : "default"}};
    if (view.entry.prefix.is_host()) {
        SessionSpec owner{view.entry.prefix, s, std::nullopt};
        read_owner(owner, view.owner);
        auto text_or_null = [](const std::string &text) { return text.empty() ? json(nullptr) : json(text); };
        out["user"] = text_or_null(owner.user);
        out["group"] = text_or_null(owner.group);
        out["public_address"] = owner.public_address ? json(owner.public_address->to_string()) : json(nullptr);
        out["client_mtu"] = owner.client_applies();
        out["headend_mtu"] = owner.headend_mtu ? json(owner.headend_mtu) : json(nullptr);
        out["mtu_mismatch"] = enforced_mtu(s) < owner.client_applies();
    }
    if (view.stats) {
        out["oversize_packets"] = view.stats->oversize_packets;
        out["icmp_sent"] = view.stats->icmp_sent;
        out["last_oversize"] = wall_time(view.stats->last_oversize_ns);
    }
    return out;
}

json status_json(const AgentStatus &status)
{
    json interfaces = json::array();
    for (const InterfaceState &state : status.interfaces) {
        const mg_iface &entry = state.entry;
        interfaces.push_back(
            {{"name", state.info.name},
             {"direction", mg_direction_name(state.from_client ? MG_DIR_FROM_CLIENT : MG_DIR_TO_CLIENT)},
             {"ifindex", state.info.ifindex},
             {"slot", state.slot},
             {"mtu", state.info.mtu},
             {"attached", state.attached},
             {"mode", state.mode},
             {"program_id", state.program_id},
             {"mss_clamp", state.mss_clamp},
             {"present", state.present},
             {"reattaches", state.reattaches},
             {"icmp_tx_errors", state.icmp_tx_errors ? json(*state.icmp_tx_errors) : json(nullptr)},
             {"icmp_source4", entry.has_src4 ? json(address_text(entry.icmp_src4, true)) : json(nullptr)},
             {"icmp_source6", entry.has_src6 ? json(address_text(entry.icmp_src6, false)) : json(nullptr)}});
    }
    const SessionCounts &counts = status.sessions;
    json client_pools = json::array();
    for (const ClientPoolUse &pool : status.client_pools)
        client_pools.push_back({{"prefix", pool.prefix}, {"addresses", pool.addresses}, {"sessions", pool.sessions}});
    const mg_settings &s = status.settings;
    return {{"version", MTUGUARD_VERSION},
            {"pid", getpid()},
            {"uptime_seconds", status.uptime.count()},
            {"pin_path", status.pin_path},
            {"adopted", status.adopted},
            {"interfaces", interfaces},
            {"sessions",
             {{"dtls", counts.by_transport[MG_TRANSPORT_DTLS]},
              {"tls", counts.by_transport[MG_TRANSPORT_TLS]},
              {"exact", counts.map_entries},
              {"pools", counts.pools},
              {"capacity", counts.map_capacity}}},
            {"client_pools", client_pools},
            {"settings",
             {{"on_oversize", action_name(static_cast<mg_action>(s.action))},
              {"mss_clamp", s.mss_clamp != 0},
              {"icmp_rate", s.icmp_global.rate},
              {"icmp_burst", s.icmp_global.burst},
              {"icmp_rate_per_source", s.icmp_per_source.rate},
              {"icmp_burst_per_source", s.icmp_per_source.burst}}}};
}

json stats_json(const AgentView &agent)
{
    const auto all = agent.counters();
    const auto mss_all = agent.mss_counters();
    const auto unheeded_all = agent.unheeded();
    json interfaces = json::array();
    for (const auto &iface : agent.interfaces()) {
        json families = json::object();
        for (int family = 0; family < MG_FAMILY_COUNT; ++family) {
            json reasons = json::object();
            for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
                const mg_counter &c = all[mg_counter_index(iface.slot, family, reason)];
                reasons[mg_reason_name(reason)] = {{"packets", c.packets}, {"bytes", c.bytes}};
            }
            families[mg_family_name(family)] = reasons;
        }
        json mss = json::object();
        for (int direction = 0; direction < MG_DIR_COUNT; ++direction)
            for (int outcome = 0; outcome < MG_MSS_OUTCOME_COUNT; ++outcome)
                mss[mg_direction_name(direction)][mg_mss_outcome_name(outcome)] =
                    mss_all.at(mg_mss_index(iface.slot, direction, outcome));
        interfaces.push_back({{"name", iface.name},
                              {"counters", families},
                              {"mss_syn_packets", mss},
                              {"icmp_unheeded", unheeded_all.at(iface.slot)},
                              // null where the driver keeps no count of failed XDP_TX
                              {"icmp_tx_errors", iface.icmp_tx_errors ? json(*iface.icmp_tx_errors) : json(nullptr)}});
    }
    return {{"interfaces", interfaces}};
}

json tracking_json(const TrackingReport &report)
{
    const TrackingStatus &totals = report.totals;
    json observed = json::object();
    for (int i = 0; i < MG_OBSERVED_COUNT; ++i)
        observed[observed_kind_name(i)] = totals.observed[i];
    auto age = [&](uint64_t ns) -> json {
        if (!ns)
            return nullptr;
        return std::chrono::duration<double>(report.now - std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns)))
            .count();
    };
    json sessions = json::array();
    for (const TrackedClient &tracked : report.sessions) {
        const TrackedSession &t = tracked.session;
        json entry = {{"address", t.session.to_string()},
                      {"user", tracked.user.empty() ? json(nullptr) : json(tracked.user)},
                      {"public_address", t.public_address.to_string()},
                      {"source", source_name(t.source)},
                      {"observed_transport", t.observed ? json(transport_name(*t.observed)) : json(nullptr)},
                      {"reconnects", t.reconnects},
                      {"early_reconnects", t.early_reconnects},
                      {"storm", t.storm},
                      {"periodic", t.periodic},
                      {"reconnect_interval_seconds", t.typical_interval_seconds ? json(*t.typical_interval_seconds) : json(nullptr)},
                      {"recent_reconnect_intervals_seconds", t.recent_intervals_seconds}};
        if (const auto &obs = tracked.client) {
            entry["client"] = {{"tls_syns", obs->tls_syns},
                               {"tls_packets", obs->tls_packets},
                               {"dtls_in", obs->dtls_in},
                               {"dtls_out", obs->dtls_out},
                               {"dtls_client_hellos", obs->dtls_hellos},
                               {"other_udp", obs->other_udp},
                               {"other_udp_port", obs->other_udp ? json(obs->other_udp_port) : json(nullptr)},
                               {"seconds_since_tls", age(obs->last_tls_ns)},
                               {"seconds_since_dtls_in", age(obs->last_dtls_in_ns)},
                               {"seconds_since_dtls_out", age(obs->last_dtls_out_ns)}};
        }
        sessions.push_back(entry);
    }
    return {{"observing", totals.observing},
            {"transport_tracking", report.transport_tracking},
            {"dtls_idle_timeout_seconds", report.dtls_idle_timeout.count() / 1000.0},
            {"tls_port", report.tls_port},
            {"dtls_port", report.dtls_port},
            {"observed", observed},
            {"reconnects", totals.reconnects},
            {"connections", totals.connections},
            {"early_reconnects", totals.early_reconnects},
            {"early_reconnect_seconds", report.early_reconnect.count()},
            {"sessions_in_storm", totals.sessions_in_storm},
            {"periodic_reconnect_sessions", totals.periodic_sessions},
            {"sessions", sessions},
            {"total", report.total},
            {"truncated", report.total > report.sessions.size()}};
}

} // namespace mtuguard
