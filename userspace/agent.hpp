// The running agent: the loaded program, its attachments and the session table, built from a
// Config in one step that either wholly succeeds or unwinds (RAII), and read by the exporter
// through AgentView while it runs.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent_view.hpp"
#include "config.hpp"
#include "datapath.hpp"
#include "interface.hpp"

namespace mtuguard {

// A configuration that names something that does not exist (exit status 2).
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Agent final : public AgentView {
public:
    // Resolves interfaces, loads, fills the maps, attaches everywhere. Throws ConfigError or
    // std::system_error; on a throw nothing stays attached.
    explicit Agent(const Config &config);

    std::string summary() const;

    // AgentView
    std::vector<mg_counter> counters() const override;
    std::vector<mg_size_histogram> oversize_sizes() const override;
    std::vector<InterfaceStatus> interfaces() const override;
    SessionCounts sessions() const override;
    std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const override;

private:
    void set_session(const SessionSpec &spec);

    Config config_;
    std::vector<InterfaceInfo> interfaces_;
    Datapath datapath_;
    std::vector<XdpLink> links_;

    mutable std::mutex sessions_mutex_;
    std::map<std::string, SessionSpec> sessions_; // by prefix text
    std::array<std::atomic<uint64_t>, size_t(ControlResult::Count)> control_requests_{};
};

} // namespace mtuguard
