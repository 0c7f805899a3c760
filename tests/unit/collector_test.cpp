// Unit tests of the Prometheus collector (userspace/exporter/collector.cpp) over a fake AgentView: the
// exact series, label sets and values each counter slot turns into, the invariants docs/metrics.md
// promises operators, and `promtool check metrics` on the serialised text. No root, no kernel.
#include <gtest/gtest.h>

#include <ctime>

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <prometheus/text_serializer.h>

#include "exporter/collector.hpp"

namespace mtuguard {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::map<std::string, std::string>;

// The agent as the collector sees it: plain tables the test fills in, and a switch that makes the
// map reads fail the way a vanished BPF map would.
class FakeAgent : public AgentView {
public:
    std::vector<mg_counter> counter_table = std::vector<mg_counter>(MG_COUNTER_ENTRIES);
    std::vector<mg_size_histogram> size_table = std::vector<mg_size_histogram>(MG_HISTOGRAM_ENTRIES);
    std::vector<uint64_t> mss_table = std::vector<uint64_t>(MG_MSS_ENTRIES);
    std::vector<InterfaceStatus> iface_table;
    SessionCounts session_counts;
    std::array<uint64_t, size_t(ControlResult::Count)> request_counts{};
    bool fail_counters = false;
    bool fail_sizes = false;

    std::vector<mg_counter> counters() const override
    {
        if (fail_counters)
            throw std::runtime_error("bpf_map_lookup_elem(counters): No such file or directory");
        return counter_table;
    }
    std::vector<mg_size_histogram> oversize_sizes() const override
    {
        if (fail_sizes)
            throw std::runtime_error("bpf_map_lookup_elem(sizes): No such file or directory");
        return size_table;
    }
    std::vector<uint64_t> mss_counters() const override { return mss_table; }
    std::vector<InterfaceStatus> interfaces() const override { return iface_table; }
    SessionCounts sessions() const override { return session_counts; }
    std::vector<ClientPoolUse> pool_table;
    std::vector<ClientPoolUse> client_pools() const override { return pool_table; }
    std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const override { return request_counts; }
    std::array<uint64_t, size_t(ReloadResult::Count)> reload_counts{};
    std::array<uint64_t, size_t(ReloadResult::Count)> reloads() const override { return reload_counts; }
    std::vector<uint64_t> unheeded_table = std::vector<uint64_t>(MG_MAX_IFACES);
    std::vector<uint64_t> unheeded() const override { return unheeded_table; }
    TrackingStatus tracking_status;
    TrackingStatus tracking() const override { return tracking_status; }

    mg_counter &at(uint32_t slot, uint32_t family, uint32_t reason)
    {
        return counter_table[mg_counter_index(slot, family, reason)];
    }
    mg_size_histogram &sizes(uint32_t slot, uint32_t family) { return size_table[slot * MG_FAMILY_COUNT + family]; }
};

// Two interfaces in slots that are neither 0 nor adjacent, so a mix-up of slots shows.
FakeAgent two_interfaces();
FakeAgent two_interfaces()
{
    FakeAgent agent;
    agent.iface_table = {{"eth1", 1, "native", true, true}, {"vlan42", 5, "generic", true, true}};
    return agent;
}

const MetricFamily *find_family(const std::vector<MetricFamily> &families, const std::string &name)
{
    for (const auto &f : families)
        if (f.name == name)
            return &f;
    return nullptr;
}

Labels labels_of(const ClientMetric &m)
{
    Labels out;
    for (const auto &l : m.label)
        out[l.name] = l.value;
    return out;
}

// The one series of `name` with exactly these labels; fails the test when there is not exactly one.
const ClientMetric &series(const std::vector<MetricFamily> &families, const std::string &name, const Labels &labels)
{
    static const ClientMetric none;
    const MetricFamily *f = find_family(families, name);
    if (!f) {
        ADD_FAILURE() << "no family " << name;
        return none;
    }
    const ClientMetric *found = nullptr;
    int matches = 0;
    for (const auto &m : f->metric) {
        if (labels_of(m) == labels) {
            found = &m;
            ++matches;
        }
    }
    if (matches != 1) {
        std::string text;
        for (const auto &[k, v] : labels)
            text += k + "=" + v + " ";
        ADD_FAILURE() << name << "{" << text << "}: " << matches << " series, expected 1";
        return none;
    }
    return *found;
}

double value(const std::vector<MetricFamily> &families, const std::string &name, const Labels &labels)
{
    const MetricFamily *f = find_family(families, name);
    const ClientMetric &m = series(families, name, labels);
    return f && f->type == MetricType::Counter ? m.counter.value : m.gauge.value;
}

std::set<Labels> label_sets(const std::vector<MetricFamily> &families, const std::string &name)
{
    std::set<Labels> out;
    const MetricFamily *f = find_family(families, name);
    if (f)
        for (const auto &m : f->metric)
            out.insert(labels_of(m));
    return out;
}

double sum_where(const std::vector<MetricFamily> &families, const std::string &name, const std::string &label,
                 const std::string &label_value)
{
    double total = 0;
    const MetricFamily *f = find_family(families, name);
    if (f)
        for (const auto &m : f->metric)
            if (labels_of(m)[label] == label_value)
                total += f->type == MetricType::Counter ? m.counter.value : m.gauge.value;
    return total;
}

// The series a healthy agent exports for one interface, written out by hand from issue 4 and
// docs/metrics.md rather than derived from the collector's own tables.
const std::vector<std::pair<std::string, std::string>> passed_series = {
    {"other", "not_ip"},     {"ipv4", "malformed"}, {"ipv4", "no_session"}, {"ipv4", "within_mtu"},
    {"ipv4", "from_client"}, {"ipv6", "from_client"},
    {"ipv4", "aggregated"},  {"ipv6", "malformed"}, {"ipv6", "no_session"}, {"ipv6", "within_mtu"},
    {"ipv6", "aggregated"},
};
const std::vector<std::pair<std::string, std::string>> oversize_series = {
    {"ipv4", "fragmented"},       {"ipv4", "monitored"},       {"ipv4", "df_cleared"},
    {"ipv4", "dropped"},          {"ipv4", "icmp_ratelimited"}, {"ipv4", "icmp_failed"},
    {"ipv4", "icmp_sent"},        {"ipv4", "icmp_suppressed"},  {"ipv6", "ipv6_below_min"},
    {"ipv6", "monitored"},        {"ipv6", "dropped"},          {"ipv6", "icmp_ratelimited"},
    {"ipv6", "icmp_failed"},      {"ipv6", "icmp_sent"},        {"ipv6", "icmp_suppressed"},
};
const std::vector<std::string> suppressed_reasons = {"icmp_error", "fragment",   "multicast",
                                                     "bad_source", "no_address", "unparsed"};
// The results come from agent_view.hpp (the control socket grows them); these must be among them.
const std::vector<std::string> control_results(control_result_names.begin(), control_result_names.end());
const std::set<std::string> core_control_results = {"ok", "bad_request", "unknown_command", "too_large", "map_full",
                                                    "failed"};

int family_index(const std::string &name)
{
    return name == "ipv4" ? MG_FAMILY_IPV4 : name == "ipv6" ? MG_FAMILY_IPV6 : MG_FAMILY_OTHER;
}

// Every (family, reason) pair the BPF program can count, by the same hand-written lists.
std::vector<std::pair<int, int>> possible_counters()
{
    std::vector<std::pair<int, int>> out;
    for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
        const std::string label = reason_label(reason).label;
        for (const auto &[fam, r] : passed_series)
            if (r == label)
                out.emplace_back(family_index(fam), reason);
        for (const auto &[fam, a] : oversize_series)
            if (a == label)
                out.emplace_back(family_index(fam), reason);
        // RFC 1812's fragment and broadcast rules are IPv4's; only IPv6 has a header chain to lose.
        if (reason_label(reason).kind == ReasonKind::Suppressed) {
            if (reason != MG_REASON_SUPPRESSED_UNPARSED)
                out.emplace_back(MG_FAMILY_IPV4, reason);
            if (reason != MG_REASON_SUPPRESSED_FRAGMENT && reason != MG_REASON_SUPPRESSED_MULTICAST)
                out.emplace_back(MG_FAMILY_IPV6, reason);
        }
    }
    return out;
}

