// mtuguardctl's commands, one function each: what each asks the daemon and how it prints the
// answer.
#pragma once

#include "ctl/arguments.hpp"

namespace mtuguard::ctl {

// Runs the command the invocation names; returns the exit status. Throws Usage or Failure.
int run_command(const Invocation &in);

} // namespace mtuguard::ctl
