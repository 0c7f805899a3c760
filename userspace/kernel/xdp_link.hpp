// One XDP attachment per interface, as a BPF link: released by its destructor, pinned when the
// start-up that made it succeeded, re-adopted (the new program swapped in) by the next daemon.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/fd.hpp"
#include "config/config.hpp"

namespace mtuguard {

// A BPF link attaching an XDP program to an interface. Unpinned, closing it detaches the
// program; pinned, the pin keeps it attached.
class XdpLink {
public:
    // With pin_file naming an existing pin: adopts that link and swaps `program_fd` in.
    // Otherwise attaches (auto: native first, then generic) and pins it at pin_file if given.
    // Throws std::system_error.
    static XdpLink attach(int program_fd, uint32_t ifindex, XdpMode mode, const std::string &pin_file = "");
    // A link to nothing, for an interface waited for: never attached, holds nothing.
    static XdpLink none() { return XdpLink(Fd(), 0, XdpMode::Auto, "", false); }
    XdpLink(XdpLink &&) noexcept = default;
    XdpLink &operator=(XdpLink &&) noexcept = default;
    ~XdpLink();

    XdpMode mode() const { return mode_; }
    uint32_t ifindex() const { return ifindex_; }
    bool adopted() const { return adopted_; }
    uint32_t program_id() const;
    // The interface's XDP program is still this link's program (asks the kernel).
    bool attached() const;
    // The start-up succeeded: the pin now outlives this object.
    void keep() { kept_ = true; }
    // Removes the pin: the program is detached when this object is destroyed.
    void unpin();

private:
    XdpLink(Fd fd, uint32_t ifindex, XdpMode mode, std::string pin, bool adopted)
        : fd_(std::move(fd)), ifindex_(ifindex), mode_(mode), pin_(std::move(pin)), adopted_(adopted) {}
    Fd fd_;
    uint32_t ifindex_ = 0;
    XdpMode mode_ = XdpMode::Auto;
    std::string pin_;
    bool adopted_ = false;
    bool kept_ = false;
};

} // namespace mtuguard
