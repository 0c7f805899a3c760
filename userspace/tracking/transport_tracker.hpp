// The transport tracker: which data channel each session rides right now, and which clients
// keep reconnecting. It ties sessions (tunnel addresses, from the session sources) to their
// clients' public addresses and reads what the observation program saw of those clients:
//
//  - DTLS: DTLS datagrams both ways within --dtls-idle-timeout. Both, because a client whose
//    DTLS is blocked keeps sending ClientHellos that never get an answer.
//  - TLS: no DTLS both ways for longer than the timeout while TLS carries more than keepalives:
//    over kTlsKeepaliveSegments segments from the client since DTLS was last seen both ways. A
//    session whose two channels only exchange keepalives (DPD every --dtls-idle-timeout or so)
//    keeps its transport when a DTLS keepalive comes a little late: nothing proves a change.
//  - A reconnect: a new TLS connection (SYN) from a client with a live or recently ended
//    session, a session that comes back for a client whose last one ended within the storm
//    window, or a session source saying so. Reports of one reconnect that arrive close together
//    (the SYN, then occtl's new ID) count once (StormPolicy::debounce).
//  - A connection: a client's session seen starting (a session for a client that had none
//    live, not back within the storm window), or a reconnect. A reconnect at most
//    --early-reconnect after the start of its client's connection is early (ReconnectHistory).
//
// Reconnect history belongs to the client (its public address), not to the session entry, so it
// survives the session being removed and re-added on every reconnect. Everything is bounded:
// clients without a live session are forgotten after the storm window.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "mtuguard_kern_user.h"
#include "tracking/reconnect_detector.hpp"

namespace mtuguard {

// TLS segments from a client that keepalives and DPD on the TLS channel may make while DTLS is
// quiet for a timeout: a keepalive, the answer to the headend's DPD, their ACKs, and room for
// one late period. More is traffic riding TLS.
inline constexpr uint64_t kTlsKeepaliveSegments = 8;

struct TrackerPolicy {
    bool transport_tracking = true; // off: transports stay as configured; reconnects still count
    std::chrono::milliseconds dtls_idle_timeout{10000};
    StormPolicy storm;
};

struct TransportChange {
    Prefix session;
    mg_transport transport;
    std::string evidence; // for the log line
};

struct TrackerSummary {
    uint64_t tracked_sessions = 0; // live sessions with a known client address
    uint64_t reconnects = 0;       // since start
    uint64_t connections = 0;      // connections seen starting since start, reconnects included
    uint64_t early_reconnects = 0; // reconnects within --early-reconnect of their connection's start
    uint64_t sessions_in_storm = 0;
    uint64_t periodic_sessions = 0;
    std::array<uint64_t, MG_TRANSPORT_COUNT> changes_to{}; // applied by the caller (count_change)
};

struct TrackedSession {
    Prefix session;
    Prefix public_address;
    mg_source source = MG_SOURCE_STATIC;
    std::optional<mg_transport> observed; // the tracker's last decision
    uint64_t reconnects = 0;              // the client's, merged
    uint64_t early_reconnects = 0;        // the client's early ones
    bool storm = false;
    bool periodic = false;
    std::optional<double> typical_interval_seconds;
    std::vector<double> recent_intervals_seconds; // oldest first
};

class TransportTracker {
public:
    using Clock = std::chrono::steady_clock;
    using Lookup = std::function<std::optional<mg_client_obs>(const mg_addr &public_address)>;

    TransportTracker(TrackerPolicy policy, Clock::time_point started);

    // A session whose client is at `public_address` (re-binding moves it to the new address).
    void bind(const Prefix &session, const Prefix &public_address, mg_source source, Clock::time_point now);
    // The session is gone; its client's history stays for the storm window.
    void unbind(const Prefix &session, Clock::time_point now);
    // A session source reports a reconnect of this session's client.
    void reconnect(const Prefix &session, Clock::time_point now);
    bool tracks(const Prefix &session) const;

    // Reads the observations and returns the sessions whose transport should change now.
    std::vector<TransportChange> tick(Clock::time_point now, const Lookup &lookup);
    void count_change(mg_transport to);

    TrackerSummary summary(Clock::time_point now) const;
    std::vector<TrackedSession> sessions(Clock::time_point now) const;
    const TrackerPolicy &policy() const { return policy_; }
    void set_policy(const TrackerPolicy &policy);

private:
    struct AddrLess {
        bool operator()(const mg_addr &a, const mg_addr &b) const;
    };
    struct Client {
        ReconnectHistory history;
        std::optional<uint64_t> seen_syns; // the SYN count already accounted for
        unsigned live_sessions = 0;
        Clock::time_point last_end{};       // when its last session ended (if live_sessions == 0)
        bool storm = false, periodic = false; // as last logged
        std::string session;                  // its last bound session, to name it in the log
    };
    struct Session {
        Prefix prefix;
        mg_addr client{};
        mg_source source = MG_SOURCE_STATIC;
        Clock::time_point since{};
        std::optional<mg_transport> observed;
        // The client's TLS segment count when DTLS was last seen alive both ways (or when first
        // looked at): what TLS carried since is the evidence of a fallback.
        std::optional<uint64_t> tls_at_dtls;
        std::optional<Clock::time_point> dtls_alive; // the DTLS stamp tls_at_dtls was taken at
    };

    void record_reconnect(const mg_addr &address, Client &client, Clock::time_point at);
    std::optional<mg_transport> decide(Session &session, const mg_client_obs &obs, Clock::time_point now,
                                       std::string &evidence) const;
    // Logs a client entering or leaving a reconnect storm or the periodic pattern.
    void log_patterns(Clock::time_point now);
    // "10.8.0.5 (client 198.51.100.7)" for the log: the client's last session and its address.
    static std::string who(const mg_addr &address, const Client &client);
    void forget_idle_clients(Clock::time_point now);
    TrackedSession describe(const Session &session, Clock::time_point now) const;

    mutable std::mutex mutex_; // the control socket's thread binds; the sources' thread ticks
    TrackerPolicy policy_;
    Clock::time_point started_;
    std::map<std::string, Session> sessions_; // by Prefix::to_string()
    std::map<mg_addr, Client, AddrLess> clients_;
    uint64_t reconnects_ = 0;
    uint64_t connections_ = 0;
    uint64_t early_reconnects_ = 0;
    std::array<uint64_t, MG_TRANSPORT_COUNT> changes_to_{};
};

} // namespace mtuguard
