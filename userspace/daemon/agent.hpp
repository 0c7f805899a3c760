// The running agent: the loaded program, its attachments and the session counts, built from a
// Config in one step that either wholly succeeds or unwinds (RAII). With a pin path it
// re-adopts what an earlier daemon left running, changing that state only once every interface
// is attached. The control socket changes it through the session operations, the session sources
// through SessionSink; the exporter reads it through AgentView.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/agent_view.hpp"
#include "config/config.hpp"
#include "daemon/reload_plan.hpp"
#include "kernel/datapath.hpp"
#include "kernel/xdp_link.hpp"
#include "kernel/xdp_tx_errors.hpp"
#include "kernel/interface.hpp"
#include "kernel/mss_clamp.hpp"
#include "kernel/observer.hpp"
#include "tracking/transport_tracker.hpp"
#include "kernel/link_monitor.hpp"
#include "sources/session_sink.hpp"

namespace mtuguard {

struct SessionView {
    SessionEntry entry;
    std::optional<mg_session_stats> stats;
    mg_session_meta owner{}; // all zero: nobody known
};

// What a session's owner entry says, into its spec (user, group, public address, MTUs).
void read_owner(SessionSpec &spec, const mg_session_meta &meta);
// " (user alice, group staff)" for the log, or "" when nobody is known.
std::string owner_text(const mg_session_meta &meta);

// "static", "mtuguardctl", "ocserv", "asa-syslog".
const char *source_name(uint8_t source);

// The interfaces a configuration names, the enforced ones first, then the client-facing ones.
// Throws ConfigError naming one that is missing or cannot be enforced.
std::vector<InterfaceInfo> resolve_interfaces(const Config &config);
// Throws ConfigError when a client pool covers an address of an enforced interface (--iface):
// those face the servers, and a client pool holds the VPN clients' addresses only.
void check_pools_apart(const std::vector<Prefix> &client_pools, const std::vector<InterfaceInfo> &enforced);
// An interface's row in the program's interface table.
mg_iface make_iface(const InterfaceInfo &info, uint32_t slot, const Config &config);
// Where the link on `iface` is pinned ("" without --pin-path).
std::string link_pin(const Config &config, const std::string &iface);

// The running state as `status` shows it (control_views.hpp makes the JSON).
struct InterfaceState {
    InterfaceInfo info;
    bool from_client = false; // a --client-iface
    uint32_t slot = 0;
    bool attached = false;
    std::string mode = "none";
    uint32_t program_id = 0;
    std::string mss_clamp = "none"; // the tc programs' hook: "tcx", "clsact" or "none"
    bool present = false;
    uint64_t reattaches = 0;
    std::optional<uint64_t> icmp_tx_errors; // as InterfaceStatus has it
    mg_iface entry{}; // as the program reads it: the ICMP source addresses
};
struct AgentStatus {
    std::chrono::seconds uptime{};
    std::string pin_path;
    bool adopted = false;
    std::vector<InterfaceState> interfaces;
    SessionCounts sessions;
    std::vector<ClientPoolUse> client_pools;
    mg_settings settings{};
};

// The tracked sessions as `tracking` shows them: the first `limit` of `total`, each with what the
// observation programs saw of its client.
struct TrackedClient {
    TrackedSession session;
    std::optional<mg_client_obs> client;
    std::string user; // "" unknown
};
struct TrackingReport {
    TrackingStatus totals;
    bool transport_tracking = false;
    std::chrono::milliseconds dtls_idle_timeout{};
    std::chrono::seconds early_reconnect{};
    uint16_t tls_port = 0, dtls_port = 0;
    std::vector<TrackedClient> sessions;
    size_t total = 0;
    std::chrono::steady_clock::time_point now;
};

class Agent final : public AgentView, public SessionSink {
public:
    // Resolves interfaces, loads (re-adopting pinned maps), fills the maps, attaches or swaps
    // the program into pinned links. Throws ConfigError, std::runtime_error or
    // std::system_error; on a throw nothing this start-up created stays behind.
    explicit Agent(const Config &config);
    // Unless told to keep them, removes the pins: the programs detach, the maps go.
    ~Agent() override;

