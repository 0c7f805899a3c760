#include "tracking/transport_tracker.hpp"

#include <algorithm>
#include <cstring>

#include "common/log.hpp"

namespace mtuguard {
namespace {

using Clock = TransportTracker::Clock;

// The observation program stamps with CLOCK_MONOTONIC_COARSE: the same clock as steady_clock,
// coarser. Zero means never.
std::optional<Clock::time_point> stamp(uint64_t ns)
{
    if (!ns)
        return std::nullopt;
    return Clock::time_point(std::chrono::nanoseconds(ns));
}

bool within(std::optional<Clock::time_point> at, Clock::time_point now, std::chrono::milliseconds span)
{
    return at && now - *at <= span;
}

std::string seconds_ago(std::optional<Clock::time_point> at, Clock::time_point now)
{
    if (!at)
        return "never";
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - *at).count()) + " s ago";
}

} // namespace

bool TransportTracker::AddrLess::operator()(const mg_addr &a, const mg_addr &b) const
{
    return std::memcmp(a.bytes, b.bytes, sizeof(a.bytes)) < 0;
}

TransportTracker::TransportTracker(TrackerPolicy policy, Clock::time_point started)
    : policy_(std::move(policy)), started_(started)
{
}

void TransportTracker::set_policy(const TrackerPolicy &policy)
{
    std::lock_guard lock(mutex_);
    policy_ = policy;
}

void TransportTracker::record_reconnect(const mg_addr &address, Client &client, Clock::time_point at)
{
    const ReconnectHistory::Recorded recorded = client.history.record(at, policy_.storm);
    reconnects_ += recorded.counted;
    connections_ += recorded.counted;
    early_reconnects_ += recorded.early;
    if (recorded.counted) {
        log::info("reconnect: " + who(address, client) +
                  (recorded.early ? ", early (within --early-reconnect of its start)" : "") + ", " +
                  std::to_string(client.history.count_total()) + " reconnects so far");
    }
}

void TransportTracker::bind(const Prefix &session, const Prefix &public_address, mg_source source,
                            Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    const std::string key = session.to_string();
    auto found = sessions_.find(key);
    if (found != sessions_.end()) {
        found->second.source = source;
        if (std::memcmp(found->second.client.bytes, public_address.addr.bytes, MG_ADDR_LEN) == 0)
            return;
        // The client moved (roaming): the session follows it.
        Client &old = clients_[found->second.client];
        if (old.live_sessions && --old.live_sessions == 0)
            old.last_end = now;
        found->second.client = public_address.addr;
        Client &moved = clients_[public_address.addr];
        moved.session = key;
        // The same connection, from another address: it keeps its start.
        if (!moved.history.started() && old.history.started())
            moved.history.connected(*old.history.started());
        moved.live_sessions++;
        return;
    }
    Client &client = clients_[public_address.addr];
    client.session = key;
    if (client.live_sessions == 0) {
        // Back within the storm window after its last session ended: the client reconnected.
        if (client.last_end != Clock::time_point{} && now - client.last_end <= policy_.storm.storm_window) {
            record_reconnect(public_address.addr, client, now);
        } else if (now - started_ >= policy_.storm.early_reconnect) {
            // A new connection. Within the first early_reconnect of the tracker's run a session
            // may as well have been up long before (every session is found again after a
            // restart): its start is unknown, and it is no new connection.
            client.history.connected(now);
            ++connections_;
        }
    }
    client.live_sessions++;
    sessions_.emplace(key, Session{session, public_address.addr, source, now, std::nullopt, std::nullopt});
}

void TransportTracker::unbind(const Prefix &session, Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto found = sessions_.find(session.to_string());
    if (found == sessions_.end())
        return;
    Client &client = clients_[found->second.client];
    if (client.live_sessions && --client.live_sessions == 0)
        client.last_end = now;
    sessions_.erase(found);
}

void TransportTracker::reconnect(const Prefix &session, Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto found = sessions_.find(session.to_string());
    if (found != sessions_.end())
        record_reconnect(found->second.client, clients_[found->second.client], now);
}

bool TransportTracker::tracks(const Prefix &session) const
{
    std::lock_guard lock(mutex_);
    return sessions_.count(session.to_string()) != 0;
}

std::optional<mg_transport> TransportTracker::decide(Session &session, const mg_client_obs &obs,
                                                     Clock::time_point now, std::string &evidence) const
{
    const auto timeout = policy_.dtls_idle_timeout;
    const auto dtls_in = stamp(obs.last_dtls_in_ns), dtls_out = stamp(obs.last_dtls_out_ns);
    const auto tls = stamp(obs.last_tls_ns);
    // DTLS was last alive when the older of its two directions was last seen.
    std::optional<Clock::time_point> dtls_alive;
    if (dtls_in && dtls_out)
        dtls_alive = std::min(*dtls_in, *dtls_out);
    // The TLS count restarts whenever DTLS shows life anew; what TLS carried before the first look
    // proves nothing either.
    if (!session.tls_at_dtls || dtls_alive != session.dtls_alive) {
        session.tls_at_dtls = obs.tls_packets;
        session.dtls_alive = dtls_alive;
    }
    const uint64_t tls_since = obs.tls_packets - std::min<uint64_t>(obs.tls_packets, *session.tls_at_dtls);
    if (within(dtls_in, now, timeout) && within(dtls_out, now, timeout)) {
        evidence = "DTLS datagrams both ways (from the client " + seconds_ago(dtls_in, now) + ")";
        return MG_TRANSPORT_DTLS;
    }
    // Only once the tracker (and the session) has watched for a whole timeout: a restarted daemon
    // has no DTLS history yet and must not read its absence as a fallback.
    const bool watched = now - std::max(started_, session.since) > timeout;
    if (within(tls, now, timeout) && !within(dtls_alive, now, timeout) && watched &&
        tls_since > kTlsKeepaliveSegments) {
        evidence = "TLS busy (" + std::to_string(tls_since) + " segments from the client since DTLS was last seen, " +
                   "the last " + seconds_ago(tls, now) + "), no DTLS both ways since " + seconds_ago(dtls_alive, now);
        if (obs.dtls_hellos)
            evidence += ", " + std::to_string(obs.dtls_hellos) + " DTLS ClientHellos seen";
        return MG_TRANSPORT_TLS;
    }
    return std::nullopt;
}

