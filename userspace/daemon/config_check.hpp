// mtuguardd --check-config: everything the daemon would check before it touches the kernel, and
// what it would run, without loading or attaching anything.
#pragma once

#include <string>

#include "config/config.hpp"

namespace mtuguard {

// Throws ConfigError naming what is wrong: an interface that does not exist or cannot be
// enforced, an occtl that cannot be run.
void check_config(const Config &config);

// What the daemon would run with `config`, one fact per line.
std::string describe_config(const Config &config);

} // namespace mtuguard
