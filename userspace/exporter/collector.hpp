// The Prometheus collector: reads the agent (AgentView) at scrape time and turns the BPF
// counters into metric families. Every series that can exist is emitted on every scrape, at 0
// until something happens, and labels are bounded: interface, family, action, reason,
// transport, result — never an address or a user.
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "common/agent_view.hpp"

namespace mtuguard {

class Collector : public prometheus::Collectable {
public:
    explicit Collector(const AgentView &agent) : agent_(agent) {}
    std::vector<prometheus::MetricFamily> Collect() const override;
    // Waits for a scrape in progress, then answers every later one with nothing: after this the
    // agent may go away while the HTTP server still runs.
    void stop();

private:
    std::vector<prometheus::MetricFamily> collect() const;
    void collect_interfaces(std::vector<prometheus::MetricFamily> &out) const;
    void collect_tracking(std::vector<prometheus::MetricFamily> &out) const;

    const AgentView &agent_;
    mutable std::shared_mutex stopping_;
    bool stopped_ = false;
    mutable std::atomic<uint64_t> scrape_errors_{0};
};

// How each reason is exported (MG_REASONS): which family it belongs to and under which label value.
enum class ReasonKind { Passed = MG_REASON_KIND_PASSED, Oversize = MG_REASON_KIND_OVERSIZE, Suppressed = MG_REASON_KIND_SUPPRESSED };
struct ReasonLabel {
    ReasonKind kind;
    const char *label; // `reason` for passed and suppressed, `action` for oversize
};
ReasonLabel reason_label(int reason);

// Label values of mtuguard_observed_packets_total{kind} (enum mg_observed) and of the session
// sources' counters (SourceEvent): switches without default, so a new value fails the build.
const char *observed_kind_name(int kind);
struct SourceEventLabel {
    const char *family;     // the metric family it is counted in
    const char *help;
    const char *label_name; // "" for a family without labels
    const char *label;
};
SourceEventLabel source_event_label(SourceEvent event);

} // namespace mtuguard