    // Applies a new configuration to the running program without re-attaching it: the
    // settings (--on-oversize, --mss-clamp, ICMP rates and bursts), the ICMP source addresses
    // (and the interfaces' current addresses), the static sessions (added, changed, removed;
    // those added through mtuguardctl stay, and a static session the configuration did not
    // change keeps the transport it was switched to at runtime) and --keep-attached. What only
    // a restart can change (--iface, --client-iface, --xdp-mode, --max-sessions, --pin-path,
    // --control-socket, --metrics-listen) keeps its running value and is reported. Throws
    // ConfigError, having changed nothing, when the sessions would not fit the running maps.
    ReloadReport reload(const Config &config);

    // After link or address changes (LinkMonitor): an enforced interface that went away is
    // logged and no longer counted as attached; when an interface of that name is there again
    // (re-created, or moved back into this namespace) the program is attached to it anew, in the
    // same counter slot, and counted (mtuguard_interface_reattach_total); a changed MTU or
    // address is written to the interface table. Only interfaces the changes name are looked
    // at, all of them after an overrun. A failed attach is logged and tried again at the next
    // change of that interface.
    void refresh_interfaces(const LinkChanges &changes);
    // Called periodically (the main loop's tick): reads each interface's XDP_TX error count and
    // warns when it has risen since the last call, once a rise (not again until it has stood
    // still for a call) and at most once a minute an interface.
    void watch_tx_errors();

    std::string summary() const;
    bool adopted() const { return datapath_.adopted(); }
    int program_fd() const { return datapath_.program_fd(); } // for tests and tools
    void keep_attached(bool keep) { keep_attached_ = keep; }
    bool keeps_attached() const { return keep_attached_; }
    // The observation programs or the MSS clamp are classic tc filters (a kernel without tcx):
    // removing them when the agent goes takes CAP_NET_ADMIN, which the daemon must keep
    // permitted for it.
    bool needs_net_admin_at_exit() const;

    // Session operations, each wholly applied or not at all (throw ControlFailure).
    // Returns true when an existing session was replaced.
    bool add_session(const SessionSpec &spec, mg_source source) override;
    // All or nothing: the capacity is checked before the first write.
    void add_sessions(const std::vector<SessionSpec> &specs, mg_source source);
    void delete_session(const Prefix &prefix) override;
    void set_transport(const Prefix &prefix, mg_transport transport) override;
    std::vector<SessionView> list_sessions(const std::optional<Prefix> &only) const;
    std::vector<SessionSpec> sessions_of(mg_source source) const override;

    // Transport tracking: reads the observations and applies the transports they show. Called
    // periodically (tracking_interval) by the session sources' thread.
    void track_transports();
    std::chrono::milliseconds tracking_interval() const;
    // A session source says this session's client reconnected.
    void report_reconnect(const Prefix &prefix) override;
    void count(SourceEvent event, uint64_t n = 1) override { source_events_[size_t(event)] += n; }
    // Tracked sessions with what was observed of their clients (control "tracking").
    TrackingReport tracking_report(size_t limit) const;
    AgentStatus status() const;
    void count_request(ControlResult result);
    // The main loop's reloads, by how they ended (mtuguard_reloads_total).
    void count_reload(ReloadResult result);

