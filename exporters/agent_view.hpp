// What the exporter reads from the agent, at scrape time and only then: the daemon implements
// this over the live BPF maps and its own tables, so nothing is mirrored on a timer and a
// scrape always sees the kernel's current counters.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mtuguard_kern_user.h"

namespace mtuguard {

struct InterfaceStatus {
    std::string name;
    uint32_t slot = 0;     // counter slot (mg_counter_index)
    std::string mode;      // "native" or "generic"
    bool attached = false;
    uint64_t reattaches = 0; // attached again after the interface was deleted and re-created
};

struct SessionCounts {
    std::array<uint64_t, MG_TRANSPORT_COUNT> by_transport{}; // exact sessions
    uint64_t pools = 0;                                       // pool prefixes
    uint64_t map_entries = 0;                                 // exact sessions in the map
    uint64_t map_capacity = 0;                                // --max-sessions
};

// Results of control requests, the label values of mtuguard_control_requests_total.
enum class ControlResult { Ok, BadRequest, UnknownCommand, NotFound, TooLarge, MapFull, Failed, Count };
constexpr std::array<const char *, size_t(ControlResult::Count)> control_result_names{
    "ok", "bad_request", "unknown_command", "not_found", "too_large", "map_full", "failed"};

class AgentView {
public:
    virtual ~AgentView() = default;
    // All counters summed over CPUs, indexed by mg_counter_index().
    virtual std::vector<mg_counter> counters() const = 0;
    // Oversize sizes summed over CPUs, indexed by slot * MG_FAMILY_COUNT + family.
    virtual std::vector<mg_size_histogram> oversize_sizes() const = 0;
    // MSS clamping outcomes summed over CPUs, indexed by mg_mss_index().
    virtual std::vector<uint64_t> mss_counters() const = 0;
    virtual std::vector<InterfaceStatus> interfaces() const = 0;
    virtual SessionCounts sessions() const = 0;
    virtual std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const = 0;
};

} // namespace mtuguard
