// Interfaces coming and going while the daemon runs: an rtnetlink socket subscribed to link and
// address changes (RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR), read in the daemon's
// poll loop. It reports only which interfaces a change touched; the agent then asks the kernel
// how they are now (Agent::refresh_interfaces), so a coalesced, reordered or lost message (a full
// socket buffer) cannot leave it believing something the kernel no longer holds.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/fd.hpp"

namespace mtuguard {

struct LinkChanges {
    std::set<uint32_t> ifindexes; // links and addresses added, changed or removed
    std::set<std::string> names;  // names of the links among them
    bool overrun = false;         // messages were lost (ENOBUFS): look at every interface

    bool empty() const { return ifindexes.empty() && names.empty() && !overrun; }
};

class LinkMonitor {
public:
    // Subscribes in the calling thread's network namespace. Throws std::system_error.
    LinkMonitor();
    // Readable when changes are pending.
    int fd() const { return socket_.get(); }
    // Reads every pending message without blocking.
    LinkChanges read();

private:
    Fd socket_;
};

} // namespace mtuguard