    // AgentView
    std::vector<mg_counter> counters() const override;
    std::vector<mg_size_histogram> oversize_sizes() const override;
    std::vector<uint64_t> mss_counters() const override;
    std::vector<uint64_t> unheeded() const override;
    std::vector<InterfaceStatus> interfaces() const override;
    SessionCounts sessions() const override;
    std::vector<ClientPoolUse> client_pools() const override;
    std::array<uint64_t, size_t(ControlResult::Count)> control_requests() const override;
    std::array<uint64_t, size_t(ReloadResult::Count)> reloads() const override;
    TrackingStatus tracking() const override;

private:
    void adopt_sessions();
    bool set_session_locked(const SessionSpec &spec, mg_source source); // mutex_ held
    using InterfaceRows = std::vector<std::pair<uint32_t, mg_iface>>;
    void plan_slots(const InterfaceRows &existing);
    // The interface table's rows for this configuration: those it lacks, or all of them.
    void write_interface_rows(const InterfaceRows &existing, bool missing_only);
    void forget_unconfigured(const InterfaceRows &existing);
    void attach_all();
    void refresh_interface_locked(size_t i, const Config &config); // mutex_ held
    // Warns when XDP_TX frames sent out of this interface are known to be lost: a veth in native
    // mode whose peer has no XDP program.
    void check_xdp_tx_path(const InterfaceInfo &info, XdpMode mode) const;
    // `client_mtu`: the MTU the session's client applies (mismatch is counted against it).
    void count_session(const Prefix &prefix, const mg_session &session, uint16_t client_mtu, int delta);
    // One line when a session enters MTU mismatch, one when it leaves.
    void log_mismatch(const Prefix &prefix, const std::optional<mg_session> &old, uint16_t old_client,
                      const mg_session &now, uint16_t client, const std::string &owner) const;
    // Deletes a session or pool with its owner entry, counted and logged as "VERB <session>WHY";
    // false when it was not there. mutex_ held.
    bool erase_session_locked(const Prefix &prefix, const mg_session &old, const std::string &verb,
                              const std::string &why);

    Config config_; // replaced by reload (mutex_)
    std::vector<InterfaceInfo> interfaces_; // names fixed; addresses refreshed by reload (mutex_)
    std::vector<uint32_t> slots_;
    Datapath datapath_;
    std::vector<XdpLink> links_;          // replaced on a re-attach (mutex_)
    std::vector<std::unique_ptr<MssClamp>> clamps_; // the tc programs beside each link (mutex_)
    std::unique_ptr<Observer> observer_; // with --outside-iface
    TransportTracker tracker_;
    std::array<std::atomic<uint64_t>, size_t(SourceEvent::Count)> source_events_{};
    std::vector<bool> present_;           // the interface exists (mutex_)
    std::vector<uint64_t> reattaches_;    // re-attaches since start-up (mutex_)
    // watch_tx_errors' memory, touched by the main thread only: the count at the last call, whether
    // it was rising then, and when it last warned.
    struct TxErrorWatch {
        std::optional<uint64_t> last;
        bool rising = false;
        std::chrono::steady_clock::time_point warned{};
    };
    std::vector<TxErrorWatch> tx_watch_;
    // Each interface's XDP_TX errors since this daemon attached (by index of interfaces_), updated
    // by whoever reads them: the exporter's threads, the control socket, the tick.
    mutable std::mutex tx_mutex_;
    mutable std::vector<TxErrorCount> tx_counts_;
    std::optional<uint64_t> tx_errors(size_t i, const std::string &name) const;
    bool keep_attached_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

    // Session counts, interfaces_ and config_, read by the exporter's and the sources' threads
    mutable std::mutex mutex_;
    SessionCounts counts_;
    // The exact sessions' addresses, so a bulk load knows which are new without a syscall each.
    struct AddrHash {
        size_t operator()(const mg_addr &a) const noexcept
        {
            return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char *>(a.bytes), sizeof(a.bytes)));
        }
    };
    struct AddrEqual {
        bool operator()(const mg_addr &a, const mg_addr &b) const noexcept
        {
            return std::memcmp(a.bytes, b.bytes, sizeof(a.bytes)) == 0;
        }
    };
    std::unordered_set<mg_addr, AddrHash, AddrEqual> exact_;
    std::array<std::atomic<uint64_t>, size_t(ControlResult::Count)> control_requests_{};
    // Written by the main loop, read by the exporter's threads.
    std::array<std::atomic<uint64_t>, size_t(ReloadResult::Count)> reloads_{};
};

} // namespace mtuguard
