// The program's global settings and clock, as it reads them from its .bss.
#pragma once

#include "config/config.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

// Settings as the program reads them: token-bucket fill times precomputed.
mg_settings make_settings(const Config &config);

// The program's clock (bpf/clock.bpf.h) for this kernel: its tick length and where jiffies start.
mg_clock program_clock();

} // namespace mtuguard
