// The table form (-o table) of the daemon's answers; -o json prints them as they came.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mtuguard::ctl {

// An ISO 8601 UTC time of the daemon's answers in local time with the zone; "-" for null.
std::string format_time(const nlohmann::json &iso);
void print_sessions(const nlohmann::json &reply);
void print_stats(const nlohmann::json &reply);
void print_tracking(const nlohmann::json &reply);
void print_status(const nlohmann::json &status);

} // namespace mtuguard::ctl
