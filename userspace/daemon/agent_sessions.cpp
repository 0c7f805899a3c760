// The Agent's sessions: written to the maps whole, counted by transport and by MTU mismatch, and
// kept with their owners (struct mg_session_meta) so that the log, the control socket and a
// restarted daemon can say whose each session is.
#include "daemon/agent.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

#include "common/log.hpp"

namespace mtuguard {
namespace {

mg_session_meta meta_of(const SessionSpec &spec)
{
    mg_session_meta meta{};
    std::memcpy(meta.user, spec.user.data(), std::min(spec.user.size(), sizeof(meta.user) - 1));
    std::memcpy(meta.group, spec.group.data(), std::min(spec.group.size(), sizeof(meta.group) - 1));
    if (spec.public_address) {
        meta.public_addr = spec.public_address->addr;
        meta.has_public = 1;
    }
    meta.client_mtu = spec.client_mtu;
    meta.headend_mtu = spec.headend_mtu;
    return meta;
}

std::string name_of(const char (&field)[MG_NAME_MAX]) { return std::string(field, strnlen(field, MG_NAME_MAX)); }

// Whose a session is, for the log: " (user alice, group staff)", or "" when nobody knows.
std::string owner_text(const std::string &user, const std::string &group)
{
    if (user.empty() && group.empty())
        return "";
    std::string text = " (";
    if (!user.empty())
        text += "user " + user;
    if (!group.empty())
        text += std::string(user.empty() ? "" : ", ") + "group " + group;
    return text + ")";
}

std::string describe(const Prefix &prefix, const mg_session &s, const std::string &owner = "")
{
    return std::string(prefix.is_host() ? "session " : "pool ") + prefix.to_string() + owner +
           " dtls-mtu=" + std::to_string(s.dtls_mtu) + " tls-mtu=" + std::to_string(s.tls_mtu) +
           " transport=" + transport_name(s.transport) + " (effective mtu " + std::to_string(enforced_mtu(s)) + ")";
}

// A session whose enforced MTU is below the one its client applies: the client sends and expects
// packets that no longer fit (the TLS fallback, ocserv's lowered tun).
bool in_mismatch(const Prefix &prefix, const mg_session &session, uint16_t client_mtu)
{
    return prefix.is_host() && enforced_mtu(session) < client_mtu;
}

const mg_session_meta no_owner{};

// The MTU a session's client applies, from its owner entry.
uint16_t client_of(const std::optional<mg_session_meta> &meta, const mg_session &session)
{
    return meta && meta->client_mtu ? meta->client_mtu : session.dtls_mtu;
}

} // namespace

void read_owner(SessionSpec &spec, const mg_session_meta &meta)
{
    spec.user = name_of(meta.user);
    spec.group = name_of(meta.group);
    if (meta.has_public)
        spec.public_address = mapped_prefix(meta.public_addr);
    spec.client_mtu = meta.client_mtu;
    spec.headend_mtu = meta.headend_mtu;
}

std::string owner_text(const mg_session_meta &meta) { return owner_text(name_of(meta.user), name_of(meta.group)); }

void Agent::adopt_sessions()
{
    std::set<std::string> configured;
    for (const auto &spec : config_.sessions)
        configured.insert(spec.prefix.to_string());
    std::map<std::string, mg_session_meta> owners;
    for (const auto &[addr, meta] : datapath_.metas())
        owners.emplace(mapped_prefix(addr).to_string(), meta);
    size_t kept = 0, kept_static = 0;
    std::map<std::string, mg_session> pinned_static;
    for (const auto &entry : datapath_.sessions()) {
        // The configuration owns the static sessions: one it no longer names goes.
        if (entry.session.source == MG_SOURCE_STATIC && !configured.count(entry.prefix.to_string())) {
            erase_session_locked(entry.prefix, entry.session, "removed", ": no longer configured");
            continue;
        }
        const auto owner = owners.find(entry.prefix.to_string());
        count_session(entry.prefix, entry.session,
                      client_of(owner != owners.end() ? std::optional(owner->second) : std::nullopt, entry.session), +1);
        kept += entry.session.source != MG_SOURCE_STATIC;
        if (entry.session.source == MG_SOURCE_STATIC)
            pinned_static.emplace(entry.prefix.to_string(), entry.session);
    }
    if (kept)
        log::info("kept " + std::to_string(kept) + " session(s) added by mtuguardctl");
    if (counts_.mtu_mismatch)
        log::warning(std::to_string(counts_.mtu_mismatch) + " kept session(s) in MTU mismatch: their clients apply "
                                                            "a larger MTU than is enforced (mtuguardctl diagnose)");
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
void Agent::count_session(const Prefix &prefix, const mg_session &session, uint16_t client_mtu, int delta)
{
    if (!prefix.is_host()) {
        counts_.pools += delta;
        return;
    }
    counts_.by_transport[session.transport == MG_TRANSPORT_DTLS ? MG_TRANSPORT_DTLS : MG_TRANSPORT_TLS] += delta;
    counts_.map_entries += delta;
    counts_.mtu_mismatch += in_mismatch(prefix, session, client_mtu) ? delta : 0;
    if (delta > 0)
        exact_.insert(prefix.addr);
    else
        exact_.erase(prefix.addr);
}

void Agent::log_mismatch(const Prefix &prefix, const std::optional<mg_session> &old, uint16_t old_client,
                         const mg_session &now, uint16_t client, const std::string &owner) const
{
    const bool was = old && in_mismatch(prefix, *old, old_client), is = in_mismatch(prefix, now, client);
    if (is && !was)
        log::warning("session " + prefix.to_string() + owner + " in MTU mismatch: its client applies " +
                     std::to_string(client) + ", the gateway enforces " + std::to_string(enforced_mtu(now)) + " (" +
                     transport_name(now.transport) + "): packets over " + std::to_string(enforced_mtu(now)) +
                     " bytes are refused until the client lowers its MTU or reconnects");
    else if (was && !is)
        log::info("session " + prefix.to_string() + owner + " out of MTU mismatch: its client applies " +
                  std::to_string(client) + ", the gateway enforces " + std::to_string(enforced_mtu(now)));
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
    const std::optional<mg_session_meta> old_meta = spec.prefix.is_host() ? datapath_.meta(spec.prefix) : std::nullopt;
    const uint16_t old_client = old ? client_of(old_meta, *old) : 0;
    // The owner first: a session is never in the map with another's name. Put back as it was if
    // the session's own write fails.
    try {
        if (spec.prefix.is_host())
            datapath_.set_meta(spec.prefix, meta_of(spec));
        try {
            datapath_.set_session(spec.prefix, session);
        } catch (...) {
            if (spec.prefix.is_host())
                datapath_.set_meta(spec.prefix, old_meta.value_or(no_owner));
            throw;
        }
    } catch (const std::system_error &e) {
        throw ControlFailure(e.code().value() == ENOSPC ? ControlResult::MapFull : ControlResult::Failed, e.what());
    }
    if (old)
        count_session(spec.prefix, *old, old_client, -1);
    count_session(spec.prefix, session, spec.client_applies(), +1);
    const std::string owner = owner_text(spec.user, spec.group);
    log::info(std::string(old ? "replaced " : "added ") + describe(spec.prefix, session, owner));
    log_mismatch(spec.prefix, old, old_client, session, spec.client_applies(), owner);
    return old.has_value();
}

void Agent::add_sessions(const std::vector<SessionSpec> &specs, mg_source source)
{
    std::lock_guard lock(mutex_);
    // A prefix given twice, found by sorting the batch by its binary keys: formatting a million
    // addresses only to compare them costs seconds, and a set of them ~100 bytes a session.
    std::vector<uint32_t> order(specs.size());
    std::iota(order.begin(), order.end(), 0);
    const auto key_less = [&](uint32_t a, uint32_t b) {
        const Prefix &x = specs[a].prefix, &y = specs[b].prefix;
        const int c = std::memcmp(x.addr.bytes, y.addr.bytes, MG_ADDR_LEN);
        return c ? c < 0 : x.mapped_length() < y.mapped_length();
    };
    std::sort(order.begin(), order.end(), key_less);
    const auto twice = std::adjacent_find(order.begin(), order.end(),
                                          [&](uint32_t a, uint32_t b) { return !key_less(a, b); });
    if (twice != order.end())
        throw ControlFailure(ControlResult::BadRequest, specs[*twice].prefix.to_string() + " given twice");
    order = {};
    std::vector<SessionEntry> entries;
    entries.reserve(specs.size());
    for (const auto &spec : specs) {
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
    // Owners of a batch: the replaced sessions' are read first (their mismatch is counted from
    // them, and they are put back if the batch fails), and written before the sessions, only
    // where there is something to say: a bulk load of bare new sessions costs no owner writes.
    // Kept for the replaced sessions only, in batch order: a bulk load of new ones keeps none.
    std::vector<std::pair<size_t, std::optional<mg_session_meta>>> replaced_meta;
    for (size_t i = 0; i < entries.size(); ++i)
        if (!fresh[i] && entries[i].prefix.is_host())
            replaced_meta.emplace_back(i, datapath_.meta(entries[i].prefix));
    const auto old_meta = [&](size_t i) -> std::optional<mg_session_meta> {
        auto it = std::lower_bound(replaced_meta.begin(), replaced_meta.end(), i,
                                   [](const auto &kept, size_t index) { return kept.first < index; });
        return it != replaced_meta.end() && it->first == i ? it->second : std::nullopt;
    };
    std::vector<std::optional<mg_session>> old;
    size_t owners_written = 0;
    try {
        for (; owners_written < entries.size(); ++owners_written) {
            const size_t i = owners_written;
            const mg_session_meta meta = meta_of(specs[i]);
            if (entries[i].prefix.is_host() && (!fresh[i] || std::memcmp(&meta, &no_owner, sizeof(meta)) != 0))
                datapath_.set_meta(entries[i].prefix, meta);
        }
        old = datapath_.set_sessions(entries, fresh);
    } catch (const std::system_error &e) {
        for (size_t i = 0; i < owners_written; ++i)
            if (entries[i].prefix.is_host())
                datapath_.set_meta(entries[i].prefix, old_meta(i).value_or(no_owner));
        throw ControlFailure(ControlResult::Failed, e.what());
    }
    const auto now = std::chrono::steady_clock::now();
    const uint64_t mismatched_before = counts_.mtu_mismatch;
    for (size_t i = 0; i < entries.size(); ++i) {
        if (old[i])
            count_session(entries[i].prefix, *old[i], client_of(old_meta(i), *old[i]), -1);
        count_session(entries[i].prefix, entries[i].session, specs[i].client_applies(), +1);
        if (specs[i].public_address)
            tracker_.bind(specs[i].prefix, *specs[i].public_address, source, now);
    }
    log::info("added " + std::to_string(entries.size()) + " sessions in one batch (" +
              std::to_string(new_hosts + new_pools) + " new)");
    if (counts_.mtu_mismatch != mismatched_before)
        log::warning("sessions in MTU mismatch: " + std::to_string(mismatched_before) + " -> " +
                     std::to_string(counts_.mtu_mismatch) + " after the batch (mtuguardctl diagnose names them)");
}

bool Agent::erase_session_locked(const Prefix &prefix, const mg_session &old, const std::string &verb,
                                 const std::string &why)
{
    const std::optional<mg_session_meta> meta = prefix.is_host() ? datapath_.meta(prefix) : std::nullopt;
    if (!datapath_.delete_session(prefix))
        return false;
    if (prefix.is_host())
        datapath_.delete_meta(prefix);
    count_session(prefix, old, client_of(meta, old), -1);
    log::info(verb + " " + describe(prefix, old, meta ? owner_text(*meta) : "") + why);
    return true;
}

void Agent::delete_session(const Prefix &prefix)
{
    std::lock_guard lock(mutex_);
    std::optional<mg_session> old = datapath_.session(prefix);
    if (!old || !erase_session_locked(prefix, *old, "deleted", ""))
        throw ControlFailure(ControlResult::NotFound, "no session " + prefix.to_string());
    tracker_.unbind(prefix, std::chrono::steady_clock::now());
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
    const std::optional<mg_session_meta> meta = prefix.is_host() ? datapath_.meta(prefix) : std::nullopt;
    const uint16_t client = client_of(meta, session);
    const std::string owner = meta ? owner_text(*meta) : "";
    count_session(prefix, *old, client, -1);
    count_session(prefix, session, client, +1);
    log::info((prefix.is_host() ? "session " : "pool ") + prefix.to_string() + owner + " transport " +
              transport_name(old->transport) + " -> " + transport_name(transport) + ": effective mtu " +
              std::to_string(enforced_mtu(*old)) + " -> " + std::to_string(enforced_mtu(session)) +
              " (dtls-mtu " + std::to_string(session.dtls_mtu) + ", tls-mtu " + std::to_string(session.tls_mtu) + ")");
    log_mismatch(prefix, old, client, session, client, owner);
}

std::vector<SessionView> Agent::list_sessions(const std::optional<Prefix> &only) const
{
    std::vector<SessionView> out;
    if (only) {
        auto session = datapath_.session(*only);
        if (!session)
            throw ControlFailure(ControlResult::NotFound, "no session " + only->to_string());
        out.push_back({{*only, *session}, session->stats, {}});
        if (auto meta = only->is_host() ? datapath_.meta(*only) : std::nullopt)
            out.back().owner = *meta;
        return out;
    }
    std::unordered_map<mg_addr, mg_session_meta, AddrHash, AddrEqual> owners;
    for (const auto &[addr, meta] : datapath_.metas())
        owners.emplace(addr, meta);
    for (const auto &entry : datapath_.sessions()) {
        out.push_back({entry, entry.session.stats, {}});
        if (auto owner = entry.prefix.is_host() ? owners.find(entry.prefix.addr) : owners.end(); owner != owners.end())
            out.back().owner = owner->second;
    }
    return out;
}

std::vector<SessionSpec> Agent::sessions_of(mg_source source) const
{
    std::vector<SessionSpec> out;
    for (const auto &view : list_sessions(std::nullopt)) {
        if (view.entry.session.source != source)
            continue;
        SessionSpec spec{view.entry.prefix, view.entry.session, std::nullopt};
        read_owner(spec, view.owner);
        out.push_back(spec);
    }
    return out;
}

} // namespace mtuguard
