// The packet socket of the traffic tools (frame_socket.hpp).
#include "frame_socket.hpp"

#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tool_options.hpp"

namespace mtuguard::test {

FrameSocket::FrameSocket(uint32_t ifindex) : fd_(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0))
{
    if (fd_ < 0)
        fail(std::string("packet socket: ") + std::strerror(errno));
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_ifindex = int(ifindex);
    if (bind(fd_, reinterpret_cast<sockaddr *>(&at), sizeof(at))) {
        close(fd_);
        fail(std::string("binding the packet socket: ") + std::strerror(errno));
    }
    // Straight to the driver: a refused frame is an error of its own send, not a silent drop in
    // a queue.
    int one = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
        close(fd_);
        fail(std::string("PACKET_QDISC_BYPASS: ") + std::strerror(errno));
    }
}

FrameSocket::~FrameSocket() { close(fd_); }

uint64_t FrameSocket::send(std::vector<Bytes> &frames, size_t n, uint64_t &refused)
{
    std::vector<iovec> iov(n);
    std::vector<mmsghdr> msgs(n);
    for (size_t i = 0; i < n; ++i) {
        iov[i] = {frames[i].data(), frames[i].size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t sent = 0;
    for (size_t at = 0; at < n;) {
        int r = sendmmsg(fd_, msgs.data() + at, unsigned(n - at), 0);
        if (r > 0) {
            sent += unsigned(r);
            at += unsigned(r);
        } else if (errno == ENOBUFS || errno == EAGAIN) {
            ++refused; // this frame was dropped by the device: go on with the next
            ++at;
        } else if (errno != EINTR) {
            fail(std::string("sending frames: ") + std::strerror(errno));
        }
    }
    return sent;
}

void set_ipv4_address(Bytes &frame, bool source, uint32_t address)
{
    uint8_t *ip = frame.data() + 14;
    for (int b = 0; b < 4; ++b)
        ip[(source ? 12 : 16) + b] = uint8_t(address >> (24 - 8 * b));
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (int w = 0; w < 20; w += 2)
        sum += uint32_t(ip[w]) << 8 | ip[w + 1];
    sum = (sum & 0xffff) + (sum >> 16);
    sum += sum >> 16;
    ip[10] = uint8_t(~sum >> 8);
    ip[11] = uint8_t(~sum);
}

} // namespace mtuguard::test
