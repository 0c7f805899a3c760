// One tc attachment of a BPF program, owned: the observation programs on the client-facing
// interfaces (observer.hpp) and the MSS clamp on the enforced ones (mss_hooks.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/fd.hpp"

namespace mtuguard {

// One tc attachment (this program, one interface, one direction): a tcx link where the kernel
// has them (Linux 6.6), detached when its descriptor closes — also when the daemon is killed;
// else a classic cls_bpf filter on a clsact qdisc, which only CAP_NET_ADMIN can remove again
// (Observer::needs_net_admin_to_detach), with the qdisc removed too when told it owns it.
class TcFilter {
public:
    // The filter's identity on a clsact hook: fixed per program, so a filter a killed daemon
    // left behind is replaced rather than doubled, and ordered ahead of the default priority
    // the operator's filters get.
    struct Identity {
        const char *program; // what it is, for messages: "the observation program"
        uint32_t handle;
        uint32_t priority;
    };
    static constexpr Identity observe{"the observation program", 0x6d67 /* "mg" */, 0x3000};
    static constexpr Identity mss_clamp{"the MSS clamp", 0x6d73 /* "ms" */, 0x3001};

    // Throws std::system_error naming the interface.
    static TcFilter attach(int program_fd, uint32_t ifindex, bool ingress, const std::string &name,
                           const Identity &identity = observe);
    TcFilter(TcFilter &&other) noexcept;
    TcFilter &operator=(TcFilter &&) = delete;
    ~TcFilter();

    bool is_link() const { return bool(link_); }
    // The classic filter alone, as on a kernel without tcx (public for its test).
    static TcFilter attach_netlink(int program_fd, uint32_t ifindex, bool ingress, const std::string &name,
                                   const Identity &identity = observe);

private:
    TcFilter(uint32_t ifindex, bool ingress, Fd link, bool owns_qdisc, const Identity &identity)
        : ifindex_(ifindex), ingress_(ingress), link_(std::move(link)), owns_qdisc_(owns_qdisc),
          identity_(identity) {}
    uint32_t ifindex_ = 0;
    bool ingress_ = false;
    Fd link_;                  // tcx
    bool owns_qdisc_ = false;  // netlink: the clsact qdisc was made for this filter
    bool attached_ = false;    // netlink
    Identity identity_;
};

} // namespace mtuguard