std::string TransportTracker::who(const mg_addr &address, const Client &client)
{
    return (client.session.empty() ? std::string("a client") : client.session) + " (client " +
           mapped_prefix(address).to_string() + ")";
}

void TransportTracker::log_patterns(Clock::time_point now)
{
    for (auto &[address, client] : clients_) {
        const bool storm = client.history.storm(now, policy_.storm),
                   periodic = client.history.periodic(now, policy_.storm);
        if (storm != client.storm)
            (storm ? log::warning : log::info)(
                "reconnect storm " + std::string(storm ? "started" : "ended") + ": " + who(address, client) + ", " +
                std::to_string(client.history.count_total()) + " reconnects so far");
        if (periodic != client.periodic) {
            const auto interval = client.history.typical_interval_seconds(policy_.storm);
            (periodic ? log::warning : log::info)(
                std::string(periodic ? "periodic reconnects: " : "no longer reconnecting periodically: ") + who(address, client) +
                (periodic && interval ? ", every ~" + std::to_string(int(*interval + 0.5)) + " s" : ""));
        }
        client.storm = storm;
        client.periodic = periodic;
    }
}

std::vector<TransportChange> TransportTracker::tick(Clock::time_point now, const Lookup &lookup)
{
    std::lock_guard lock(mutex_);
    std::vector<TransportChange> changes;
    // New TLS connections, from clients with a live session or one that ended recently.
    for (auto &[address, client] : clients_) {
        const auto obs = lookup(address);
        if (!obs)
            continue;
        // The first look sets the baseline: the session's own first connection came before it.
        if (client.seen_syns && obs->tls_syns > *client.seen_syns)
            record_reconnect(address, client, stamp(obs->last_syn_ns).value_or(now));
        client.seen_syns = obs->tls_syns;
    }
    if (policy_.transport_tracking) {
        for (auto &[key, session] : sessions_) {
            const auto obs = lookup(session.client);
            if (!obs)
                continue;
            std::string evidence;
            const auto decided = decide(session, *obs, now, evidence);
            if (decided && decided != session.observed) {
                session.observed = decided;
                changes.push_back({session.prefix, *decided, evidence});
            }
        }
    }
    log_patterns(now);
    forget_idle_clients(now);
    return changes;
}

void TransportTracker::count_change(mg_transport to)
{
    std::lock_guard lock(mutex_);
    changes_to_[to]++;
}

void TransportTracker::forget_idle_clients(Clock::time_point now)
{
    for (auto it = clients_.begin(); it != clients_.end();) {
        const Client &client = it->second;
        if (client.live_sessions == 0 && now - client.last_end > policy_.storm.storm_window)
            it = clients_.erase(it);
        else
            ++it;
    }
}

TrackedSession TransportTracker::describe(const Session &session, Clock::time_point now) const
{
    TrackedSession out;
    out.session = session.prefix;
    out.public_address.addr = session.client;
    out.public_address.ipv4 = std::memcmp(session.client.bytes, map_ipv4(0).bytes, 12) == 0;
    out.public_address.length = out.public_address.ipv4 ? 32 : 128;
    out.source = session.source;
    out.observed = session.observed;
    auto client = clients_.find(session.client);
    if (client != clients_.end()) {
        const ReconnectHistory &history = client->second.history;
        out.reconnects = history.count_total();
        out.early_reconnects = history.count_early();
        out.storm = history.storm(now, policy_.storm);
        out.periodic = history.periodic(now, policy_.storm);
        out.typical_interval_seconds = history.typical_interval_seconds(policy_.storm);
        out.recent_intervals_seconds = history.recent_intervals_seconds();
    }
    return out;
}

TrackerSummary TransportTracker::summary(Clock::time_point now) const
{
    std::lock_guard lock(mutex_);
    TrackerSummary out;
    out.tracked_sessions = sessions_.size();
    out.reconnects = reconnects_;
    out.connections = connections_;
    out.early_reconnects = early_reconnects_;
    out.changes_to = changes_to_;
    for (const auto &[key, session] : sessions_) {
        const TrackedSession d = describe(session, now);
        out.sessions_in_storm += d.storm;
        out.periodic_sessions += d.periodic;
    }
    return out;
}

std::vector<TrackedSession> TransportTracker::sessions(Clock::time_point now) const
{
    std::lock_guard lock(mutex_);
    std::vector<TrackedSession> out;
    out.reserve(sessions_.size());
    for (const auto &[key, session] : sessions_)
        out.push_back(describe(session, now));
    return out;
}

} // namespace mtuguard
