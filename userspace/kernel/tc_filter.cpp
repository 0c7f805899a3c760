#include "kernel/tc_filter.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <system_error>

namespace mtuguard {
namespace {

bpf_tc_hook hook_for(uint32_t ifindex, bpf_tc_attach_point point)
{
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = int(ifindex);
    hook.attach_point = point;
    return hook;
}

} // namespace

// tcx attach types (Linux 6.6), newer than this system's uapi headers.
constexpr int attach_tcx_ingress = 46, attach_tcx_egress = 47;

TcFilter TcFilter::attach(int program_fd, uint32_t ifindex, bool ingress, const std::string &name,
                          const Identity &identity)
{
    Fd link(bpf_link_create(program_fd, int(ifindex),
                            bpf_attach_type(ingress ? attach_tcx_ingress : attach_tcx_egress), nullptr));
    if (link)
        return TcFilter(ifindex, ingress, std::move(link), false, identity);
    if (errno != EINVAL)
        fail(errno, std::string("attaching ") + identity.program + " to " + name + (ingress ? " ingress" : " egress"));
    return attach_netlink(program_fd, ifindex, ingress, name, identity); // a kernel without tcx
}

TcFilter TcFilter::attach_netlink(int program_fd, uint32_t ifindex, bool ingress, const std::string &name,
                                  const Identity &identity)
{
    const char *direction = ingress ? "ingress" : "egress";
    bpf_tc_hook hook = hook_for(ifindex, ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    // One clsact qdisc holds both directions; the ingress filter owns it when it made it (one
    // the operator has stays), and goes after the egress one (Observer::attach).
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        fail(err, "creating the clsact qdisc on " + name);
    TcFilter filter(ifindex, ingress, Fd(), ingress && err == 0, identity); // a throw now undoes the qdisc
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = program_fd;
    opts.handle = identity.handle;
    opts.priority = identity.priority;
    opts.flags = BPF_TC_F_REPLACE;
    if ((err = bpf_tc_attach(&hook, &opts)))
        fail(err, std::string("attaching ") + identity.program + " to " + name + " " + direction);
    filter.attached_ = true;
    return filter;
}

TcFilter::TcFilter(TcFilter &&other) noexcept
    : ifindex_(other.ifindex_), ingress_(other.ingress_), link_(std::move(other.link_)),
      owns_qdisc_(other.owns_qdisc_), attached_(other.attached_), identity_(other.identity_)
{
    other.ifindex_ = 0;
}

TcFilter::~TcFilter()
{
    if (!ifindex_ || link_)
        return; // a tcx link detaches as its descriptor closes
    bpf_tc_hook hook = hook_for(ifindex_, ingress_ ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    if (attached_) {
        bpf_tc_opts opts{};
        opts.sz = sizeof(opts);
        opts.handle = identity_.handle;
        opts.priority = identity_.priority;
        bpf_tc_detach(&hook, &opts); // fails harmlessly when the interface is gone
    }
    if (owns_qdisc_) {
        hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
        bpf_tc_hook_destroy(&hook);
    }
}

} // namespace mtuguard
