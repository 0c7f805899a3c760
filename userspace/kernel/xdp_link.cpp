#include "kernel/xdp_link.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "kernel/pins.hpp"

namespace mtuguard {
namespace {

XdpMode attached_mode(uint32_t ifindex)
{
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(ifindex, 0, &query) == 0 && query.attach_mode == XDP_ATTACHED_SKB)
        return XdpMode::Generic;
    return XdpMode::Native;
}

std::optional<bpf_link_info> link_info(int fd)
{
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
        return std::nullopt;
    return info;
}

} // namespace

XdpLink XdpLink::attach(int program_fd, uint32_t ifindex, XdpMode mode, const std::string &pin_file)
{
    if (!pin_file.empty() && exists(pin_file)) {
        bpf_link_info info{};
        Fd fd = open_pinned(pin_file, "link", info);
        if (info.type != BPF_LINK_TYPE_XDP || info.xdp.ifindex != ifindex) {
            // The interface was deleted (the link is defunct) or renamed: start over.
            unlink(pin_file.c_str());
        } else {
            if (bpf_link_update(fd.get(), program_fd, nullptr) != 0)
                fail(errno, "swapping the program into pinned link " + pin_file);
            return XdpLink(std::move(fd), ifindex, attached_mode(ifindex), pin_file, true);
        }
    }

    auto try_mode = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
        return bpf_link_create(program_fd, ifindex, BPF_XDP, &opts);
    };
    int fd = -1;
    XdpMode used = mode;
    if (mode == XdpMode::Native || mode == XdpMode::Auto) {
        fd = try_mode(XDP_FLAGS_DRV_MODE);
        used = XdpMode::Native;
        // Busy means another program holds the hook: falling back would not help.
        if (fd < 0 && mode == XdpMode::Auto && fd != -EBUSY && fd != -EEXIST) {
            fd = try_mode(XDP_FLAGS_SKB_MODE);
            used = XdpMode::Generic;
        }
    } else {
        fd = try_mode(XDP_FLAGS_SKB_MODE);
    }
    if (fd == -EBUSY || fd == -EEXIST)
        fail(fd, "another XDP program is attached (see `ip link show`); detach it first");
    if (fd < 0)
        fail(fd, std::string("attaching XDP in ") + xdp_mode_name(used) + " mode");
    XdpLink link(Fd(fd), ifindex, used, pin_file, false);
    if (!pin_file.empty() && bpf_obj_pin(fd, pin_file.c_str()) != 0)
        fail(errno, "pinning the link at " + pin_file);
    return link;
}

XdpLink::~XdpLink()
{
    // A link made by a start-up that then failed must not outlive it.
    if (fd_ && !kept_ && !adopted_)
        unpin();
}

void XdpLink::unpin()
{
    if (!pin_.empty())
        unlink(pin_.c_str());
    pin_.clear();
}

uint32_t XdpLink::program_id() const
{
    std::optional<bpf_link_info> info = link_info(fd_.get());
    return info ? info->prog_id : 0;
}

// One syscall on the link itself: a netlink query per interface costs ~0.5 ms, which at 64
// interfaces made every scrape slow. The kernel reports ifindex 0 once the interface is gone or
// the link was detached from outside; while the link holds the hook nothing else can replace it.
bool XdpLink::attached() const
{
    std::optional<bpf_link_info> info = link_info(fd_.get());
    return info && info->xdp.ifindex == ifindex_;
}

} // namespace mtuguard
