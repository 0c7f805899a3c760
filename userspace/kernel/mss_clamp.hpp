// The MSS clamp on one interface: the enforcement object's two tc programs (bpf/mss.bpf.h) on
// its ingress and its egress, attached as the observation programs are (tcx where the kernel
// has it, else a clsact filter). Both or neither: a failure half-way detaches what was made,
// and both come off when this goes.
#pragma once

#include <cstdint>
#include <string>

#include "kernel/datapath.hpp"
#include "kernel/tc_filter.hpp"

namespace mtuguard {

class MssClamp {
public:
    // Throws std::system_error naming the interface.
    MssClamp(const Datapath &datapath, uint32_t ifindex, const std::string &name);

    // "tcx" (links, gone with this process) or "clsact" (classic filters).
    const char *hook() const { return ingress_.is_link() ? "tcx" : "clsact"; }

private:
    TcFilter ingress_; // declared first, so destroyed last: it may own the clsact qdisc
    TcFilter egress_;
};

} // namespace mtuguard
