// Whole frames out of one interface through a packet socket (AF_PACKET, SOCK_RAW), bypassing the
// queueing discipline: each frame is handed straight to the device, a veth here, whose peer's XDP
// program sees it like any other. For the tools that send real traffic (tests/tools/flood.cpp,
// bench/live_tool.cpp); it needs CAP_NET_RAW only.
#pragma once

#include <cstdint>
#include <vector>

#include "packet.hpp"

namespace mtuguard::test {

class FrameSocket {
public:
    explicit FrameSocket(uint32_t ifindex);
    ~FrameSocket();
    FrameSocket(const FrameSocket &) = delete;
    FrameSocket &operator=(const FrameSocket &) = delete;

    // Sends frames[0..n) in order, in one sendmmsg() where the device takes them all; returns how
    // many it took. Each refused one (a full ring, the peer's NAPI behind) is skipped and counted
    // in `refused`, never as sent.
    uint64_t send(std::vector<Bytes> &frames, size_t n, uint64_t &refused);

private:
    int fd_;
};

// Sets an IPv4 frame's (Ethernet, no VLAN) source or destination address and its header checksum.
void set_ipv4_address(Bytes &frame, bool source, uint32_t address);

} // namespace mtuguard::test
