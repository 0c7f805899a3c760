// The running agent: the loaded program, its attachments and the session counts, built from a
// Config in one step that either wholly succeeds or unwinds (RAII). With a pin path it
// re-adopts what an earlier daemon left running. The control socket changes it through the
// session operations; the exporter reads it through AgentView.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent_view.hpp"
#include "config.hpp"
#include "datapath.hpp"
#include "interface.hpp"

namespace mtuguard {

// A configuration that names something that does not exist (exit status 2).
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A control operation refused; nothing was changed.
struct ControlFailure : std::runtime_error {
    ControlFailure(ControlResult result, const std::string &message) : std::runtime_error(message), result(result) {}
    ControlResult result;
};

struct SessionView {
    SessionEntry entry;
    std::optional<mg_session_stats> stats;
};

class Agent final : public AgentView {
public:
    // Resolves interfaces, loads (re-adopting pinned maps), fills the maps, attaches or swaps
    // the program into pinned links. Throws ConfigError, std::runtime_error or
    // std::system_error; on a throw nothing this start-up created stays behind.
    explicit Agent(const Config &config);
    // Unless told to keep them, removes the pins: the programs detach, the maps go.
    ~Agent() override;

    std::string summary() const;
    bool adopted() const { return datapath_.adopted(); }
    int program_fd() const { return datapath_.program_fd(); } // for tests and tools
    void keep_attached(bool keep) { keep_attached_ = keep; }

    // Session operations, each wholly applied or not at all (throw ControlFailure).
    // Returns true when an existing session was replaced.
    bool add_session(const SessionSpec &spec, mg_source source);
    // All or nothing: the capacity is checked before the first write.
    void add_sessions(const std::vector<SessionSpec> &specs, mg_source source);
    void delete_session(const Prefix &prefix);
    void set_transport(const Prefix &prefix, mg_transport transport);
    std::vector<SessionView> list_sessions(const std::optional<Prefix> &only) const;

    nlohmann::json status() const;
    nlohmann::json stats() const;
    void count_request(ControlResult result);

    // AgentView
    std::vector<mg_counter> counters() const override;
    std::vector<mg_size_histogram> oversize_sizes() const override;
    std::vector<uint64_t> mss_counters() const override;
    std::vector<InterfaceStatus> interfaces() const override;
    SessionCounts sessions() const override;
    std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const override;

private:
    void adopt_sessions();
    void assign_interfaces();
    void count_session(const mg_session &session, bool host, int delta);

    Config config_;
    std::vector<InterfaceInfo> interfaces_;
    std::vector<uint32_t> slots_;
    Datapath datapath_;
    std::vector<XdpLink> links_;
    bool keep_attached_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

    mutable std::mutex mutex_; // session counts, read by the exporter's threads
    SessionCounts counts_;
    std::array<std::atomic<uint64_t>, size_t(ControlResult::Count)> control_requests_{};
};

} // namespace mtuguard