TEST(Collector, IdleAgentExportsEverySeriesAtZero)
{
    FakeAgent agent = two_interfaces();
    const auto families = Collector(agent).Collect();

    for (const std::string iface : {"eth1", "vlan42"}) {
        EXPECT_EQ(value(families, "mtuguard_packets_total", {{"interface", iface}}), 0);
        EXPECT_EQ(value(families, "mtuguard_bytes_total", {{"interface", iface}}), 0);
        for (const auto &[fam, reason] : passed_series)
            EXPECT_EQ(value(families, "mtuguard_passed_packets_total",
                            {{"interface", iface}, {"family", fam}, {"reason", reason}}),
                      0);
        for (const auto &[fam, action] : oversize_series)
            EXPECT_EQ(value(families, "mtuguard_oversize_packets_total",
                            {{"interface", iface}, {"family", fam}, {"action", action}}),
                      0);
        for (const auto &reason : suppressed_reasons)
            EXPECT_EQ(value(families, "mtuguard_icmp_suppressed_total", {{"interface", iface}, {"reason", reason}}), 0);
        for (const std::string fam : {"ipv4", "ipv6"}) {
            const ClientMetric &h =
                series(families, "mtuguard_oversize_packet_bytes", {{"interface", iface}, {"family", fam}});
            EXPECT_EQ(h.histogram.sample_count, 0u);
            EXPECT_EQ(h.histogram.sample_sum, 0);
            EXPECT_EQ(h.histogram.bucket.size(), size_t(MG_SIZE_BUCKETS));
        }
    }
    // Nothing more than the series listed: a series that cannot exist is not exported either.
    EXPECT_EQ(find_family(families, "mtuguard_passed_packets_total")->metric.size(), 2 * passed_series.size());
    EXPECT_EQ(find_family(families, "mtuguard_oversize_packets_total")->metric.size(), 2 * oversize_series.size());
    EXPECT_EQ(find_family(families, "mtuguard_icmp_suppressed_total")->metric.size(), 2 * suppressed_reasons.size());
    EXPECT_EQ(find_family(families, "mtuguard_oversize_packet_bytes")->metric.size(), 4u);
    EXPECT_EQ(label_sets(families, "mtuguard_program_attached"),
              (std::set<Labels>{{{"interface", "eth1"}, {"mode", "native"}},
                                {{"interface", "eth1"}, {"mode", "tc"}},
                                {{"interface", "vlan42"}, {"mode", "generic"}},
                                {{"interface", "vlan42"}, {"mode", "tc"}}}));

    EXPECT_EQ(value(families, "mtuguard_sessions", {{"transport", "dtls"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_sessions", {{"transport", "tls"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_session_map_entries", {}), 0);
    EXPECT_EQ(value(families, "mtuguard_session_map_capacity", {}), 0);
    for (const auto &result : core_control_results)
        EXPECT_NE(std::find(control_results.begin(), control_results.end(), result), control_results.end()) << result;
    for (const auto &result : control_results)
        EXPECT_EQ(value(families, "mtuguard_control_requests_total", {{"result", result}}), 0);
    EXPECT_EQ(find_family(families, "mtuguard_control_requests_total")->metric.size(), control_results.size());
    EXPECT_EQ(value(families, "mtuguard_reloads_total", {{"result", "applied"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_reloads_total", {{"result", "refused"}}), 0);
    EXPECT_EQ(find_family(families, "mtuguard_reloads_total")->metric.size(), 2u);
    EXPECT_EQ(value(families, "mtuguard_scrape_errors_total", {}), 0);
    EXPECT_EQ(value(families, "mtuguard_build_info", {{"version", MTUGUARD_VERSION}}), 1);
}

// The families of issue 4 with their types; any family added later must at least be documented.
TEST(Collector, FamilyTypesAndNames)
{
    FakeAgent agent = two_interfaces();
    const auto families = Collector(agent).Collect();
    const std::map<std::string, MetricType> expected = {
        {"mtuguard_build_info", MetricType::Gauge},
        {"mtuguard_program_attached", MetricType::Gauge},
        {"mtuguard_interface_reattach_total", MetricType::Counter},
        {"mtuguard_packets_total", MetricType::Counter},
        {"mtuguard_bytes_total", MetricType::Counter},
        {"mtuguard_passed_packets_total", MetricType::Counter},
        {"mtuguard_oversize_packets_total", MetricType::Counter},
        {"mtuguard_icmp_suppressed_total", MetricType::Counter},
        {"mtuguard_oversize_packet_bytes", MetricType::Histogram},
        {"mtuguard_sessions", MetricType::Gauge},
        {"mtuguard_session_map_entries", MetricType::Gauge},
        {"mtuguard_session_map_capacity", MetricType::Gauge},
        {"mtuguard_control_requests_total", MetricType::Counter},
        {"mtuguard_reloads_total", MetricType::Counter},
        {"mtuguard_scrape_errors_total", MetricType::Counter},
        {"mtuguard_transport_changes_total", MetricType::Counter},
        {"mtuguard_icmp_unheeded_packets_total", MetricType::Counter},
        {"mtuguard_tracked_sessions", MetricType::Gauge},
        {"mtuguard_reconnects_total", MetricType::Counter},
        {"mtuguard_client_connections_total", MetricType::Counter},
        {"mtuguard_early_reconnects_total", MetricType::Counter},
        {"mtuguard_sessions_in_storm", MetricType::Gauge},
        {"mtuguard_periodic_reconnect_sessions", MetricType::Gauge},
        {"mtuguard_occtl_runs_total", MetricType::Counter},
        {"mtuguard_occtl_rejected_users_total", MetricType::Counter},
        {"mtuguard_syslog_messages_total", MetricType::Counter},
        {"mtuguard_headend_oversize_reports_total", MetricType::Counter},
        {"process_cpu_seconds_total", MetricType::Counter},
        {"process_start_time_seconds", MetricType::Gauge},
        {"process_resident_memory_bytes", MetricType::Gauge},
        {"process_virtual_memory_bytes", MetricType::Gauge},
        {"process_open_fds", MetricType::Gauge},
        {"process_max_fds", MetricType::Gauge},
    };
    std::map<std::string, MetricType> seen;
    for (const auto &f : families) {
        EXPECT_TRUE(seen.emplace(f.name, f.type).second) << "family emitted twice: " << f.name;
        EXPECT_FALSE(f.help.empty()) << f.name;
        // Ours, and the process families under the names every exporter gives them.
        EXPECT_TRUE(f.name.rfind("mtuguard_", 0) == 0 || f.name.rfind("process_", 0) == 0) << f.name;
        EXPECT_EQ(f.type == MetricType::Counter, f.name.size() > 6 && f.name.substr(f.name.size() - 6) == "_total")
            << f.name << ": counters and only counters end in _total";
    }
    for (const auto &[name, type] : expected) {
        ASSERT_TRUE(seen.count(name)) << "missing family " << name;
        EXPECT_EQ(seen[name], type) << name;
    }

    std::ifstream doc(MTUGUARD_METRICS_DOC);
    ASSERT_TRUE(doc) << "cannot read " << MTUGUARD_METRICS_DOC;
    const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
    for (const auto &[name, type] : seen)
        EXPECT_NE(text.find("`" + name + "`"), std::string::npos) << name << " is not documented in docs/metrics.md";
}

// Each counter slot, given a value of its own, shows up under exactly the family and labels it
// belongs to, and nowhere else.
TEST(Collector, EachCounterLandsUnderItsOwnLabels)
{
    for (const auto &[fam, reason] : possible_counters()) {
        FakeAgent agent = two_interfaces();
        agent.at(5, fam, reason) = {7, 7 * 1500};
        const auto families = Collector(agent).Collect();
        const ReasonLabel label = reason_label(reason);
        const std::string fam_name = fam == MG_FAMILY_IPV4 ? "ipv4" : fam == MG_FAMILY_IPV6 ? "ipv6" : "other";
        SCOPED_TRACE("family " + fam_name + " reason " + label.label);

        EXPECT_EQ(value(families, "mtuguard_packets_total", {{"interface", "vlan42"}}), 7);
        EXPECT_EQ(value(families, "mtuguard_bytes_total", {{"interface", "vlan42"}}), 7 * 1500);
        EXPECT_EQ(value(families, "mtuguard_packets_total", {{"interface", "eth1"}}), 0);

        double passed_total = 0, oversize_total = 0, suppressed_total = 0;
        for (const char *name :
             {"mtuguard_passed_packets_total", "mtuguard_oversize_packets_total", "mtuguard_icmp_suppressed_total"}) {
            for (const auto &m : find_family(families, name)->metric) {
                if (m.counter.value == 0)
                    continue;
                const Labels l = labels_of(m);
                EXPECT_EQ(l.at("interface"), "vlan42");
                const std::string n = name;
                if (n == "mtuguard_passed_packets_total") {
                    passed_total += m.counter.value;
                    EXPECT_EQ(l, (Labels{{"interface", "vlan42"}, {"family", fam_name}, {"reason", label.label}}));
                } else if (n == "mtuguard_oversize_packets_total") {
                    oversize_total += m.counter.value;
                    const std::string action = label.kind == ReasonKind::Suppressed ? "icmp_suppressed" : label.label;
                    EXPECT_EQ(l, (Labels{{"interface", "vlan42"}, {"family", fam_name}, {"action", action}}));
                } else {
                    suppressed_total += m.counter.value;
                    EXPECT_EQ(l, (Labels{{"interface", "vlan42"}, {"reason", label.label}}));
                }
            }
        }
        EXPECT_EQ(passed_total, label.kind == ReasonKind::Passed ? 7 : 0);
        EXPECT_EQ(oversize_total, label.kind == ReasonKind::Passed ? 0 : 7);
        EXPECT_EQ(suppressed_total, label.kind == ReasonKind::Suppressed ? 7 : 0);
    }
}

TEST(Collector, NamedSlotsCarryTheirValues)
{
    FakeAgent agent = two_interfaces();
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_WITHIN_MTU) = {1000, 1000 * 1042};
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_ICMP_SENT) = {10, 10 * 1432};
    agent.at(1, MG_FAMILY_IPV6, MG_REASON_ICMP_RATELIMITED) = {3, 3 * 1514};
    agent.at(5, MG_FAMILY_IPV4, MG_REASON_FRAGMENTED) = {4, 4 * 1432};
    agent.at(5, MG_FAMILY_OTHER, MG_REASON_NOT_IP) = {2, 2 * 60};
    const auto f = Collector(agent).Collect();

    EXPECT_EQ(value(f, "mtuguard_passed_packets_total", {{"interface", "eth1"}, {"family", "ipv4"}, {"reason", "within_mtu"}}),
              1000);
    EXPECT_EQ(value(f, "mtuguard_oversize_packets_total", {{"interface", "eth1"}, {"family", "ipv4"}, {"action", "icmp_sent"}}),
              10);
    EXPECT_EQ(value(f, "mtuguard_oversize_packets_total",
                    {{"interface", "eth1"}, {"family", "ipv6"}, {"action", "icmp_ratelimited"}}),
              3);
    EXPECT_EQ(value(f, "mtuguard_oversize_packets_total",
                    {{"interface", "vlan42"}, {"family", "ipv4"}, {"action", "fragmented"}}),
              4);
    EXPECT_EQ(value(f, "mtuguard_passed_packets_total", {{"interface", "vlan42"}, {"family", "other"}, {"reason", "not_ip"}}),
              2);
    EXPECT_EQ(value(f, "mtuguard_packets_total", {{"interface", "eth1"}}), 1013);
    EXPECT_EQ(value(f, "mtuguard_bytes_total", {{"interface", "eth1"}}), 1000 * 1042 + 10 * 1432 + 3 * 1514);
    EXPECT_EQ(value(f, "mtuguard_packets_total", {{"interface", "vlan42"}}), 6);
    EXPECT_EQ(value(f, "mtuguard_bytes_total", {{"interface", "vlan42"}}), 4 * 1432 + 2 * 60);
}

// Each client pool is a series of its own: its addresses and the sessions in its slots.
TEST(Collector, ClientPoolsCarryTheirSizeAndUse)
{
    FakeAgent agent = two_interfaces();
    agent.pool_table = {{"10.8.0.0/16", 65536, 1200}, {"10.9.0.0/24", 256, 3}, {"2001:db8::/112", 65536, 0}};
    const auto f = Collector(agent).Collect();
    EXPECT_EQ(value(f, "mtuguard_client_pool_addresses", {{"pool", "10.8.0.0/16"}}), 65536);
    EXPECT_EQ(value(f, "mtuguard_client_pool_sessions", {{"pool", "10.8.0.0/16"}}), 1200);
    EXPECT_EQ(value(f, "mtuguard_client_pool_addresses", {{"pool", "10.9.0.0/24"}}), 256);
    EXPECT_EQ(value(f, "mtuguard_client_pool_sessions", {{"pool", "10.9.0.0/24"}}), 3);
    EXPECT_EQ(value(f, "mtuguard_client_pool_sessions", {{"pool", "2001:db8::/112"}}), 0);
    EXPECT_EQ(find_family(f, "mtuguard_client_pool_sessions")->metric.size(), 3u);
}

// Slot 0 is where the program counts packets of an interface the daemon did not configure; it
// belongs to no exported interface.
TEST(Collector, UnknownInterfaceSlotIsNotAttributedToAnInterface)
{
    FakeAgent agent = two_interfaces();
    for (const auto &[fam, reason] : possible_counters())
        agent.at(0, fam, reason) = {9, 900};
    agent.sizes(0, MG_FAMILY_IPV4).buckets[3] = 9;
    const auto f = Collector(agent).Collect();
    for (const char *name : {"mtuguard_packets_total", "mtuguard_bytes_total", "mtuguard_passed_packets_total",
                             "mtuguard_oversize_packets_total", "mtuguard_icmp_suppressed_total"})
        for (const auto &m : find_family(f, name)->metric)
            EXPECT_EQ(m.counter.value, 0) << name;
    for (const auto &m : find_family(f, "mtuguard_oversize_packet_bytes")->metric)
        EXPECT_EQ(m.histogram.sample_count, 0u);
}

TEST(Collector, SuppressedReasonsFoldIntoOneExclusiveAction)
{
    FakeAgent agent = two_interfaces();
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_SUPPRESSED_ICMP_ERROR).packets = 1;
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_SUPPRESSED_FRAGMENT).packets = 2;
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_SUPPRESSED_MULTICAST).packets = 4;
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_SUPPRESSED_BAD_SOURCE).packets = 8;
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_SUPPRESSED_NO_ADDRESS).packets = 16;
    agent.at(1, MG_FAMILY_IPV6, MG_REASON_SUPPRESSED_ICMP_ERROR).packets = 32;
    agent.at(1, MG_FAMILY_IPV6, MG_REASON_SUPPRESSED_BAD_SOURCE).packets = 64;
    agent.at(1, MG_FAMILY_IPV6, MG_REASON_SUPPRESSED_UNPARSED).packets = 128;
    agent.at(1, MG_FAMILY_IPV6, MG_REASON_SUPPRESSED_NO_ADDRESS).packets = 256;
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_ICMP_SENT).packets = 1000;
    const auto f = Collector(agent).Collect();
    const Labels eth1 = {{"interface", "eth1"}};

    EXPECT_EQ(value(f, "mtuguard_oversize_packets_total",
                    {{"interface", "eth1"}, {"family", "ipv4"}, {"action", "icmp_suppressed"}}),
              1 + 2 + 4 + 8 + 16);
    EXPECT_EQ(value(f, "mtuguard_oversize_packets_total",
                    {{"interface", "eth1"}, {"family", "ipv6"}, {"action", "icmp_suppressed"}}),
              32 + 64 + 128 + 256);
    // The reasons, summed over families.
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "icmp_error"}}), 1 + 32);
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "fragment"}}), 2);
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "multicast"}}), 4);
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "bad_source"}}), 8 + 64);
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "no_address"}}), 16 + 256);
    EXPECT_EQ(value(f, "mtuguard_icmp_suppressed_total", {{"interface", "eth1"}, {"reason", "unparsed"}}), 128);
    // Exclusive: the reasons add up to the action, and the oversize actions to the oversize packets.
    EXPECT_EQ(sum_where(f, "mtuguard_icmp_suppressed_total", "interface", "eth1"),
              sum_where(f, "mtuguard_oversize_packets_total", "action", "icmp_suppressed"));
    EXPECT_EQ(sum_where(f, "mtuguard_oversize_packets_total", "interface", "eth1"), 511 + 1000);
    EXPECT_EQ(value(f, "mtuguard_packets_total", eth1), 511 + 1000);
}

