// What a session source may do to the running sessions. The daemon's Agent implements it; the
// sources know nothing of the Agent, so they can be built and tested below it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "common/agent_view.hpp"
#include "common/session_spec.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

// A session operation refused; nothing was changed.
struct ControlFailure : std::runtime_error {
    ControlFailure(ControlResult result, const std::string &message) : std::runtime_error(message), result(result) {}
    ControlResult result;
};

class SessionSink {
public:
    virtual ~SessionSink() = default;
    // Each wholly applied or not at all (throw ControlFailure). Returns true when an existing
    // session was replaced.
    virtual bool add_session(const SessionSpec &spec, mg_source source) = 0;
    virtual void delete_session(const Prefix &prefix) = 0;
    virtual void set_transport(const Prefix &prefix, mg_transport transport) = 0;
    // This session's client reconnected.
    virtual void report_reconnect(const Prefix &prefix) = 0;
    virtual void count(SourceEvent event, uint64_t n = 1) = 0;
    // The sessions that came from `source` (an earlier daemon's included, re-adopted).
    virtual std::vector<SessionSpec> sessions_of(mg_source source) const = 0;
};

} // namespace mtuguard
