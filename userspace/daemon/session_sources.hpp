// Session sources that run beside the control socket, on a thread of their own: ocserv (occtl's
// list of users, polled) and Cisco ASA syslog (UDP and TCP), plus the transport tracker's
// periodic look at what the observation programs saw. Each source turns what it learns into the
// Agent's session operations, which lock for themselves; what it cannot use is counted
// (SourceEvent) and logged, never fatal: a source that fails keeps the sessions it made.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/agent.hpp"
#include "sources/asa_syslog.hpp"
#include "config/config.hpp"
#include "sources/occtl_users.hpp"

struct pollfd;

namespace mtuguard {

using SteadyClock = std::chrono::steady_clock;

// occtl --json show users, run every --ocserv-interval (never two at once), killed after
// --occtl-timeout. Sessions it made are removed when their user is gone from a list occtl gave.
class OcservSource {
public:
    OcservSource(const Config &config, Agent &agent);
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
    };
    void start(SteadyClock::time_point now);
    void finish(bool timed_out);

    const Config &config_;
    Agent &agent_;
    std::map<std::string, Known> known_; // by the session's address
    pid_t child_ = -1;
    Fd output_;
    std::string buffer_;
    bool overflow_ = false;
    SteadyClock::time_point started_{}, next_run_{};
    bool last_failed_ = false; // log a failure once, and the recovery
};

// ASA syslog on --syslog-listen: UDP datagrams and TCP streams (RFC 6587 framing).
class AsaSyslogSource {
public:
    // Binds both sockets (before privileges are dropped: port 514 needs them). Throws
    // std::runtime_error naming the address.
    AsaSyslogSource(const Config &config, Agent &agent);

    void add_fds(std::vector<pollfd> &fds) const;
    void on_events(const std::vector<pollfd> &fds, size_t first);
    // One syslog message, whatever it carried.
    void handle(std::string_view message);

private:
    struct Client {
        Fd fd;
        SyslogFramer framer;
    };
    struct Session {
        std::vector<Prefix> tunnel;
        Prefix public_address;
    };
    void accept_client();
    void read_udp();
    bool read_tcp(Client &client); // false: closed
    void apply(const AsaMessage &message);
    void address_assigned(const AsaMessage &message, const std::string &key);
    const SessionSpec *group_spec(const std::string &group) const;

    const Config &config_;
    Agent &agent_;
    Fd udp_, tcp_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::map<std::string, Session> sessions_; // by group, user and public address
    std::map<std::string, bool> warned_groups_;
};

class SessionSources {
public:
    // Opens what the sources need (sockets); nothing runs until start().
    SessionSources(const Config &config, Agent &agent);
    ~SessionSources(); // stops the thread
    void start();
    bool active() const;

private:
    void run();

    Agent &agent_;
    std::unique_ptr<OcservSource> ocserv_;
    std::unique_ptr<AsaSyslogSource> syslog_;
    Fd stop_;
    std::thread thread_;
};

} // namespace mtuguard
