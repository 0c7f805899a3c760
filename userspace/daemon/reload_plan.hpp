// What a reload (SIGHUP) will change, decided from the running and the new configuration and
// the maps' contents before anything changes: a plan that cannot be carried out is refused whole,
// and the Agent applies one that can. Pure, so it is tested without BPF.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/session_spec.hpp"
#include "config/config.hpp"
#include "kernel/datapath.hpp"

namespace mtuguard {

// A configuration that names something that does not exist or does not fit what runs (exit
// status 2 at start-up; a reload refused).
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What a reload changed (Agent::reload), for its log line and for tests.
struct ReloadReport {
    std::vector<std::string> applied;        // "--on-oversize icmp -> drop": in effect now
    std::vector<std::string> restart_needed; // "--max-sessions": kept at the running value
    size_t sessions_added = 0, sessions_changed = 0, sessions_removed = 0;

    std::string describe() const;
};

// What the maps hold now.
struct RunningMaps {
    std::vector<SessionEntry> sessions; // every session and pool prefix
    uint64_t hosts = 0, pools = 0;      // exact sessions and pool prefixes
    uint64_t max_sessions = 0;          // the running --max-sessions
};

struct ReloadPlan {
    // The new configuration, with what only a restart can change at its running value.
    Config merged;
    // `applied` and `restart_needed`; the apply counts the sessions.
    ReloadReport report;
    // One line for each option that needs a restart, with its running and wanted value.
    std::vector<std::string> warnings;
    // The static sessions the configuration no longer names, as they are in the maps.
    std::vector<SessionEntry> removals;
    // The sessions to write: new, changed, or no longer as the configuration wrote them.
    std::vector<SessionSpec> writes;
};

// The configuration owns its sessions as at start-up: one it no longer names goes unless
// mtuguardctl has replaced it since; one it names is written unless it is unchanged since the
// last configuration and still there as written, so a transport switched at runtime survives a
// reload that did not touch that session. Throws ConfigError when the sessions would not fit the
// running maps.
ReloadPlan plan_reload(const Config &running, const Config &next, const RunningMaps &maps);

} // namespace mtuguard
