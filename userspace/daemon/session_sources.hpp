// The session sources' thread, beside the control socket: ocserv (occtl, polled) and Cisco ASA
// syslog (UDP and TCP), plus the transport tracker's periodic look at what the observation
// programs saw. The sources change sessions through the Agent's SessionSink, which locks for
// itself.
#pragma once

#include <memory>
#include <thread>

#include "common/fd.hpp"
#include "config/config.hpp"
#include "daemon/agent.hpp"
#include "sources/asa_source.hpp"
#include "sources/ocserv_source.hpp"

namespace mtuguard {

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