// What docs/metrics.md promises: packets = passed + oversize (actions are exclusive), per interface.
TEST(Collector, PacketsAreExactlyPassedPlusOversize)
{
    FakeAgent agent = two_interfaces();
    uint64_t n = 1, expected_bytes = 0;
    for (const auto &[fam, reason] : possible_counters()) {
        agent.at(5, fam, reason) = {n, n * 100};
        expected_bytes += n * 100;
        n = n * 3 % 10007 + 1;
    }
    const auto f = Collector(agent).Collect();
    const double packets = value(f, "mtuguard_packets_total", {{"interface", "vlan42"}});
    EXPECT_GT(packets, 0);
    EXPECT_EQ(packets, sum_where(f, "mtuguard_passed_packets_total", "interface", "vlan42") +
                           sum_where(f, "mtuguard_oversize_packets_total", "interface", "vlan42"));
    EXPECT_EQ(value(f, "mtuguard_bytes_total", {{"interface", "vlan42"}}), double(expected_bytes));
}

TEST(Collector, HistogramIsCumulativeWithInfAndExactCountAndSum)
{
    FakeAgent agent = two_interfaces();
    mg_size_histogram &h = agent.sizes(5, MG_FAMILY_IPV4);
    for (int b = 0; b < MG_SIZE_BUCKETS; ++b)
        h.buckets[b] = b + 1; // 1 .. 10
    h.sum = 123456;
    agent.sizes(1, MG_FAMILY_IPV6).buckets[5] = 3; // three packets of 1401..1418 bytes on eth1
    agent.sizes(1, MG_FAMILY_IPV6).sum = 3 * 1418;
    const auto f = Collector(agent).Collect();

    const ClientMetric &m = series(f, "mtuguard_oversize_packet_bytes", {{"interface", "vlan42"}, {"family", "ipv4"}});
    const std::vector<double> bounds = {1280, 1300, 1347, 1380, 1400, 1418, 1450, 1500, 9000, INFINITY};
    ASSERT_EQ(m.histogram.bucket.size(), bounds.size());
    uint64_t cumulative = 0;
    for (size_t b = 0; b < bounds.size(); ++b) {
        cumulative += b + 1;
        EXPECT_EQ(m.histogram.bucket[b].upper_bound, bounds[b]) << "bucket " << b;
        EXPECT_EQ(m.histogram.bucket[b].cumulative_count, cumulative) << "bucket " << b;
    }
    EXPECT_TRUE(std::isinf(m.histogram.bucket.back().upper_bound));
    EXPECT_EQ(m.histogram.sample_count, 55u);
    EXPECT_EQ(m.histogram.bucket.back().cumulative_count, m.histogram.sample_count);
    EXPECT_EQ(m.histogram.sample_sum, 123456);

    const ClientMetric &v6 = series(f, "mtuguard_oversize_packet_bytes", {{"interface", "eth1"}, {"family", "ipv6"}});
    ASSERT_EQ(v6.histogram.bucket.size(), bounds.size());
    for (size_t b = 0; b < bounds.size(); ++b)
        EXPECT_EQ(v6.histogram.bucket[b].cumulative_count, b < 5 ? 0u : 3u) << "bucket " << b;
    EXPECT_EQ(v6.histogram.sample_count, 3u);
    EXPECT_EQ(v6.histogram.sample_sum, 3 * 1418);
    EXPECT_EQ(series(f, "mtuguard_oversize_packet_bytes", {{"interface", "eth1"}, {"family", "ipv4"}}).histogram.sample_count,
              0u);
}

