#include "kernel/mss_clamp.hpp"

namespace mtuguard {

MssClamp::MssClamp(const Datapath &datapath, uint32_t ifindex, const std::string &name)
    : ingress_(TcFilter::attach(datapath.mss_program_fd(true), ifindex, true, name, TcFilter::mss_clamp)),
      egress_(TcFilter::attach(datapath.mss_program_fd(false), ifindex, false, name, TcFilter::mss_clamp))
{
}

} // namespace mtuguard
