#include "exporter/collector.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>

#include "common/session_spec.hpp"
#include "exporter/process_metrics.hpp"

namespace mtuguard {

ReasonLabel reason_label(int reason)
{
    const char *name = mg_reason_name(uint32_t(reason));
    if (!name)
        return {ReasonKind::Passed, "unknown"};
    const ReasonKind kind = static_cast<ReasonKind>(mg_reason_kind(uint32_t(reason)));
    // The suppressed family's labels say what was suppressed: its name less the family's word.
    constexpr std::string_view suppressed = "suppressed_";
    if (kind == ReasonKind::Suppressed && std::string_view(name).substr(0, suppressed.size()) == suppressed)
        name += suppressed.size();
    return {kind, name};
}

const char *observed_kind_name(int kind)
{
    switch (static_cast<mg_observed>(kind)) {
    case MG_OBSERVED_TLS_SYNS: return "tls_syn";
    case MG_OBSERVED_TLS_PACKETS: return "tls";
    case MG_OBSERVED_DTLS_IN: return "dtls_from_client";
    case MG_OBSERVED_DTLS_OUT: return "dtls_to_client";
    case MG_OBSERVED_DTLS_HELLOS: return "dtls_client_hello";
    case MG_OBSERVED_OTHER_UDP: return "other_udp";
    case MG_OBSERVED_COUNT: break;
    }
    return "unknown";
}

SourceEventLabel source_event_label(SourceEvent event)
{
    constexpr const char *occtl = "mtuguard_occtl_runs_total", *occtl_help = "Runs of occtl (--ocserv), by result.";
    constexpr const char *syslog = "mtuguard_syslog_messages_total",
                         *syslog_help = "Syslog messages received (--syslog-listen), by what became of them.";
    constexpr const char *headend = "mtuguard_headend_oversize_reports_total",
                         *headend_help = "Oversize packets the ASA reported in its syslog, by kind.";
    switch (event) {
    case SourceEvent::OcctlOk: return {occtl, occtl_help, "result", "ok"};
    case SourceEvent::OcctlFailed: return {occtl, occtl_help, "result", "failed"};
    case SourceEvent::OcctlTimeout: return {occtl, occtl_help, "result", "timeout"};
    case SourceEvent::OcctlRejectedUser:
        return {"mtuguard_occtl_rejected_users_total", "Entries of occtl's user list that could not be used.", "", ""};
    case SourceEvent::SyslogApplied: return {syslog, syslog_help, "result", "applied"};
    case SourceEvent::SyslogIgnored: return {syslog, syslog_help, "result", "ignored"};
    case SourceEvent::SyslogNotAsa: return {syslog, syslog_help, "result", "not_asa"};
    case SourceEvent::SyslogMalformed: return {syslog, syslog_help, "result", "malformed"};
    case SourceEvent::SyslogOversize: return {syslog, syslog_help, "result", "oversize"};
    case SourceEvent::SyslogUnknownSession: return {syslog, syslog_help, "result", "unknown_session"};
    case SourceEvent::SyslogNoMtu: return {syslog, syslog_help, "result", "no_group_mtu"};
    case SourceEvent::SyslogOverLimit: return {syslog, syslog_help, "result", "over_limit"};
    case SourceEvent::HeadendOversizeOut: return {headend, headend_help, "kind", "to_client"};
    case SourceEvent::HeadendOversizeIn: return {headend, headend_help, "kind", "from_client"};
    case SourceEvent::HeadendPmtud: return {headend, headend_help, "kind", "frag_needed_sent"};
    case SourceEvent::Count: break;
    }
    return {"", "", "", ""};
}

namespace {

// At most one line a minute: a scrape every second must not flood the journal.
void report_scrape_error(const char *what)
{
    static std::atomic<int64_t> last{0};
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
    int64_t previous = last.load();
    if (now - previous >= 60 && last.compare_exchange_strong(previous, now))
        std::fprintf(stderr, "mtuguardd: warning: metrics scrape could not read the BPF maps: %s\n", what);
}

// Series that cannot exist are not exported: a non-IP packet has no MTU decision, only IPv4 has
// DF to clear or lets the tunnel fragment, only IPv6 has a minimum MTU to pass below.
bool can_exist(int family, int reason)
{
    if (family == MG_FAMILY_OTHER)
        return reason == MG_REASON_NOT_IP;
    switch (reason) {
    case MG_REASON_NOT_IP: return false;
    case MG_REASON_FRAGMENTED:
    case MG_REASON_DF_CLEARED:
    case MG_REASON_SUPPRESSED_FRAGMENT:
    case MG_REASON_SUPPRESSED_MULTICAST: return family == MG_FAMILY_IPV4;
    case MG_REASON_IPV6_BELOW_MIN:
    case MG_REASON_SUPPRESSED_UNPARSED: return family == MG_FAMILY_IPV6;
    default: return true;
    }
}

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(const char *name, const char *help, MetricType type)
{
    return MetricFamily{name, help, type, {}};
}

ClientMetric &add(MetricFamily &f, std::vector<ClientMetric::Label> labels, double value)
{
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter)
        m.counter.value = value;
    else
        m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return f.metric.back();
}

// A family of one series per transport, labelled `label`.
void add_per_transport(std::vector<MetricFamily> &out, const char *name, const char *help, MetricType type,
                       const char *label, const std::array<uint64_t, MG_TRANSPORT_COUNT> &values)
{
    out.push_back(family(name, help, type));
    for (const mg_transport transport : {MG_TRANSPORT_DTLS, MG_TRANSPORT_TLS})
        add(out.back(), {{label, transport_name(transport)}}, values[transport]);
}

// A counter family of one series per result, labelled `result`, every result from the first scrape.
template <size_t N>
void add_by_result(std::vector<MetricFamily> &out, const char *name, const char *help,
                   const std::array<const char *, N> &results, const std::array<uint64_t, N> &counts)
{
    out.push_back(family(name, help, MetricType::Counter));
    for (size_t i = 0; i < N; ++i)
        add(out.back(), {{"result", results[i]}}, double(counts[i]));
}

// A family of one series without labels.
void add_single(std::vector<MetricFamily> &out, const char *name, const char *help, MetricType type, double value)
{
    out.push_back(family(name, help, type));
    add(out.back(), {}, value);
}

} // namespace