TEST(Collector, SessionsControlAndAttachment)
{
    FakeAgent agent = two_interfaces();
    agent.iface_table[1].attached = false;
    agent.iface_table[1].mss_attached = false;
    agent.iface_table[1].mode = "none";
    agent.iface_table[1].reattaches = 3;
    agent.session_counts.by_transport[MG_TRANSPORT_DTLS] = 40;
    agent.session_counts.by_transport[MG_TRANSPORT_TLS] = 2;
    agent.session_counts.map_entries = 41;
    agent.session_counts.map_capacity = 65536;
    for (size_t i = 0; i < agent.request_counts.size(); ++i)
        agent.request_counts[i] = 10 * (i + 1);
    const auto f = Collector(agent).Collect();

    EXPECT_EQ(value(f, "mtuguard_program_attached", {{"interface", "eth1"}, {"mode", "native"}}), 1);
    EXPECT_EQ(value(f, "mtuguard_program_attached", {{"interface", "vlan42"}, {"mode", "none"}}), 0);
    // The MSS clamp's tc programs, a series of their own beside the XDP program's.
    EXPECT_EQ(value(f, "mtuguard_program_attached", {{"interface", "eth1"}, {"mode", "tc"}}), 1);
    EXPECT_EQ(value(f, "mtuguard_program_attached", {{"interface", "vlan42"}, {"mode", "tc"}}), 0);
    EXPECT_EQ(value(f, "mtuguard_interface_reattach_total", {{"interface", "eth1"}}), 0);
    EXPECT_EQ(value(f, "mtuguard_interface_reattach_total", {{"interface", "vlan42"}}), 3);
    EXPECT_EQ(value(f, "mtuguard_sessions", {{"transport", "dtls"}}), 40);
    EXPECT_EQ(value(f, "mtuguard_sessions", {{"transport", "tls"}}), 2);
    EXPECT_EQ(value(f, "mtuguard_session_map_entries", {}), 41);
    EXPECT_EQ(value(f, "mtuguard_session_map_capacity", {}), 65536);
    for (size_t i = 0; i < control_results.size(); ++i)
        EXPECT_EQ(value(f, "mtuguard_control_requests_total", {{"result", control_results[i]}}), 10.0 * (i + 1));
}

