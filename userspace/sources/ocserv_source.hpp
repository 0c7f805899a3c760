// The ocserv session source: occtl's list of users, polled, each user a session with the MTUs
// ocserv gives its tun device. What it cannot use is counted (SourceEvent) and logged, never
// fatal: a failed run keeps the sessions it made.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>

#include "common/fd.hpp"
#include "config/config.hpp"
#include "sources/occtl_users.hpp"
#include "sources/session_sink.hpp"

namespace mtuguard {

using SteadyClock = std::chrono::steady_clock;

// occtl --json show users, run every --ocserv-interval (never two at once), killed after
// --occtl-timeout. Sessions it made are removed when their user is gone from a list occtl gave.
class OcservSource {
public:
    OcservSource(const Config &config, SessionSink &sink);
    ~OcservSource();

    int fd() const { return output_.get(); } // occtl's output while it runs, else -1
    void on_readable();
    void on_tick(SteadyClock::time_point now);
    SteadyClock::time_point next_deadline() const;
    // Applies one list (public for tests of the diffing; on_readable calls it).
    void apply(const OcctlUsers &users);

private:
    struct Known {
        std::string id, full_session, connected_at;
        SessionSpec spec;
        bool dtls_cipher = false; // occtl listed a DTLS cipher: DTLS came up once
    };
    void start(SteadyClock::time_point now);
    void finish(bool timed_out);

    const Config &config_;
    SessionSink &sink_;
    std::map<std::string, Known> known_; // by the session's address
    pid_t child_ = -1;
    Fd output_;
    std::string buffer_;
    bool overflow_ = false;
    SteadyClock::time_point started_{}, next_run_{};
    bool last_failed_ = false; // log a failure once, and the recovery
};

} // namespace mtuguard