void Collector::stop()
{
    std::unique_lock lock(stopping_);
    stopped_ = true;
}

std::vector<MetricFamily> Collector::Collect() const
{
    std::shared_lock lock(stopping_);
    return stopped_ ? std::vector<MetricFamily>{} : collect();
}

std::vector<MetricFamily> Collector::collect() const
{
    std::vector<MetricFamily> out;
    auto info = family("mtuguard_build_info", "Version of the running agent (always 1).", MetricType::Gauge);
    add(info, {{"version", MTUGUARD_VERSION}}, 1);
    out.push_back(std::move(info));

    collect_interfaces(out);

    const SessionCounts sessions = agent_.sessions();
    add_per_transport(out, "mtuguard_sessions", "Exact sessions, by the transport they ride now.", MetricType::Gauge,
                      "transport", sessions.by_transport);
    add_single(out, "mtuguard_sessions_mtu_mismatch",
               "Exact sessions whose client applies a larger MTU than the gateway enforces now.", MetricType::Gauge,
               sessions.mtu_mismatch);
    add_single(out, "mtuguard_session_map_entries", "Exact sessions, in the session map or a client pool's slots (all count against --max-sessions).", MetricType::Gauge,
               sessions.map_entries);
    add_single(out, "mtuguard_session_map_capacity", "Capacity of the session map (--max-sessions).",
               MetricType::Gauge, sessions.map_capacity);
    add_single(out, "mtuguard_pool_entries", "Pool prefixes giving defaults to address pools.", MetricType::Gauge,
               sessions.pools);
    auto addresses = family("mtuguard_client_pool_addresses",
                            "Addresses of each client pool (--client-pool), each with its slot.", MetricType::Gauge);
    auto in_pool = family("mtuguard_client_pool_sessions", "Exact sessions in each client pool's slots.",
                          MetricType::Gauge);
    for (const ClientPoolUse &pool : agent_.client_pools()) {
        add(addresses, {{"pool", pool.prefix}}, double(pool.addresses));
        add(in_pool, {{"pool", pool.prefix}}, double(pool.sessions));
    }
    out.push_back(std::move(addresses));
    out.push_back(std::move(in_pool));

    add_by_result(out, "mtuguard_control_requests_total", "Control socket requests, by result.", control_result_names,
                  agent_.control_requests());
    add_by_result(out, "mtuguard_reloads_total", "Reloads of the configuration (SIGHUP), by result.",
                  reload_result_names, agent_.reloads());

    add_single(out, "mtuguard_scrape_errors_total", "Scrapes that could not read the BPF maps.", MetricType::Counter,
               scrape_errors_.load(std::memory_order_relaxed));
    collect_process(out);
    try {
        collect_tracking(out);
    } catch (const std::exception &e) {
        scrape_errors_.fetch_add(1, std::memory_order_relaxed);
        report_scrape_error(e.what());
    }
    return out;
}

