// The Cisco ASA session source: syslog over UDP and TCP, its 722xxx messages turned into
// sessions, transports and reconnects. What it cannot use is counted (SourceEvent) and logged.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"
#include "config/config.hpp"
#include "sources/asa_syslog.hpp"
#include "sources/session_sink.hpp"

struct pollfd;

namespace mtuguard {

// ASA syslog on --syslog-listen: UDP datagrams and TCP streams (RFC 6587 framing).
class AsaSyslogSource {
public:
    // Binds both sockets (before privileges are dropped: port 514 needs them). Throws
    // std::runtime_error naming the address.
    AsaSyslogSource(const Config &config, SessionSink &sink);

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
        std::vector<SessionSpec> tunnel; // as made: the MTUs a headend threshold lowers
        Prefix public_address;
        uint32_t threshold = 0; // the last one the headend reported (722036, 722035); 0: none
    };
    void accept_client();
    void read_udp();
    bool read_tcp(Client &client); // false: closed
    void apply(const AsaMessage &message);
    void address_assigned(const AsaMessage &message, const std::string &key);
    void headend_threshold(const AsaMessage &message, Session &session);
    // The MTUs of a new session: its group's --asa-group, else those of the --session pool
    // prefix that covers its address, else the '*' group's; nullptr: none.
    const SessionSpec *spec_for(const std::string &group, const Prefix &address) const;

    const Config &config_;
    SessionSink &sink_;
    Fd udp_, tcp_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::map<std::string, Session> sessions_; // by group, user and public address
    // The key in sessions_ of each tunnel address, for 602101, which names no user.
    std::map<std::string, std::string> by_tunnel_;
    // Removes a session of sessions_ and its tunnel addresses from by_tunnel_.
    void forget(const std::string &key);
    std::set<std::string> warned_groups_; // groups without --asa-group, named in the log once
    bool warned_full_ = false;
};

} // namespace mtuguard
