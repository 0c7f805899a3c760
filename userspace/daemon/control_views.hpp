// The control protocol's answers: the JSON shapes of `status`, `stats`, `tracking` and of one
// session in `session.list`, made from what the Agent reports. The field names are the protocol
// (mtuguardctl's -o json, and scripts that read it): they change here or nowhere.
#pragma once

#include <nlohmann/json.hpp>

#include "common/agent_view.hpp"
#include "daemon/agent.hpp"

namespace mtuguard {

nlohmann::json session_json(const SessionView &view);
nlohmann::json status_json(const AgentStatus &status);
nlohmann::json stats_json(const AgentView &agent);
nlohmann::json tracking_json(const TrackingReport &report);

} // namespace mtuguard