// The per-interface families. Read whole or left out of this scrape: the series go stale and
// mtuguard_scrape_errors_total says why, rather than half of them showing.
void Collector::collect_interfaces(std::vector<MetricFamily> &out) const
{
    try {
        const auto interfaces = agent_.interfaces();
        const auto counters = agent_.counters();
        const auto sizes = agent_.oversize_sizes();
        const auto mss = agent_.mss_counters();
        const auto unheeded = agent_.unheeded();

        // The per-interface families, each with every series of every interface.
        enum { Attached, Reattached, Packets, Bytes, Passed, Oversize, Suppressed, Histogram, Mss, Unheeded, TxErrors, Count };
        static const struct {
            const char *name, *help;
            MetricType type;
        } specs[Count] = {
            {"mtuguard_program_attached",
             "1 while the program is attached to the interface: mode native or generic for the XDP enforcement "
             "program, tc for the MSS clamp (tc ingress and egress).",
             MetricType::Gauge},
            {"mtuguard_interface_reattach_total",
             "Times the program was attached again to an interface of this name after it was deleted and re-created.",
             MetricType::Counter},
            {"mtuguard_packets_total", "Packets seen by the enforcement program.", MetricType::Counter},
            {"mtuguard_bytes_total", "Bytes (whole frames) seen by the enforcement program.", MetricType::Counter},
            {"mtuguard_passed_packets_total", "Packets passed without an MTU decision against them, by reason.",
             MetricType::Counter},
            {"mtuguard_oversize_packets_total", "Packets over their session's MTU, by what happened to them (exclusive).",
             MetricType::Counter},
            {"mtuguard_icmp_suppressed_total",
             "Oversize packets dropped without an ICMP error because the RFCs forbid one, by reason.", MetricType::Counter},
            {"mtuguard_oversize_packet_bytes", "IP length of packets over their session's MTU.", MetricType::Histogram},
            {"mtuguard_mss_syn_packets_total",
             "TCP SYNs and SYN-ACKs of sessions, by direction and what happened to their MSS.", MetricType::Counter},
            {"mtuguard_icmp_unheeded_packets_total",
             "Oversize packets of flows already answered with an ICMP error a second or more before: the error did "
             "not reach the sender.",
             MetricType::Counter},
            {"mtuguard_icmp_tx_errors_total",
             "ICMP errors the program sent with XDP_TX that the driver failed to send (its ethtool statistics "
             "*xdp_tx_errors); absent where the driver has none.",
             MetricType::Counter},
        };
        std::array<MetricFamily, Count> f;
        for (int i = 0; i < Count; ++i)
            f[i] = family(specs[i].name, specs[i].help, specs[i].type);
        MetricFamily &attached = f[Attached], &reattached = f[Reattached], &packets = f[Packets], &bytes = f[Bytes],
                     &passed = f[Passed], &oversize = f[Oversize], &suppressed = f[Suppressed],
                     &histogram = f[Histogram], &mss_family = f[Mss], &unheeded_family = f[Unheeded],
                     &tx_errors = f[TxErrors];

        static constexpr uint32_t bounds[] = MG_SIZE_BUCKET_BOUNDS;
        for (const auto &iface : interfaces) {
            add(attached, {{"interface", iface.name}, {"mode", iface.mode}}, iface.attached ? 1 : 0);
            add(attached, {{"interface", iface.name}, {"mode", "tc"}}, iface.mss_attached ? 1 : 0);
            add(reattached, {{"interface", iface.name}}, double(iface.reattaches));
            if (iface.icmp_tx_errors)
                add(tx_errors, {{"interface", iface.name}}, double(*iface.icmp_tx_errors));
            uint64_t iface_packets = 0, iface_bytes = 0, iface_suppressed[MG_REASON_COUNT] = {};
            for (int fam = 0; fam < MG_FAMILY_COUNT; ++fam) {
                for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
                    const mg_counter &c = counters.at(mg_counter_index(iface.slot, fam, reason));
                    iface_packets += c.packets;
                    iface_bytes += c.bytes;
                    const ReasonLabel label = reason_label(reason);
                    if (label.kind == ReasonKind::Passed && can_exist(fam, reason))
                        add(passed, {{"interface", iface.name}, {"family", mg_family_name(fam)}, {"reason", label.label}},
                            c.packets);
                    if (label.kind == ReasonKind::Suppressed)
                        iface_suppressed[reason] += c.packets;
                }
            }
            add(packets, {{"interface", iface.name}}, iface_packets);
            add(unheeded_family, {{"interface", iface.name}}, unheeded.at(iface.slot));
            for (int direction = 0; direction < MG_DIR_COUNT; ++direction)
                for (int outcome = 0; outcome < MG_MSS_OUTCOME_COUNT; ++outcome)
                    add(mss_family,
                        {{"interface", iface.name},
                         {"direction", mg_direction_name(direction)},
                         {"outcome", mg_mss_outcome_name(outcome)}},
                        mss.at(mg_mss_index(iface.slot, direction, outcome)));
            add(bytes, {{"interface", iface.name}}, iface_bytes);
            for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
                if (reason_label(reason).kind == ReasonKind::Suppressed)
                    add(suppressed, {{"interface", iface.name}, {"reason", reason_label(reason).label}},
                        iface_suppressed[reason]);
            }

            for (int fam : {MG_FAMILY_IPV4, MG_FAMILY_IPV6}) {
                // Suppressed reasons fold into one action so the actions stay exclusive.
                uint64_t suppressed_total = 0;
                for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
                    const ReasonLabel label = reason_label(reason);
                    const uint64_t n = counters.at(mg_counter_index(iface.slot, fam, reason)).packets;
                    if (label.kind == ReasonKind::Oversize && can_exist(fam, reason))
                        add(oversize, {{"interface", iface.name}, {"family", mg_family_name(fam)}, {"action", label.label}}, n);
                    else if (label.kind == ReasonKind::Suppressed)
                        suppressed_total += n;
                }
                add(oversize, {{"interface", iface.name}, {"family", mg_family_name(fam)}, {"action", "icmp_suppressed"}},
                    suppressed_total);

                const mg_size_histogram &h = sizes.at(iface.slot * MG_FAMILY_COUNT + fam);
                ClientMetric m;
                m.label = {{"interface", iface.name}, {"family", mg_family_name(fam)}};
                uint64_t cumulative = 0;
                for (int b = 0; b < MG_SIZE_BUCKETS; ++b) {
                    cumulative += h.buckets[b];
                    m.histogram.bucket.push_back(
                        {cumulative, b < MG_SIZE_BUCKETS - 1 ? double(bounds[b]) : std::numeric_limits<double>::infinity()});
                }
                m.histogram.sample_count = cumulative;
                m.histogram.sample_sum = double(h.sum);
                histogram.metric.push_back(std::move(m));
            }
        }
        for (int i = 0; i < Count; ++i)
            // Only where some driver keeps the count: an absent series says "not known", never 0.
            if (i != TxErrors || !tx_errors.metric.empty())
                out.push_back(std::move(f[i]));
    } catch (const std::exception &e) {
        // The per-interface families are left out of this scrape rather than half read; the
        // series go stale and the counter below says why (docs/metrics.md).
        scrape_errors_.fetch_add(1, std::memory_order_relaxed);
        report_scrape_error(e.what());
    }
}

