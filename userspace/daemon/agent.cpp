#include "daemon/agent.hpp"

#include <linux/capability.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/log.hpp"
#include "kernel/client_pool.hpp"
#include "kernel/pins.hpp"
#include "kernel/settings.hpp"
#include "kernel/xdp_tx_errors.hpp"
#include "daemon/privileges.hpp"

namespace mtuguard {
namespace {

TrackerPolicy tracker_policy(const Config &config)
{
    TrackerPolicy policy;
    policy.transport_tracking = config.transport_tracking;
    policy.dtls_idle_timeout = config.dtls_idle_timeout;
    policy.storm.storm_reconnects = config.storm_reconnects;
    policy.storm.storm_window = config.storm_window;
    policy.storm.early_reconnect = config.early_reconnect;
    // A reconnect is often reported twice, its SYN first and occtl's new ID a poll later: one.
    policy.storm.debounce = std::max<std::chrono::milliseconds>(std::chrono::seconds(3),
                                                                config.ocserv_interval + std::chrono::seconds(2));
    return policy;
}

std::unique_ptr<Observer> start_observer(const Config &config)
{
    if (config.outside_ifaces.empty())
        return nullptr;
    auto observer = std::make_unique<Observer>(
        ObserverSettings{config.tls_port, config.dtls_port, std::max<uint32_t>(config.max_sessions, 1024)});
    for (const auto &name : config.outside_ifaces) {
        InterfaceInfo info;
        try {
            info = query_interface(name);
        } catch (const std::exception &e) {
            throw ConfigError("--outside-iface " + name + ": " + e.what());
        }
        try {
            observer->attach(info.ifindex, name);
        } catch (const std::system_error &e) {
            throw std::runtime_error("--outside-iface " + name + ": " + e.what());
        }
        log::info("watching the VPN's channels on " + name + " (TLS tcp/" + std::to_string(config.tls_port) +
                  ", DTLS udp/" + std::to_string(config.dtls_port) + ")");
    }
    return observer;
}

} // namespace

Agent::Agent(const Config &config)
    : config_(config), interfaces_(resolve_interfaces(config)), datapath_(config.max_sessions, config.pin_path, config.client_pools),
      tracker_(tracker_policy(config), std::chrono::steady_clock::now())
{
    if (datapath_.adopted())
        log::info("re-adopting the maps pinned at " + config_.pin_path);
    for (const Prefix &pool : config_.client_pools)
        log::info("client pool " + pool.to_string() + ": its sessions are found by the address's offset");
    // Plan first, change last. Until every step that can fail is behind it, the start-up only
    // adds what the running state lacks (everything, on a fresh start; the rows of interfaces new
    // to the table): the settings, sessions and interface rows an earlier daemon left stay
    // exactly as they were, so a start-up that fails leaves its enforcement running untouched.
    const InterfaceRows existing = datapath_.ifaces();
    plan_slots(existing);
    const bool adopted = datapath_.adopted();
    if (!adopted) {
        datapath_.set_settings(make_settings(config_));
        adopt_sessions();
    }
    write_interface_rows(existing, true);
    attach_all();
    observer_ = start_observer(config_);

    // Every interface is attached: the adopted state becomes this configuration's.
    if (adopted) {
        datapath_.set_settings(make_settings(config_));
        adopt_sessions();
    }
    write_interface_rows(existing, false);
    forget_unconfigured(existing);
    present_.clear();
    for (const auto &info : interfaces_)
        present_.push_back(info.ifindex != 0); // a --client-iface waited for is not there yet
    reattaches_.assign(interfaces_.size(), 0);
    datapath_.keep();
    for (auto &link : links_)
        link.keep();
}

bool Agent::needs_net_admin_at_exit() const
{
    if (observer_ && observer_->needs_net_admin_to_detach())
        return true;
    return std::any_of(clamps_.begin(), clamps_.end(),
                       [](const auto &clamp) { return clamp && std::string(clamp->hook()) == "clsact"; });
}

Agent::~Agent()
{
    if (needs_net_admin_at_exit() && !raise_capabilities(uint64_t(1) << CAP_NET_ADMIN))
        log::warning("cannot take CAP_NET_ADMIN back: the classic tc filters stay attached");
    observer_.reset();
    if (keep_attached_ || config_.pin_path.empty())
        return; // unpinned links detach as their descriptors close
    for (auto &link : links_)
        link.unpin();
    datapath_.unpin();
}

std::chrono::milliseconds Agent::tracking_interval() const
{
    // A quarter of the timeout: a fallback is applied within the timeout + a quarter of it.
    std::lock_guard lock(mutex_);
    return std::clamp(config_.dtls_idle_timeout / 4, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
}

void Agent::track_transports()
{
    if (!observer_)
        return;
    const auto changes = tracker_.tick(std::chrono::steady_clock::now(), [&](const mg_addr &address) {
        return observer_->client(address);
    });
    for (const auto &change : changes) {
        std::optional<mg_session> current;
        {
            std::lock_guard lock(mutex_);
            current = datapath_.session(change.session);
        }
        if (!current || current->transport == change.transport)
            continue;
        try {
            log::info("transport of " + change.session.to_string() + " observed: " + change.evidence);
            set_transport(change.session, change.transport);
            tracker_.count_change(change.transport);
        } catch (const ControlFailure &e) {
            log::warning("transport of " + change.session.to_string() + " not changed: " + e.what());
        }
    }
}

void Agent::report_reconnect(const Prefix &prefix)
{
    tracker_.reconnect(prefix, std::chrono::steady_clock::now());
}

AgentStatus Agent::status() const
{
    AgentStatus out;
    out.uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    out.pin_path = config_.pin_path;
    out.adopted = datapath_.adopted();
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        InterfaceState state;
        state.info = interfaces_[i];
        state.from_client = std::find(config_.client_ifaces.begin(), config_.client_ifaces.end(),
                                      interfaces_[i].name) != config_.client_ifaces.end();
        state.slot = slots_[i];
        if (i < links_.size()) {
            state.attached = links_[i].attached();
            state.mode = xdp_mode_name(links_[i].mode());
            state.program_id = links_[i].program_id();
        }
        if (i < clamps_.size() && clamps_[i] && state.attached)
            state.mss_clamp = clamps_[i]->hook();
        state.present = present_[i];
        state.reattaches = reattaches_[i];
        state.icmp_tx_errors = tx_errors(i, interfaces_[i].name);
        state.entry = make_iface(interfaces_[i], slots_[i], config_);
        out.interfaces.push_back(state);
    }
    out.sessions = sessions();
    out.client_pools = client_pools();
    out.settings = datapath_.settings();
    return out;
}

void Agent::count_request(ControlResult result)
{
    control_requests_[size_t(result)].fetch_add(1, std::memory_order_relaxed);
}

void Agent::count_reload(ReloadResult result)
{
    reloads_[size_t(result)].fetch_add(1, std::memory_order_relaxed);
}

ReloadReport Agent::reload(const Config &next)
{
    std::unique_lock lock(mutex_);
    ReloadPlan plan = plan_reload(config_, next, {datapath_.sessions(), counts_.map_entries, counts_.pools,
                                                  datapath_.max_sessions()});
    for (const auto &warning : plan.warnings)
        log::warning(warning);
    ReloadReport &report = plan.report;
    const Config &merged = plan.merged;

    // The settings the program reads on every packet, and the tracker's.
    datapath_.set_settings(make_settings(merged));
    tracker_.set_policy(tracker_policy(merged));

    // The interface table: ICMP sources from the new configuration, or the interfaces'
    // addresses as they are now; an interface re-created since is attached again.
    for (size_t i = 0; i < interfaces_.size(); ++i)
        refresh_interface_locked(i, merged);

    // The sessions, as planned.
    for (const auto &entry : plan.removals) {
        if (erase_session_locked(entry.prefix, entry.session, "reload: removed", ": no longer configured"))
            ++report.sessions_removed;
    }
    for (const SessionSpec &spec : plan.writes) {
        if (set_session_locked(spec, MG_SOURCE_STATIC))
            ++report.sessions_changed;
        else
            ++report.sessions_added;
    }
    keep_attached_ = merged.keep_attached;
    // Under the lock: the sources' thread reads the configuration too (tracking_interval).
    config_ = std::move(plan.merged);
    return report;
}

std::string Agent::summary() const
{
    SessionCounts counts = sessions();
    return "enforcing " + std::to_string(counts.map_entries) + " session(s) and " + std::to_string(counts.pools) +
           " pool(s) on " + std::to_string(links_.size()) + " interface(s), oversize action " +
           action_name(config_.on_oversize);
}

std::vector<mg_counter> Agent::counters() const { return datapath_.counters(); }

std::vector<mg_size_histogram> Agent::oversize_sizes() const { return datapath_.oversize_sizes(); }

std::vector<uint64_t> Agent::mss_counters() const { return datapath_.mss_counters(); }

std::vector<uint64_t> Agent::unheeded() const { return datapath_.unheeded(); }

const char *source_name(uint8_t source)
{
    switch (source) {
    case MG_SOURCE_STATIC: return "static";
    case MG_SOURCE_CONTROL: return "mtuguardctl";
    case MG_SOURCE_OCSERV: return "ocserv";
    case MG_SOURCE_ASA: return "asa-syslog";
    default: return "unknown";
    }
}

TrackingReport Agent::tracking_report(size_t limit) const
{
    TrackingReport out;
    out.now = std::chrono::steady_clock::now();
    out.totals = tracking();
    out.transport_tracking = config_.transport_tracking;
    out.dtls_idle_timeout = config_.dtls_idle_timeout;
    out.early_reconnect = config_.early_reconnect;
    out.tls_port = config_.tls_port;
    out.dtls_port = config_.dtls_port;
    const auto tracked = tracker_.sessions(out.now);
    out.total = tracked.size();
    for (size_t i = 0; i < tracked.size() && i < limit; ++i) {
        out.sessions.push_back({tracked[i], observer_ ? observer_->client(tracked[i].public_address.addr) : std::nullopt, ""});
        SessionSpec owner;
        if (auto meta = datapath_.meta(tracked[i].session))
            read_owner(owner, *meta);
        out.sessions.back().user = owner.user;
    }
    return out;
}

TrackingStatus Agent::tracking() const
{
    TrackingStatus out;
    out.observing = observer_ != nullptr;
    if (observer_)
        out.observed = observer_->totals();
    const TrackerSummary summary = tracker_.summary(std::chrono::steady_clock::now());
    out.tracked_sessions = summary.tracked_sessions;
    out.reconnects = summary.reconnects;
    out.connections = summary.connections;
    out.early_reconnects = summary.early_reconnects;
    out.sessions_in_storm = summary.sessions_in_storm;
    out.periodic_sessions = summary.periodic_sessions;
    out.transport_changes = summary.changes_to;
    for (size_t i = 0; i < out.source_events.size(); ++i)
        out.source_events[i] = source_events_[i];
    return out;
}

SessionCounts Agent::sessions() const
{
    std::lock_guard lock(mutex_);
    SessionCounts counts = counts_;
    counts.map_capacity = datapath_.max_sessions();
    return counts;
}

// The slots are read whole without the lock (client_pool.hpp), as the program reads them.
std::vector<ClientPoolUse> Agent::client_pools() const
{
    std::vector<ClientPoolUse> out;
    for (const auto &[pool, sessions] : datapath_.client_pool_use())
        out.push_back({pool.to_string(), span_of(pool).size, sessions});
    return out;
}

std::array<uint64_t, size_t(ControlResult::Count)> Agent::control_requests() const
{
    std::array<uint64_t, size_t(ControlResult::Count)> out{};
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = control_requests_[i].load(std::memory_order_relaxed);
    return out;
}

std::array<uint64_t, size_t(ReloadResult::Count)> Agent::reloads() const
{
    std::array<uint64_t, size_t(ReloadResult::Count)> out{};
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = reloads_[i].load(std::memory_order_relaxed);
    return out;
}

} // namespace mtuguard