bool is_address(const std::string &text)
{
    unsigned char buf[16];
    std::string host = text;
    if (const auto slash = host.find('/'); slash != std::string::npos)
        host.resize(slash);
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Labels are bounded: a fixed set of names, and no value is ever an address (or a prefix).
TEST(Collector, NoLabelIsAnAddress)
{
    FakeAgent agent = two_interfaces();
    for (const auto &[fam, reason] : possible_counters())
        agent.at(1, fam, reason) = {1, 100};
    agent.session_counts.by_transport = {3, 4};
    agent.session_counts.map_entries = 7;
    agent.session_counts.map_capacity = 16;
    const auto f = Collector(agent).Collect();
    const std::set<std::string> allowed = {"interface", "family", "action", "reason",  "transport",
                                           "result",    "mode",   "version", "direction", "outcome",
                                           "to",        "kind"};
    size_t checked = 0;
    for (const auto &fam : f) {
        for (const auto &m : fam.metric) {
            for (const auto &l : m.label) {
                EXPECT_TRUE(allowed.count(l.name)) << fam.name << ": label " << l.name;
                EXPECT_FALSE(is_address(l.value)) << fam.name << ": " << l.name << "=" << l.value;
                EXPECT_FALSE(l.value.empty()) << fam.name << ": " << l.name;
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 100u);
    EXPECT_TRUE(is_address("10.8.0.5")); // the check itself works
    EXPECT_TRUE(is_address("2001:db8:8::5"));
    EXPECT_TRUE(is_address("10.8.0.0/16"));
}

// A failed map read keeps the agent's own series and counts the error; the next good scrape is
// whole again and the error count stays.
class CollectorMapFailure : public testing::TestWithParam<bool> {};

TEST_P(CollectorMapFailure, CountsScrapeErrors)
{
    FakeAgent agent = two_interfaces();
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_WITHIN_MTU).packets = 5;
    agent.session_counts.by_transport[MG_TRANSPORT_TLS] = 1;
    const Collector collector(agent);
    (GetParam() ? agent.fail_counters : agent.fail_sizes) = true;

    for (int scrape = 1; scrape <= 2; ++scrape) {
        const auto f = collector.Collect();
        EXPECT_EQ(value(f, "mtuguard_scrape_errors_total", {}), scrape);
        EXPECT_EQ(value(f, "mtuguard_build_info", {{"version", MTUGUARD_VERSION}}), 1);
        EXPECT_EQ(value(f, "mtuguard_sessions", {{"transport", "tls"}}), 1);
        EXPECT_EQ(find_family(f, "mtuguard_control_requests_total")->metric.size(), control_results.size());
        // No half-read interface families: either all of them or none.
        for (const char *name : {"mtuguard_program_attached", "mtuguard_interface_reattach_total",
                                 "mtuguard_packets_total", "mtuguard_bytes_total",
                                 "mtuguard_passed_packets_total", "mtuguard_oversize_packets_total",
                                 "mtuguard_icmp_suppressed_total", "mtuguard_oversize_packet_bytes"})
            EXPECT_EQ(find_family(f, name), nullptr) << name;
    }

    agent.fail_counters = agent.fail_sizes = false;
    const auto f = collector.Collect();
    EXPECT_EQ(value(f, "mtuguard_scrape_errors_total", {}), 2);
    EXPECT_EQ(value(f, "mtuguard_passed_packets_total", {{"interface", "eth1"}, {"family", "ipv4"}, {"reason", "within_mtu"}}),
              5);
    EXPECT_EQ(value(f, "mtuguard_program_attached", {{"interface", "eth1"}, {"mode", "native"}}), 1);
}

INSTANTIATE_TEST_SUITE_P(Reads, CollectorMapFailure, testing::Values(true, false),
                         [](const auto &info) { return info.param ? "Counters" : "Sizes"; });

// --- the text format, as Prometheus's own linter sees it ---------------------------------------

std::string serialise(const std::vector<MetricFamily> &families)
{
    return prometheus::TextSerializer().Serialize(families);
}

struct CommandResult {
    int status = -1;
    std::string output;
};

// Runs `promtool check metrics` with `text` on stdin; its stdout and stderr come back together.
CommandResult promtool_check_metrics(const std::string &text)
{
    char path[] = "/tmp/mtuguard-collector-test.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
        throw std::runtime_error("mkstemp failed");
    close(fd);
    std::ofstream(path) << text;
    const std::string command = std::string("'") + MTUGUARD_PROMTOOL + "' check metrics < " + path + " 2>&1";
    CommandResult result;
    if (FILE *pipe = popen(command.c_str(), "r")) {
        char buf[512];
        while (fgets(buf, sizeof buf, pipe))
            result.output += buf;
        const int status = pclose(pipe);
        result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    unlink(path);
    return result;
}

#define REQUIRE_PROMTOOL()                                                                                        \
    do {                                                                                                          \
        if (std::string(MTUGUARD_PROMTOOL).empty())                                                               \
            FAIL() << "promtool was not found when the build was configured (scripts/deps installs it)";  \
    } while (0)

FakeAgent busy_agent()
{
    FakeAgent agent = two_interfaces();
    agent.iface_table[0].icmp_tx_errors = 12; // a driver that counts failed XDP_TX; vlan42's does not
    uint64_t n = 1;
    for (uint32_t slot : {1u, 5u})
        for (const auto &[fam, reason] : possible_counters()) {
            agent.at(slot, fam, reason) = {n, n * 1400};
            n += 11;
        }
    for (uint32_t slot : {1u, 5u})
        for (int fam : {MG_FAMILY_IPV4, MG_FAMILY_IPV6}) {
            for (int b = 0; b < MG_SIZE_BUCKETS; ++b)
                agent.sizes(slot, fam).buckets[b] = b * 2;
            agent.sizes(slot, fam).sum = 90 * 1450;
        }
    agent.session_counts.by_transport = {30, 12};
    agent.session_counts.map_entries = 40;
    agent.session_counts.map_capacity = 65536;
    for (size_t i = 0; i < agent.request_counts.size(); ++i)
        agent.request_counts[i] = i % 3;
    return agent;
}

TEST(CollectorText, SerialisedLinesAreTheExpectedSeries)
{
    FakeAgent agent = two_interfaces();
    agent.at(1, MG_FAMILY_IPV4, MG_REASON_ICMP_SENT) = {10, 14320};
    agent.sizes(1, MG_FAMILY_IPV4).buckets[5] = 10;
    agent.sizes(1, MG_FAMILY_IPV4).sum = 14180;
    const std::string text = serialise(Collector(agent).Collect());
    for (const char *line : {
             "# TYPE mtuguard_oversize_packets_total counter\n",
             "mtuguard_oversize_packets_total{interface=\"eth1\",family=\"ipv4\",action=\"icmp_sent\"} 10\n",
             "# TYPE mtuguard_oversize_packet_bytes histogram\n",
             "mtuguard_oversize_packet_bytes_bucket{interface=\"eth1\",family=\"ipv4\",le=\"1400\"} 0\n",
             "mtuguard_oversize_packet_bytes_bucket{interface=\"eth1\",family=\"ipv4\",le=\"1418\"} 10\n",
             "mtuguard_oversize_packet_bytes_bucket{interface=\"eth1\",family=\"ipv4\",le=\"+Inf\"} 10\n",
             "mtuguard_oversize_packet_bytes_count{interface=\"eth1\",family=\"ipv4\"} 10\n",
             "mtuguard_oversize_packet_bytes_sum{interface=\"eth1\",family=\"ipv4\"} 14180\n",
             "mtuguard_bytes_total{interface=\"eth1\"} 14320\n",
             "mtuguard_scrape_errors_total 0\n",
         })
        EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line;
}

// Reloads by how they ended, each under its own label, and from a failed map read on too: the
// counter does not come from the maps.
TEST(Collector, ReloadsByResult)
{
    FakeAgent agent = two_interfaces();
    agent.reload_counts[size_t(ReloadResult::Applied)] = 4;
    agent.reload_counts[size_t(ReloadResult::Refused)] = 1;
    auto f = Collector(agent).Collect();
    EXPECT_EQ(label_sets(f, "mtuguard_reloads_total"),
              (std::set<Labels>{{{"result", "applied"}}, {{"result", "refused"}}}));
    EXPECT_EQ(value(f, "mtuguard_reloads_total", {{"result", "applied"}}), 4);
    EXPECT_EQ(value(f, "mtuguard_reloads_total", {{"result", "refused"}}), 1);

    agent.fail_counters = true;
    f = Collector(agent).Collect();
    EXPECT_EQ(find_family(f, "mtuguard_packets_total"), nullptr);
    EXPECT_EQ(value(f, "mtuguard_reloads_total", {{"result", "refused"}}), 1);
    const std::string text = serialise(f);
    EXPECT_NE(text.find("mtuguard_reloads_total{result=\"applied\"} 4\n"), std::string::npos) << text;
}

// The driver's count of failed XDP_TX is exported where the driver keeps one and absent (not 0)
// where it does not; with no interface that has one, the family is left out altogether.
TEST(CollectorText, XdpTxErrorsOnlyWhereTheDriverCountsThem)
{
    FakeAgent agent = two_interfaces();
    EXPECT_EQ(find_family(Collector(agent).Collect(), "mtuguard_icmp_tx_errors_total"), nullptr);

    agent.iface_table[0].icmp_tx_errors = 0;
    agent.iface_table[1].icmp_tx_errors = 41;
    auto families = Collector(agent).Collect();
    const MetricFamily *f = find_family(families, "mtuguard_icmp_tx_errors_total");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->type, MetricType::Counter);
    EXPECT_EQ(value(families, "mtuguard_icmp_tx_errors_total", {{"interface", "eth1"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_icmp_tx_errors_total", {{"interface", "vlan42"}}), 41);

    agent.iface_table[0].icmp_tx_errors.reset();
    families = Collector(agent).Collect();
    EXPECT_EQ(label_sets(families, "mtuguard_icmp_tx_errors_total"), (std::set<Labels>{{{"interface", "vlan42"}}}));
    const std::string text = serialise(families);
    EXPECT_NE(text.find("mtuguard_icmp_tx_errors_total{interface=\"vlan42\"} 41\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("mtuguard_icmp_tx_errors_total{interface=\"eth1\"}"), std::string::npos) << text;
}

TEST(CollectorText, PromtoolAcceptsIdleBusyAndFailedScrapes)
{
    REQUIRE_PROMTOOL();
    FakeAgent idle = two_interfaces();
    FakeAgent busy = busy_agent();
    FakeAgent failing = busy_agent();
    failing.fail_counters = true;
    FakeAgent none; // no interface at all
    for (const auto *agent : {&idle, &busy, &failing, &none}) {
        const std::string text = serialise(Collector(*agent).Collect());
        const CommandResult r = promtool_check_metrics(text);
        EXPECT_EQ(r.status, 0) << r.output;
        EXPECT_EQ(r.output, "") << "promtool check metrics complained:\n" << r.output;
    }
}

// The linter itself catches what it should, so a silent pass above means something.
TEST(CollectorText, PromtoolCatchesABadExposition)
{
    REQUIRE_PROMTOOL();
    const CommandResult r = promtool_check_metrics("# HELP mtuguard_oversize_packets counter without _total\n"
                                                   "# TYPE mtuguard_oversize_packets counter\n"
                                                   "mtuguard_oversize_packets 1\n");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("_total"), std::string::npos) << r.output;
}

} // namespace
} // namespace mtuguard

namespace mtuguard {
namespace {

TEST(CollectorMss, OutcomesByDirectionUnderTheirInterface)
{
    FakeAgent agent = two_interfaces();
    agent.mss_table[mg_mss_index(5, MG_DIR_TO_CLIENT, MG_MSS_CLAMPED)] = 7;
    agent.mss_table[mg_mss_index(5, MG_DIR_FROM_CLIENT, MG_MSS_MALFORMED)] = 2;
    agent.mss_table[mg_mss_index(1, MG_DIR_FROM_CLIENT, MG_MSS_DISABLED)] = 3;
    Collector collector(agent);
    auto families = collector.Collect();
    const MetricFamily *f = find_family(families, "mtuguard_mss_syn_packets_total");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->metric.size(), 2u * MG_DIR_COUNT * MG_MSS_OUTCOME_COUNT) << "every series, at 0 until used";
    auto value = [&](const std::string &iface, const std::string &direction, const std::string &outcome) {
        for (const auto &m : f->metric) {
            Labels l;
            for (const auto &label : m.label)
                l[label.name] = label.value;
            if (l["interface"] == iface && l["direction"] == direction && l["outcome"] == outcome)
                return m.counter.value;
        }
        return -1.0;
    };
    EXPECT_EQ(value("vlan42", "to_client", "clamped"), 7);
    EXPECT_EQ(value("vlan42", "from_client", "malformed"), 2);
    EXPECT_EQ(value("eth1", "from_client", "disabled"), 3);
    EXPECT_EQ(value("eth1", "to_client", "clamped"), 0);
}

} // namespace
// The tracking families: each source event counted under its own family and label; the
// observed packets from the first scrape, at 0 while nothing is observed.
TEST(Collector, TrackingAndSourceCountersLandUnderTheirLabels)
{
    FakeAgent agent = two_interfaces();
    const auto idle = Collector(agent).Collect();
    const MetricFamily *observed = find_family(idle, "mtuguard_observed_packets_total");
    ASSERT_NE(observed, nullptr) << "exported without --outside-iface too";
    EXPECT_EQ(observed->metric.size(), size_t(MG_OBSERVED_COUNT));
    for (const auto &m : observed->metric)
        EXPECT_EQ(m.counter.value, 0);
    EXPECT_EQ(value(idle, "mtuguard_client_connections_total", {}), 0);
    EXPECT_EQ(value(idle, "mtuguard_early_reconnects_total", {}), 0);
    for (size_t i = 0; i < size_t(SourceEvent::Count); ++i)
        agent.tracking_status.source_events[i] = 100 + i;
    agent.tracking_status.observing = true;
    agent.tracking_status.observed[MG_OBSERVED_DTLS_HELLOS] = 9;
    agent.tracking_status.transport_changes[MG_TRANSPORT_TLS] = 3;
    agent.tracking_status.sessions_in_storm = 2;
    agent.tracking_status.periodic_sessions = 1;
    agent.tracking_status.reconnects = 17;
    agent.tracking_status.connections = 40;
    agent.tracking_status.early_reconnects = 6;
    const auto families = Collector(agent).Collect();
    EXPECT_EQ(value(families, "mtuguard_observed_packets_total", {{"kind", "dtls_client_hello"}}), 9);
    EXPECT_EQ(value(families, "mtuguard_observed_packets_total", {{"kind", "tls_syn"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_transport_changes_total", {{"to", "tls"}}), 3);
    EXPECT_EQ(value(families, "mtuguard_transport_changes_total", {{"to", "dtls"}}), 0);
    EXPECT_EQ(value(families, "mtuguard_sessions_in_storm", {}), 2);
    EXPECT_EQ(value(families, "mtuguard_periodic_reconnect_sessions", {}), 1);
    EXPECT_EQ(value(families, "mtuguard_reconnects_total", {}), 17);
    EXPECT_EQ(value(families, "mtuguard_client_connections_total", {}), 40);
    EXPECT_EQ(value(families, "mtuguard_early_reconnects_total", {}), 6);
    EXPECT_EQ(value(families, "mtuguard_occtl_runs_total", {{"result", "ok"}}), 100 + size_t(SourceEvent::OcctlOk));
    EXPECT_EQ(value(families, "mtuguard_occtl_runs_total", {{"result", "timeout"}}), 100 + size_t(SourceEvent::OcctlTimeout));
    EXPECT_EQ(value(families, "mtuguard_occtl_rejected_users_total", {}), 100 + size_t(SourceEvent::OcctlRejectedUser));
    EXPECT_EQ(value(families, "mtuguard_syslog_messages_total", {{"result", "no_group_mtu"}}), 100 + size_t(SourceEvent::SyslogNoMtu));
    EXPECT_EQ(value(families, "mtuguard_headend_oversize_reports_total", {{"kind", "frag_needed_sent"}}),
              100 + size_t(SourceEvent::HeadendPmtud));
    size_t series = 0;
    for (const char *name : {"mtuguard_occtl_runs_total", "mtuguard_occtl_rejected_users_total",
                             "mtuguard_syslog_messages_total", "mtuguard_headend_oversize_reports_total"})
        series += find_family(families, name)->metric.size();
    EXPECT_EQ(series, size_t(SourceEvent::Count)) << "every source event is one series";
}

// The process families under node_exporter's names, read from /proc/self: this test's own
// process, so the values are checked against what the test can see of itself.
TEST(Collector, ProcessFamiliesDescribeThisProcess)
{
    FakeAgent agent = two_interfaces();
    const auto families = Collector(agent).Collect();
    auto only = [&](const char *name) {
        const MetricFamily *f = find_family(families, name);
        EXPECT_NE(f, nullptr) << name;
        EXPECT_EQ(f ? f->metric.size() : 0, 1u) << name;
        return f && !f->metric.empty() ? f->metric[0] : ClientMetric{};
    };
    const double now = double(time(nullptr));
    const double start = only("process_start_time_seconds").gauge.value;
    EXPECT_LE(start, now + 1);
    EXPECT_GT(start, now - 3600) << "this test started less than an hour ago";
    EXPECT_GE(only("process_cpu_seconds_total").counter.value, 0);
    EXPECT_GT(only("process_resident_memory_bytes").gauge.value, 1 << 20);
    EXPECT_GE(only("process_virtual_memory_bytes").gauge.value, only("process_resident_memory_bytes").gauge.value);
    const double open = only("process_open_fds").gauge.value;
    EXPECT_GE(open, 3) << "stdin, stdout, stderr";
    EXPECT_GE(only("process_max_fds").gauge.value, open);
}

} // namespace mtuguard
