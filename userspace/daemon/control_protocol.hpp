// The control protocol: one JSON object per line in each direction.
//
//   {"command": "session.add", "sessions": ["10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls", ...]}
//   {"command": "session.del", "address": "10.8.0.5"}
//   {"command": "session.transport", "address": "10.8.0.5", "transport": "dtls"}
//   {"command": "session.list"}  or  {"command": "session.list", "address": "10.8.0.5"}
//     (at most "limit" sessions, default 10000; the answer's "total" counts them all)
//   {"command": "stats"}   {"command": "status"}   {"command": "detach"}
//
// Every answer has "ok"; a refusal has "error" (the result code: bad_request, unknown_command,
// not_found, too_large, map_full, failed) and "message". Every request is counted by result.
#pragma once

#include <string>
#include <string_view>

#include "daemon/agent.hpp"
#include "daemon/control_server.hpp"

namespace mtuguard {

ControlServer::Reply handle_control_request(Agent &agent, std::string_view request);
std::string refuse_control_request(Agent &agent, std::string_view reason);

} // namespace mtuguard
