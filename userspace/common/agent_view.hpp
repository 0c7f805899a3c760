// What the exporter reads from the agent, at scrape time and only then: the daemon implements
// this over the live BPF maps and its own tables, so nothing is mirrored on a timer and a
// scrape always sees the kernel's current counters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mtuguard_kern_user.h"

namespace mtuguard {

struct InterfaceStatus {
    std::string name;
    uint32_t slot = 0;     // counter slot (mg_counter_index)
    std::string mode;      // "native" or "generic"
    bool attached = false;
    bool mss_attached = false; // the MSS clamp's tc programs, both directions
    uint64_t reattaches = 0; // attached again after the interface was deleted and re-created
    // ICMP errors the program sent with XDP_TX that the driver failed to send (its ethtool
    // statistics *xdp_tx_errors); nullopt where the driver has no such statistic.
    std::optional<uint64_t> icmp_tx_errors;
};

struct SessionCounts {
    std::array<uint64_t, MG_TRANSPORT_COUNT> by_transport{}; // exact sessions
    uint64_t pools = 0;                                       // pool prefixes
    uint64_t map_entries = 0;                                 // exact sessions in the map
    uint64_t map_capacity = 0;                                // --max-sessions
    // Exact sessions whose enforced MTU is below the one their client applies (client_mtu).
    uint64_t mtu_mismatch = 0;
};

// A client pool (--client-pool) and how many of its addresses hold a session.
struct ClientPoolUse {
    std::string prefix;
    uint64_t addresses = 0;
    uint64_t sessions = 0;
};

// Results of control requests, the label values of mtuguard_control_requests_total.
enum class ControlResult { Ok, BadRequest, UnknownCommand, NotFound, TooLarge, MapFull, Failed, Count };
constexpr std::array<const char *, size_t(ControlResult::Count)> control_result_names{
    "ok", "bad_request", "unknown_command", "not_found", "too_large", "map_full", "failed"};

// How a reload (SIGHUP) ended, the label values of mtuguard_reloads_total: applied, or refused
// (the configuration did not parse or its sessions did not fit, or the kernel refused a map write
// part-way), the daemon running on with the configuration as it was.
enum class ReloadResult { Applied, Refused, Count };
constexpr std::array<const char *, size_t(ReloadResult::Count)> reload_result_names{"applied", "refused"};

// What the session sources met, the label values of their counters (collector.cpp maps them).
enum class SourceEvent {
    OcctlOk,            // occtl answered and its list was applied
    OcctlFailed,        // occtl exited non-zero or printed no usable list: sessions kept as they were
    OcctlTimeout,       // occtl hung and was killed
    OcctlRejectedUser,  // an entry of occtl's list that could not be used (named in the log)
    SyslogApplied,      // an ASA message that changed or confirmed a session
    SyslogIgnored,      // an ASA message of an id mtuguard does not use
    SyslogNotAsa,       // not an ASA message
    SyslogMalformed,    // an ASA message of ours with a field wrong
    SyslogOversize,     // longer than a syslog message may be: dropped
    SyslogUnknownSession, // about a session mtuguard does not know (its 722051 was missed)
    SyslogNoMtu,        // 722051 for a group without --asa-group: no session made
    SyslogOverLimit,    // 722051 for a new user while the source keeps as many as --max-sessions
    HeadendOversizeOut, // 722036: the headend dropped a packet too large for the client's tunnel
    HeadendOversizeIn,  // 722035
    HeadendPmtud,       // 602101: the headend sent frag-needed itself
    Count
};

struct TrackingStatus {
    bool observing = false; // --outside-iface given
    std::array<uint64_t, MG_OBSERVED_COUNT> observed{};
    uint64_t tracked_sessions = 0;
    uint64_t reconnects = 0;
    uint64_t connections = 0;      // seen starting, reconnects included
    uint64_t early_reconnects = 0; // within --early-reconnect of their connection's start
    uint64_t sessions_in_storm = 0;
    uint64_t periodic_sessions = 0;
    std::array<uint64_t, MG_TRANSPORT_COUNT> transport_changes{};
    std::array<uint64_t, size_t(SourceEvent::Count)> source_events{};
};

class AgentView {
public:
    virtual ~AgentView() = default;
    // All counters summed over CPUs, indexed by mg_counter_index().
    virtual std::vector<mg_counter> counters() const = 0;
    // Oversize sizes summed over CPUs, indexed by slot * MG_FAMILY_COUNT + family.
    virtual std::vector<mg_size_histogram> oversize_sizes() const = 0;
    // MSS clamping outcomes summed over CPUs, indexed by mg_mss_index().
    virtual std::vector<uint64_t> mss_counters() const = 0;
    // Oversize packets of flows already answered a second or more before, by slot: ICMP errors
    // that did not reach (or were ignored by) their sender.
    virtual std::vector<uint64_t> unheeded() const = 0;
    virtual std::vector<InterfaceStatus> interfaces() const = 0;
    virtual SessionCounts sessions() const = 0;
    // Each client pool, in the order the program searches them (IPv4 first, by address).
    virtual std::vector<ClientPoolUse> client_pools() const = 0;
    virtual std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const = 0;
    virtual std::array<uint64_t, size_t(ReloadResult::Count)> reloads() const = 0;
    virtual TrackingStatus tracking() const = 0;
};

} // namespace mtuguard
