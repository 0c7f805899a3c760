#include "daemon/agent.hpp"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "exporter/collector.hpp"
#include "common/log.hpp"
#include "kernel/pins.hpp"
#include "kernel/settings.hpp"
#include "daemon/privileges.hpp"

namespace mtuguard {
namespace {

using nlohmann::json;

// The enforced interfaces first, then the client-facing ones.
std::vector<InterfaceInfo> resolve(const Config &config)
{
    std::vector<InterfaceInfo> interfaces;
    for (const auto *list : {&config.ifaces, &config.client_ifaces}) {
        const std::string option = list == &config.ifaces ? "--iface " : "--client-iface ";
        for (const auto &name : *list) {
            try {
                interfaces.push_back(query_interface(name));
            } catch (const std::exception &e) {
                throw ConfigError(option + name + ": " + e.what());
            }
            if (list == &config.ifaces && interfaces.back().l3_only)
                throw ConfigError(option + name + ": has no Ethernet header (a tun device): it can only "
                                                  "be a --client-iface, where the clients' SYNs are clamped");
        }
    }
    return interfaces;
}

mg_iface make_iface(const InterfaceInfo &info, uint32_t slot, const Config &config)
{
    mg_iface iface{};
    iface.slot = slot;
    iface.mtu = info.mtu;
    iface.l3_only = info.l3_only;
    iface.direction = std::find(config.client_ifaces.begin(), config.client_ifaces.end(), info.name) !=
                              config.client_ifaces.end()
                          ? MG_DIR_FROM_CLIENT
                          : MG_DIR_TO_CLIENT;
    auto source4 = config.icmp_source4 ? config.icmp_source4 : info.address4;
    auto source6 = config.icmp_source6 ? config.icmp_source6 : info.address6;
    if (source4) {
        std::memcpy(iface.icmp_src4, &source4->addr.bytes[12], 4);
        iface.has_src4 = 1;
    }
    if (source6) {
        std::memcpy(iface.icmp_src6, source6->addr.bytes, 16);
        iface.has_src6 = 1;
    }
    return iface;
}

uint32_t effective_mtu(const mg_session &s) { return s.transport == MG_TRANSPORT_DTLS ? s.dtls_mtu : s.tls_mtu; }

std::string describe(const Prefix &prefix, const mg_session &s)
{
    return std::string(prefix.is_host() ? "session " : "pool ") + prefix.to_string() +
           " dtls-mtu=" + std::to_string(s.dtls_mtu) + " tls-mtu=" + std::to_string(s.tls_mtu) +
           " transport=" + transport_name(s.transport) + " (effective mtu " + std::to_string(effective_mtu(s)) + ")";
}

std::string address_text(const uint8_t *bytes, bool v4)
{
    char text[INET6_ADDRSTRLEN];
    inet_ntop(v4 ? AF_INET : AF_INET6, bytes, text, sizeof(text));
    return text;
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

std::string link_pin(const Config &config, const std::string &iface)
{
    return config.pin_path.empty() ? "" : config.pin_path + "/links/" + iface;
}

} // namespace

Agent::Agent(const Config &config)
    : config_(config), interfaces_(resolve(config)), datapath_(config.max_sessions, config.pin_path, config.client_pools),
      tracker_(tracker_policy(config), std::chrono::steady_clock::now())
{
    if (datapath_.adopted())
        log::info("re-adopting the maps pinned at " + config_.pin_path);
    for (const Prefix &pool : config_.client_pools)
        log::info("client pool " + pool.to_string() + ": its sessions are found by the address's offset");
    datapath_.set_settings(make_settings(config_));
    adopt_sessions();
    assign_interfaces();

    // Attach everywhere, or swap this program into the links an earlier daemon pinned. A throw
    // destroys the links made so far, which detaches them again.
    for (const auto &info : interfaces_) {
        try {
            links_.push_back(XdpLink::attach(datapath_.program_fd(), info.ifindex, config_.xdp_mode,
                                             link_pin(config_, info.name)));
        } catch (const std::system_error &e) {
            throw std::runtime_error("--iface " + info.name + ": " + e.what() +
                                     (links_.empty() ? "" : "; undone on the interfaces already attached"));
        }
        const XdpLink &link = links_.back();
        log::info(std::string(link.adopted() ? "re-adopted " : "attached to ") + info.name + " (ifindex " +
                  std::to_string(info.ifindex) + ", " + xdp_mode_name(link.mode()) + " mode, mtu " +
                  std::to_string(info.mtu) + ", program id " + std::to_string(link.program_id()) + ")");
        if (link.adopted() && config_.xdp_mode != XdpMode::Auto && config_.xdp_mode != link.mode())
            log::warning(info.name + ": kept running in " + xdp_mode_name(link.mode()) + " mode; --xdp-mode " +
                         xdp_mode_name(config_.xdp_mode) + " applies after `mtuguardctl detach`");
    }

    // Interfaces an earlier daemon enforced that this configuration no longer names.
    if (!config_.pin_path.empty()) {
        std::error_code ec;
        for (const auto &entry : std::filesystem::directory_iterator(config_.pin_path + "/links", ec)) {
            const std::string name = entry.path().filename();
            if (std::find(config_.ifaces.begin(), config_.ifaces.end(), name) == config_.ifaces.end() &&
                std::find(config_.client_ifaces.begin(), config_.client_ifaces.end(), name) ==
                    config_.client_ifaces.end()) {
                std::filesystem::remove(entry.path(), ec);
                log::info("detached from " + name + ": no longer configured");
            }
        }
    }
    present_.assign(interfaces_.size(), true);
    reattaches_.assign(interfaces_.size(), 0);
    observer_ = start_observer(config_);
    datapath_.keep();
    for (auto &link : links_)
        link.keep();
}

Agent::~Agent()
{
    if (needs_net_admin_at_exit() && !raise_capabilities(uint64_t(1) << CAP_NET_ADMIN))
        log::warning("cannot take CAP_NET_ADMIN back: the observation filters stay attached");
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

// Counter slots stay with their interface across restarts, so counters continue.
void Agent::assign_interfaces()
{
    auto existing = datapath_.ifaces();
    std::set<uint32_t> used;
    for (const auto &info : interfaces_) {
        for (const auto &[ifindex, iface] : existing)
            if (ifindex == info.ifindex)
                used.insert(iface.slot);
    }
    for (const auto &info : interfaces_) {
        uint32_t slot = 0;
        for (const auto &[ifindex, iface] : existing)
            if (ifindex == info.ifindex)
                slot = iface.slot;
        for (uint32_t candidate = 1; !slot && candidate < MG_MAX_IFACES; ++candidate)
            if (!used.count(candidate))
                used.insert(slot = candidate);
        slots_.push_back(slot);
        mg_iface iface = make_iface(info, slot, config_);
        datapath_.set_iface(info.ifindex, iface);
        const bool answers = iface.direction == MG_DIR_TO_CLIENT &&
                             (config_.on_oversize == MG_ACTION_ICMP || config_.on_oversize == MG_ACTION_CLEAR_DF);
        if (answers && !iface.has_src4)
            log::warning(info.name + ": no IPv4 address: oversize IPv4 gets no frag-needed (set --icmp-source)");
        if (answers && !iface.has_src6)
            log::warning(info.name + ": no IPv6 address: oversize IPv6 gets no Packet Too Big (set --icmp-source)");
    }
    for (const auto &[ifindex, iface] : existing) {
        bool configured = false;
        for (const auto &info : interfaces_)
            configured |= info.ifindex == ifindex;
        if (!configured)
            datapath_.delete_iface(ifindex);
    }
}

void Agent::refresh_interfaces(const LinkChanges &changes)
{
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        if (changes.overrun || changes.names.count(interfaces_[i].name) ||
            changes.ifindexes.count(interfaces_[i].ifindex)) {
            try {
                refresh_interface_locked(i, config_);
            } catch (const std::exception &e) {
                log::error(interfaces_[i].name + ": updating the interface table failed: " + e.what());
            }
        }
    }
}

// Level-triggered: whatever the messages said, the interface of this name as the kernel has it
// now decides. The program belongs on it unless it is the very link this daemon holds.
void Agent::refresh_interface_locked(size_t i, const Config &config)
{
    InterfaceInfo &info = interfaces_[i];
    std::optional<InterfaceInfo> now;
    try {
        now = query_interface(info.name);
    } catch (const std::exception &) {
    }
    if (!now) {
        if (present_[i]) {
            present_[i] = false;
            datapath_.delete_iface(info.ifindex);
            log::warning(info.name + " went away (ifindex " + std::to_string(info.ifindex) +
                         "): nothing is enforced there until an interface of that name returns");
        }
        return;
    }
    if (now->ifindex == info.ifindex && links_[i].attached()) {
        if (now->mtu != info.mtu || now->address4 != info.address4 || now->address6 != info.address6)
            log::info(info.name + ": mtu " + std::to_string(now->mtu) + ", ICMP source addresses as the interface has them now");
        info = *now;
        datapath_.set_iface(info.ifindex, make_iface(info, slots_[i], config));
        present_[i] = true;
        return;
    }
    const bool enforced = i < config.ifaces.size();
    if (enforced && now->l3_only) {
        log::error(info.name + " is back without an Ethernet header (a tun device): not attaching; it can only be "
                               "a --client-iface");
        present_[i] = true;
        return;
    }
    std::optional<XdpLink> link;
    try {
        link.emplace(XdpLink::attach(datapath_.program_fd(), now->ifindex, config.xdp_mode, link_pin(config, info.name)));
    } catch (const std::system_error &e) {
        log::error(info.name + " is there (ifindex " + std::to_string(now->ifindex) + ") but attaching failed: " +
                   e.what() + "; trying again at its next change");
        return;
    }
    link->keep();
    const uint32_t old_ifindex = info.ifindex;
    if (old_ifindex != now->ifindex)
        datapath_.delete_iface(old_ifindex);
    info = *now;
    datapath_.set_iface(info.ifindex, make_iface(info, slots_[i], config));
    links_[i] = std::move(*link);
    present_[i] = true;
    ++reattaches_[i];
    log::info("re-attached to " + info.name + " (ifindex " + std::to_string(old_ifindex) + " -> " +
              std::to_string(info.ifindex) + ", " + xdp_mode_name(links_[i].mode()) + " mode, mtu " +
              std::to_string(info.mtu) + ", program id " + std::to_string(links_[i].program_id()) +
              "): enforcing there again");
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

json Agent::status() const
{
    json interfaces = json::array();
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        const auto &info = interfaces_[i];
        json iface = {{"name", info.name},
                      {"direction", std::find(config_.client_ifaces.begin(), config_.client_ifaces.end(),
                                              info.name) != config_.client_ifaces.end()
                                        ? "from_client"
                                        : "to_client"},
                      {"ifindex", info.ifindex},
                      {"slot", slots_[i]},
                      {"mtu", info.mtu},
                      {"attached", i < links_.size() && links_[i].attached()},
                      {"mode", i < links_.size() ? xdp_mode_name(links_[i].mode()) : "none"},
                      {"program_id", i < links_.size() ? links_[i].program_id() : 0},
                      {"present", bool(present_[i])},
                      {"reattaches", reattaches_[i]}};
        mg_iface entry = make_iface(info, slots_[i], config_);
        iface["icmp_source4"] = entry.has_src4 ? json(address_text(entry.icmp_src4, true)) : json(nullptr);
        iface["icmp_source6"] = entry.has_src6 ? json(address_text(entry.icmp_src6, false)) : json(nullptr);
        interfaces.push_back(iface);
    }
    SessionCounts counts = sessions();
    const mg_settings &s = datapath_.settings();
    return {{"version", MTUGUARD_VERSION},
            {"pid", getpid()},
            {"uptime_seconds",
             std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count()},
            {"pin_path", config_.pin_path},
            {"adopted", datapath_.adopted()},
            {"interfaces", interfaces},
            {"sessions",
             {{"dtls", counts.by_transport[MG_TRANSPORT_DTLS]},
              {"tls", counts.by_transport[MG_TRANSPORT_TLS]},
              {"exact", counts.map_entries},
              {"pools", counts.pools},
              {"capacity", counts.map_capacity}}},
            {"settings",
             {{"on_oversize", action_name(static_cast<mg_action>(s.action))},
              {"mss_clamp", s.mss_clamp != 0},
              {"icmp_rate", s.icmp_global.rate},
              {"icmp_burst", s.icmp_global.burst},
              {"icmp_rate_per_source", s.icmp_per_source.rate},
              {"icmp_burst_per_source", s.icmp_per_source.burst}}}};
}

json Agent::stats() const
{
    const auto all = counters();
    const auto mss_all = mss_counters();
    const auto unheeded_all = unheeded();
    json interfaces = json::array();
    for (const auto &iface : this->interfaces()) {
        json families = json::object();
        for (int family = 0; family < MG_FAMILY_COUNT; ++family) {
            json reasons = json::object();
            for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
                const mg_counter &c = all[mg_counter_index(iface.slot, family, reason)];
                reasons[mg_reason_name(reason)] = {{"packets", c.packets}, {"bytes", c.bytes}};
            }
            families[family == MG_FAMILY_IPV4 ? "ipv4" : family == MG_FAMILY_IPV6 ? "ipv6" : "other"] = reasons;
        }
        json mss = json::object();
        for (int direction = 0; direction < MG_DIR_COUNT; ++direction)
            for (int outcome = 0; outcome < MG_MSS_OUTCOME_COUNT; ++outcome)
                mss[direction == MG_DIR_TO_CLIENT ? "to_client" : "from_client"][mg_mss_outcome_name(outcome)] =
                    mss_all.at(mg_mss_index(iface.slot, direction, outcome));
        interfaces.push_back({{"name", iface.name},
                              {"counters", families},
                              {"mss_syn_packets", mss},
                              {"icmp_unheeded", unheeded_all.at(iface.slot)}});
    }
    return {{"interfaces", interfaces}};
}

void Agent::count_request(ControlResult result)
{
    control_requests_[size_t(result)].fetch_add(1, std::memory_order_relaxed);
}

namespace {

bool same_session(const mg_session &a, const mg_session &b)
{
    return a.dtls_mtu == b.dtls_mtu && a.tls_mtu == b.tls_mtu && a.transport == b.transport &&
           a.mss_clamp == b.mss_clamp;
}

std::string list_text(std::vector<std::string> items)
{
    std::sort(items.begin(), items.end());
    std::string out;
    for (const auto &item : items)
        out += (out.empty() ? "" : ",") + item;
    return out.empty() ? "(none)" : out;
}

std::string path_text(const std::string &path) { return path.empty() ? "''" : path; }

std::string rate_text(const RateLimit &limit, bool burst)
{
    return std::to_string(burst ? limit.burst : limit.rate);
}

std::string source_text(const std::optional<Prefix> &source)
{
    return source ? source->to_string() : "(the interface's address)";
}

} // namespace

std::string ReloadReport::describe() const
{
    std::string out = std::to_string(sessions_added) + " session(s) added, " + std::to_string(sessions_changed) +
                      " changed, " + std::to_string(sessions_removed) + " removed";
    for (const auto &change : applied)
        out += "; " + change;
    if (!restart_needed.empty()) {
        out += "; needs a restart, kept as running:";
        for (const auto &option : restart_needed)
            out += " " + option;
    }
    return out;
}

ReloadReport Agent::reload(const Config &next)
{
    ReloadReport report;
    Config merged = next;

    // 1. The static sessions: planned and checked against the running maps before anything
    //    changes. The configuration owns its sessions as at start-up (adopt_sessions): one it no
    //    longer names goes unless mtuguardctl has replaced it since; one it names is written
    //    unless it is unchanged since the last configuration and still there as written, so a
    //    transport switched at runtime survives a reload that did not touch that session.
    std::map<std::string, const SessionSpec *> before, after;
    for (const auto &spec : config_.sessions)
        before[spec.prefix.to_string()] = &spec;
    for (const auto &spec : next.sessions)
        after[spec.prefix.to_string()] = &spec;
    std::unique_lock lock(mutex_);
    std::map<std::string, SessionEntry> running;
    for (const auto &entry : datapath_.sessions())
        running[entry.prefix.to_string()] = entry;
    std::vector<SessionEntry> removals;
    std::vector<const SessionSpec *> writes;
    int64_t hosts = int64_t(counts_.map_entries), pools = int64_t(counts_.pools);
    for (const auto &[key, spec] : before) {
        auto it = running.find(key);
        if (!after.count(key) && it != running.end() && it->second.session.source == MG_SOURCE_STATIC) {
            removals.push_back(it->second);
            (spec->prefix.is_host() ? hosts : pools) -= 1;
        }
    }
    for (const auto &[key, spec] : after) {
        auto it = running.find(key);
        auto previous = before.find(key);
        if (previous != before.end() && same_session(previous->second->session, spec->session) &&
            it != running.end() && it->second.session.source == MG_SOURCE_STATIC)
            continue;
        writes.push_back(spec);
        if (it == running.end())
            (spec->prefix.is_host() ? hosts : pools) += 1;
    }
    if (hosts > int64_t(datapath_.max_sessions()))
        throw ConfigError("--session: " + std::to_string(hosts) + " sessions with those added through mtuguardctl, "
                          "over the running --max-sessions " + std::to_string(datapath_.max_sessions()) +
                          " (a larger map needs a restart after `mtuguardctl detach`)");
    if (pools > int64_t(MG_MAX_POOLS))
        throw ConfigError("--session: " + std::to_string(pools) + " pool prefixes with those added through "
                          "mtuguardctl, over the limit of " + std::to_string(MG_MAX_POOLS));

    // 2. What only a restart can change keeps its running value.
    auto restart_only = [&](bool differs, const std::string &option, const std::string &running_value,
                            const std::string &wanted) {
        if (!differs)
            return;
        report.restart_needed.push_back(option);
        log::warning("reload: " + option + " " + wanted + " needs a restart; running on with " + running_value);
    };
    auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    restart_only(sorted(next.ifaces) != sorted(config_.ifaces), "--iface", list_text(config_.ifaces),
                 list_text(next.ifaces));
    restart_only(sorted(next.client_ifaces) != sorted(config_.client_ifaces), "--client-iface",
                 list_text(config_.client_ifaces), list_text(next.client_ifaces));
    restart_only(next.xdp_mode != config_.xdp_mode, "--xdp-mode", xdp_mode_name(config_.xdp_mode),
                 xdp_mode_name(next.xdp_mode));
    restart_only(next.max_sessions != config_.max_sessions, "--max-sessions", std::to_string(config_.max_sessions),
                 std::to_string(next.max_sessions));
    auto pools_text = [](const std::vector<Prefix> &pools) {
        std::vector<std::string> texts;
        for (const Prefix &p : pools)
            texts.push_back(p.to_string());
        return list_text(texts);
    };
    restart_only(next.client_pools != config_.client_pools, "--client-pool", pools_text(config_.client_pools),
                 pools_text(next.client_pools));
    restart_only(next.pin_path != config_.pin_path, "--pin-path", path_text(config_.pin_path),
                 path_text(next.pin_path));
    restart_only(next.control_socket != config_.control_socket, "--control-socket",
                 path_text(config_.control_socket), path_text(next.control_socket));
    restart_only(next.metrics_listen != config_.metrics_listen, "--metrics-listen",
                 path_text(config_.metrics_listen), path_text(next.metrics_listen));
    // The observation programs and the session sources are set up once, at start.
    const auto sources = [](const Config &c) {
        return std::tie(c.outside_ifaces, c.tls_port, c.dtls_port, c.ocserv, c.occtl, c.occtl_socket,
                        c.ocserv_config, c.ocserv_interval, c.occtl_timeout, c.syslog_listen, c.asa_groups);
    };
    restart_only(sources(next) != sources(config_),
                 "--outside-iface, --tls-port, --dtls-port, --ocserv*, --occtl*, --syslog-listen or "
                 "--asa-group", "the options given at start", "a change");
    std::tie(merged.outside_ifaces, merged.tls_port, merged.dtls_port, merged.ocserv, merged.occtl,
             merged.occtl_socket, merged.ocserv_config, merged.ocserv_interval, merged.occtl_timeout, merged.syslog_listen,
             merged.asa_groups) = sources(config_);
    merged.ifaces = config_.ifaces;
    merged.client_ifaces = config_.client_ifaces;
    merged.xdp_mode = config_.xdp_mode;
    merged.max_sessions = config_.max_sessions;
    merged.client_pools = config_.client_pools;
    merged.pin_path = config_.pin_path;
    merged.control_socket = config_.control_socket;
    merged.metrics_listen = config_.metrics_listen;

    // 3. The settings the program reads on every packet.
    auto applied = [&](bool differs, const std::string &option, const std::string &was, const std::string &is) {
        if (differs)
            report.applied.push_back(option + " " + was + " -> " + is);
    };
    applied(next.on_oversize != config_.on_oversize, "--on-oversize", action_name(config_.on_oversize),
            action_name(next.on_oversize));
    applied(next.mss_clamp != config_.mss_clamp, "--mss-clamp", config_.mss_clamp ? "on" : "off",
            next.mss_clamp ? "on" : "off");
    applied(next.icmp_global.rate != config_.icmp_global.rate, "--icmp-rate", rate_text(config_.icmp_global, false),
            rate_text(next.icmp_global, false));
    applied(next.icmp_global.burst != config_.icmp_global.burst, "--icmp-burst",
            rate_text(config_.icmp_global, true), rate_text(next.icmp_global, true));
    applied(next.icmp_per_source.rate != config_.icmp_per_source.rate, "--icmp-rate-per-source",
            rate_text(config_.icmp_per_source, false), rate_text(next.icmp_per_source, false));
    applied(next.icmp_per_source.burst != config_.icmp_per_source.burst, "--icmp-burst-per-source",
            rate_text(config_.icmp_per_source, true), rate_text(next.icmp_per_source, true));
    applied(next.icmp_source4 != config_.icmp_source4, "--icmp-source (IPv4)", source_text(config_.icmp_source4),
            source_text(next.icmp_source4));
    applied(next.icmp_source6 != config_.icmp_source6, "--icmp-source (IPv6)", source_text(config_.icmp_source6),
            source_text(next.icmp_source6));
    applied(next.keep_attached != config_.keep_attached, "--keep-attached", config_.keep_attached ? "on" : "off",
            next.keep_attached ? "on" : "off");
    datapath_.set_settings(make_settings(merged));
    applied(next.transport_tracking != config_.transport_tracking, "--transport-tracking",
            config_.transport_tracking ? "on" : "off", next.transport_tracking ? "on" : "off");
    applied(next.dtls_idle_timeout != config_.dtls_idle_timeout, "--dtls-idle-timeout",
            std::to_string(config_.dtls_idle_timeout.count()) + " ms", std::to_string(next.dtls_idle_timeout.count()) + " ms");
    applied(next.storm_reconnects != config_.storm_reconnects || next.storm_window != config_.storm_window,
            "--storm-reconnects/--storm-window",
            std::to_string(config_.storm_reconnects) + " in " + std::to_string(config_.storm_window.count()) + " s",
            std::to_string(next.storm_reconnects) + " in " + std::to_string(next.storm_window.count()) + " s");
    tracker_.set_policy(tracker_policy(merged));

    // 4. The interface table: ICMP sources from the new configuration, or the interfaces'
    //    addresses as they are now; an interface re-created since is attached again.
    for (size_t i = 0; i < interfaces_.size(); ++i)
        refresh_interface_locked(i, merged);

    // 5. The sessions, as planned.
    for (const auto &entry : removals) {
        if (datapath_.delete_session(entry.prefix)) {
            count_session(entry.prefix, entry.session, -1);
            ++report.sessions_removed;
            log::info("reload: removed " + describe(entry.prefix, entry.session) + ": no longer configured");
        }
    }
    for (const SessionSpec *spec : writes) {
        if (set_session_locked(*spec, MG_SOURCE_STATIC))
            ++report.sessions_changed;
        else
            ++report.sessions_added;
    }
    lock.unlock();

    keep_attached_ = merged.keep_attached;
    config_ = merged;
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

std::vector<InterfaceStatus> Agent::interfaces() const
{
    std::lock_guard lock(mutex_);
    std::vector<InterfaceStatus> out;
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        InterfaceStatus s;
        s.name = interfaces_[i].name;
        s.slot = slots_[i];
        // Asked of the kernel at every scrape: an interface deleted (until it is back and
        // re-attached), or a program detached from outside, shows as detached.
        s.attached = i < links_.size() && links_[i].attached();
        s.mode = i < links_.size() ? xdp_mode_name(links_[i].mode()) : "none";
        s.reattaches = reattaches_[i];
        out.push_back(s);
    }
    return out;
}

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

json Agent::tracking_report(size_t limit) const
{
    const auto now = std::chrono::steady_clock::now();
    const TrackingStatus totals = tracking();
    json observed = json::object();
    for (int i = 0; i < MG_OBSERVED_COUNT; ++i)
        observed[observed_kind_name(i)] = totals.observed[i];
    json sessions = json::array();
    const auto tracked = tracker_.sessions(now);
    auto age = [&](uint64_t ns) -> json {
        if (!ns)
            return nullptr;
        return std::chrono::duration<double>(now - std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns))).count();
    };
    for (size_t i = 0; i < tracked.size() && i < limit; ++i) {
        const TrackedSession &t = tracked[i];
        json entry = {{"address", t.session.to_string()},
                      {"public_address", t.public_address.to_string()},
                      {"source", source_name(t.source)},
                      {"observed_transport", t.observed ? json(transport_name(*t.observed)) : json(nullptr)},
                      {"reconnects", t.reconnects},
                      {"storm", t.storm},
                      {"periodic", t.periodic},
                      {"reconnect_interval_seconds", t.typical_interval_seconds ? json(*t.typical_interval_seconds) : json(nullptr)},
                      {"recent_reconnect_intervals_seconds", t.recent_intervals_seconds}};
        if (auto obs = observer_ ? observer_->client(t.public_address.addr) : std::nullopt) {
            entry["client"] = {{"tls_syns", obs->tls_syns},
                               {"tls_packets", obs->tls_packets},
                               {"dtls_in", obs->dtls_in},
                               {"dtls_out", obs->dtls_out},
                               {"dtls_client_hellos", obs->dtls_hellos},
                               {"other_udp", obs->other_udp},
                               {"other_udp_port", obs->other_udp ? json(obs->other_udp_port) : json(nullptr)},
                               {"seconds_since_tls", age(obs->last_tls_ns)},
                               {"seconds_since_dtls_in", age(obs->last_dtls_in_ns)},
                               {"seconds_since_dtls_out", age(obs->last_dtls_out_ns)}};
        }
        sessions.push_back(entry);
    }
    return {{"observing", totals.observing},
            {"transport_tracking", config_.transport_tracking},
            {"dtls_idle_timeout_seconds", config_.dtls_idle_timeout.count() / 1000.0},
            {"tls_port", config_.tls_port},
            {"dtls_port", config_.dtls_port},
            {"observed", observed},
            {"reconnects", totals.reconnects},
            {"sessions_in_storm", totals.sessions_in_storm},
            {"periodic_reconnect_sessions", totals.periodic_sessions},
            {"sessions", sessions},
            {"total", tracked.size()},
            {"truncated", tracked.size() > limit}};
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

} // namespace mtuguard
