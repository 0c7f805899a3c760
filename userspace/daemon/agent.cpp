#include "daemon/agent.hpp"

#include <linux/capability.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/log.hpp"
#include "kernel/pins.hpp"
#include "kernel/settings.hpp"
#include "kernel/xdp_tx_errors.hpp"
#include "daemon/privileges.hpp"

namespace mtuguard {
namespace {

uint32_t effective_mtu(const mg_session &s) { return s.transport == MG_TRANSPORT_DTLS ? s.dtls_mtu : s.tls_mtu; }

std::string describe(const Prefix &prefix, const mg_session &s)
{
    return std::string(prefix.is_host() ? "session " : "pool ") + prefix.to_string() +
           " dtls-mtu=" + std::to_string(s.dtls_mtu) + " tls-mtu=" + std::to_string(s.tls_mtu) +
           " transport=" + transport_name(s.transport) + " (effective mtu " + std::to_string(effective_mtu(s)) + ")";
}

TrackerPolicy tracker_policy(const Config &config)
{
    TrackerPolicy policy;
    policy.transport_tracking = config.transport_tracking;
    policy.dtls_idle_timeout = config.dtls_idle_timeout;
    policy.storm.storm_reconnects = config.storm_reconnects;
    policy.storm.storm_window = config.storm_window;
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

void Agent::adopt_sessions()
{
    std::set<std::string> configured;
    for (const auto &spec : config_.sessions)
        configured.insert(spec.prefix.to_string());
    size_t kept = 0, kept_static = 0;
    std::map<std::string, mg_session> pinned_static;
    for (const auto &entry : datapath_.sessions()) {
        // The configuration owns the static sessions: one it no longer names goes.
        if (entry.session.source == MG_SOURCE_STATIC && !configured.count(entry.prefix.to_string())) {
            datapath_.delete_session(entry.prefix);
            log::info("removed " + describe(entry.prefix, entry.session) + ": no longer configured");
            continue;
        }
        count_session(entry.prefix, entry.session, +1);
        kept += entry.session.source != MG_SOURCE_STATIC;
        if (entry.session.source == MG_SOURCE_STATIC)
            pinned_static.emplace(entry.prefix.to_string(), entry.session);
    }
    if (kept)
        log::info("kept " + std::to_string(kept) + " session(s) added by mtuguardctl");
    for (const auto &spec : config_.sessions) {
        // A static session still pinned with the MTUs the configuration gives it keeps the
        // transport it was last switched to, as across a reload: the transport is what a session
        // source saw, and going back to the configured one after a restart (a crash, an upgrade)
        // would enforce the DTLS MTU on a client that fell back to TLS.
        auto pinned = pinned_static.find(spec.prefix.to_string());
        if (pinned != pinned_static.end() && pinned->second.dtls_mtu == spec.session.dtls_mtu &&
            pinned->second.tls_mtu == spec.session.tls_mtu && pinned->second.mss_clamp == spec.session.mss_clamp) {
            ++kept_static;
            continue;
        }
        add_session(spec, MG_SOURCE_STATIC);
    }
    if (kept_static)
        log::info("kept " + std::to_string(kept_static) + " static session(s) as pinned, each on the transport it "
                                                            "was last switched to");
}

// Counts and the index of exact sessions move together, on every change.
void Agent::count_session(const Prefix &prefix, const mg_session &session, int delta)
{
    if (!prefix.is_host()) {
        counts_.pools += delta;
        return;
    }
    counts_.by_transport[session.transport == MG_TRANSPORT_DTLS ? MG_TRANSPORT_DTLS : MG_TRANSPORT_TLS] += delta;
    counts_.map_entries += delta;
    if (delta > 0)
        exact_.insert(prefix.addr);
    else
        exact_.erase(prefix.addr);
}

bool Agent::add_session(const SessionSpec &spec, mg_source source)
{
    std::lock_guard lock(mutex_);
    const bool replaced = set_session_locked(spec, source);
    if (spec.public_address)
        tracker_.bind(spec.prefix, *spec.public_address, source, std::chrono::steady_clock::now());
    return replaced;
}

bool Agent::set_session_locked(const SessionSpec &spec, mg_source source)
{
    std::optional<mg_session> old = datapath_.session(spec.prefix);
    if (!old && spec.prefix.is_host() && counts_.map_entries >= datapath_.max_sessions())
        throw ControlFailure(ControlResult::MapFull, "session map full: " + std::to_string(counts_.map_entries) +
                                                         " sessions, the limit set by --max-sessions " +
                                                         std::to_string(datapath_.max_sessions()) +
                                                         "; nothing was evicted (delete one first)");
    mg_session session = spec.session;
    session.source = source;
    session.stats = old ? old->stats : mg_session_stats{}; // a replaced session keeps its counters
    // ocserv and the ASA say nothing of the transport: a session they update keeps the one it has.
    if (old && (source == MG_SOURCE_OCSERV || source == MG_SOURCE_ASA))
        session.transport = old->transport;
    try {
        datapath_.set_session(spec.prefix, session);
    } catch (const std::system_error &e) {
        throw ControlFailure(e.code().value() == ENOSPC ? ControlResult::MapFull : ControlResult::Failed, e.what());
    }
    if (old)
        count_session(spec.prefix, *old, -1);
    count_session(spec.prefix, session, +1);
    log::info(std::string(old ? "replaced " : "added ") + describe(spec.prefix, session));
    return old.has_value();
}

void Agent::add_sessions(const std::vector<SessionSpec> &specs, mg_source source)
{
    std::lock_guard lock(mutex_);
    std::vector<SessionEntry> entries;
    std::unordered_set<std::string> seen;
    for (const auto &spec : specs) {
        // Binary keys: formatting a million addresses only to compare them costs seconds.
        std::string key(reinterpret_cast<const char *>(spec.prefix.addr.bytes), MG_ADDR_LEN);
        key += char(spec.prefix.mapped_length());
        if (!seen.insert(key).second)
            throw ControlFailure(ControlResult::BadRequest, spec.prefix.to_string() + " given twice");
        SessionEntry entry{spec.prefix, spec.session};
        entry.session.source = source;
        entries.push_back(entry);
    }
    // Checked before the first write: a batch that does not fit changes nothing. The index of
    // exact sessions says which are new without a lookup per session.
    std::vector<bool> fresh;
    uint64_t new_hosts = 0, new_pools = 0;
    for (const auto &entry : entries) {
        const bool is_new = entry.prefix.is_host() ? !exact_.count(entry.prefix.addr) : !datapath_.session(entry.prefix);
        fresh.push_back(is_new);
        new_hosts += is_new && entry.prefix.is_host();
        new_pools += is_new && !entry.prefix.is_host();
    }
    const uint64_t capacity = datapath_.max_sessions();
    if (counts_.map_entries + new_hosts > capacity)
        throw ControlFailure(ControlResult::MapFull,
                             "session map full: " + std::to_string(counts_.map_entries) + " + " +
                                 std::to_string(new_hosts) + " new sessions exceed --max-sessions " +
                                 std::to_string(capacity) + "; nothing was changed");
    if (counts_.pools + new_pools > MG_MAX_POOLS)
        throw ControlFailure(ControlResult::MapFull, "pool map full; nothing was changed");
    std::vector<std::optional<mg_session>> old;
    try {
        old = datapath_.set_sessions(entries, fresh);
    } catch (const std::system_error &e) {
        throw ControlFailure(ControlResult::Failed, e.what());
    }
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < entries.size(); ++i) {
        if (old[i])
            count_session(entries[i].prefix, *old[i], -1);
        count_session(entries[i].prefix, entries[i].session, +1);
        if (specs[i].public_address)
            tracker_.bind(specs[i].prefix, *specs[i].public_address, source, now);
    }
    log::info("added " + std::to_string(entries.size()) + " sessions in one batch (" +
              std::to_string(new_hosts + new_pools) + " new)");
}

void Agent::delete_session(const Prefix &prefix)
{
    std::lock_guard lock(mutex_);
    std::optional<mg_session> old = datapath_.session(prefix);
    if (!old || !datapath_.delete_session(prefix))
        throw ControlFailure(ControlResult::NotFound, "no session " + prefix.to_string());
    count_session(prefix, *old, -1);
    tracker_.unbind(prefix, std::chrono::steady_clock::now());
    log::info("deleted " + describe(prefix, *old));
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

void Agent::set_transport(const Prefix &prefix, mg_transport transport)
{
    std::lock_guard lock(mutex_);
    std::optional<mg_session> old = datapath_.session(prefix);
    if (!old)
        throw ControlFailure(ControlResult::NotFound, "no session " + prefix.to_string());
    mg_session session = *old;
    session.transport = transport;
    try {
        datapath_.set_session(prefix, session);
    } catch (const std::system_error &e) {
        throw ControlFailure(ControlResult::Failed, e.what());
    }
    count_session(prefix, *old, -1);
    count_session(prefix, session, +1);
    log::info((prefix.is_host() ? "session " : "pool ") + prefix.to_string() + " transport " +
              transport_name(old->transport) + " -> " + transport_name(transport) + ": effective mtu " +
              std::to_string(effective_mtu(*old)) + " -> " + std::to_string(effective_mtu(session)) +
              " (dtls-mtu " + std::to_string(session.dtls_mtu) + ", tls-mtu " + std::to_string(session.tls_mtu) + ")");
}

std::vector<SessionView> Agent::list_sessions(const std::optional<Prefix> &only) const
{
    std::vector<SessionView> out;
    auto add = [&](const SessionEntry &entry) { out.push_back({entry, entry.session.stats}); };
    if (only) {
        if (auto session = datapath_.session(*only))
            add({*only, *session});
        else
            throw ControlFailure(ControlResult::NotFound, "no session " + only->to_string());
        return out;
    }
    for (const auto &entry : datapath_.sessions())
        add(entry);
    return out;
}

std::vector<SessionSpec> Agent::sessions_of(mg_source source) const
{
    std::vector<SessionSpec> out;
    for (const auto &entry : datapath_.sessions())
        if (entry.session.source == source)
            out.push_back({entry.prefix, entry.session});
    return out;
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
        if (datapath_.delete_session(entry.prefix)) {
            count_session(entry.prefix, entry.session, -1);
            ++report.sessions_removed;
            log::info("reload: removed " + describe(entry.prefix, entry.session) + ": no longer configured");
        }
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
    out.tls_port = config_.tls_port;
    out.dtls_port = config_.dtls_port;
    const auto tracked = tracker_.sessions(out.now);
    out.total = tracked.size();
    for (size_t i = 0; i < tracked.size() && i < limit; ++i)
        out.sessions.push_back({tracked[i], observer_ ? observer_->client(tracked[i].public_address.addr) : std::nullopt});
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
