// Giving up privileges once start-up is done. Loading the program and creating its maps need
// CAP_BPF (and CAP_PERFMON for the verifier's pointer arithmetic on packet pointers), attaching
// XDP needs CAP_NET_ADMIN, handing the control socket to group mtuguard needs CAP_CHOWN. After
// that the daemon only updates maps through descriptors it already holds, reads them, closes
// links and unlinks its own pins and socket: none of that takes a capability.
#pragma once

#include <cstdint>

namespace mtuguard {

// Clears the permitted, effective, inheritable and ambient sets of the calling thread, drops
// the bounding set where allowed (CAP_SETPCAP) and sets no_new_privs, so that nothing, not even
// an execve as uid 0, brings a capability back. `for_children` (a mask of CAP_* bits) stays
// permitted and inheritable but not effective: only the programs the daemon runs get it. occtl
// needs CAP_DAC_OVERRIDE, since ocserv hands its socket to its unprivileged user. Capabilities
// belong to threads: call it before starting any thread. Throws std::system_error.
// `keep` (a mask) stays permitted, not effective, for raise_capabilities at exit.
void drop_capabilities(uint64_t for_children = 0, uint64_t keep = 0);

// Makes permitted capabilities of `mask` effective again (best effort; false when refused).
bool raise_capabilities(uint64_t mask);

} // namespace mtuguard
