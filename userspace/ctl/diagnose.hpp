// mtuguardctl diagnose: plain-word findings, each with a severity and advice, from the daemon's
// status, counters, tracking report and sessions, and optionally one session.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

namespace mtuguard::ctl {

nlohmann::json diagnose(const nlohmann::json &status, const nlohmann::json &stats, const nlohmann::json &tracking,
                        const nlohmann::json &sessions, const std::optional<nlohmann::json> &session);

} // namespace mtuguard::ctl