void Collector::collect_tracking(std::vector<MetricFamily> &out) const
{
    const TrackingStatus tracking = agent_.tracking();
    // Every kind from the first scrape, at 0 without --outside-iface: a query or an alert on it
    // never meets "no data".
    auto observed = family("mtuguard_observed_packets_total",
                           "Packets of the VPN's channels seen on the --outside-iface interfaces, by kind.",
                           MetricType::Counter);
    for (int kind = 0; kind < MG_OBSERVED_COUNT; ++kind)
        add(observed, {{"kind", observed_kind_name(kind)}}, tracking.observed[kind]);
    out.push_back(std::move(observed));
    add_per_transport(out, "mtuguard_transport_changes_total",
                      "Sessions switched to another transport by what was observed, by the new transport.",
                      MetricType::Counter, "to", tracking.transport_changes);
    // The tracker's single-valued families, in the order they are exported.
    const struct {
        const char *name, *help;
        MetricType type;
        uint64_t value;
    } singles[] = {
        {"mtuguard_tracked_sessions", "Sessions whose client's public address is known.", MetricType::Gauge,
         tracking.tracked_sessions},
        {"mtuguard_reconnects_total",
         "Client reconnects (new TLS connections of known clients, sessions back after ending, session "
         "sources' reports).",
         MetricType::Counter, tracking.reconnects},
        {"mtuguard_client_connections_total",
         "Client connections seen starting: a session for a client without one, and every reconnect.",
         MetricType::Counter, tracking.connections},
        {"mtuguard_early_reconnects_total",
         "Reconnects at most --early-reconnect after the start of the connection they end.", MetricType::Counter,
         tracking.early_reconnects},
        {"mtuguard_sessions_in_storm",
         "Sessions whose client reconnected at least --storm-reconnects times within --storm-window.",
         MetricType::Gauge, tracking.sessions_in_storm},
        {"mtuguard_periodic_reconnect_sessions",
         "Sessions whose client reconnects at a near-constant interval (the MTU-mismatch signature).",
         MetricType::Gauge, tracking.periodic_sessions},
    };
    for (const auto &single : singles)
        add_single(out, single.name, single.help, single.type, double(single.value));

    // The session sources' counters, each family with all its label values (pre-created at 0).
    std::vector<MetricFamily> sources;
    for (size_t i = 0; i < tracking.source_events.size(); ++i) {
        const SourceEventLabel label = source_event_label(SourceEvent(i));
        auto it = std::find_if(sources.begin(), sources.end(), [&](const MetricFamily &f) { return f.name == label.family; });
        if (it == sources.end()) {
            sources.push_back(family(label.family, label.help, MetricType::Counter));
            it = sources.end() - 1;
        }
        if (*label.label_name)
            add(*it, {{label.label_name, label.label}}, tracking.source_events[i]);
        else
            add(*it, {}, tracking.source_events[i]);
    }
    for (auto &f : sources)
        out.push_back(std::move(f));
}

} // namespace mtuguard
