// The user-space side of live_frames.bpf.c, for the live benchmark's tool (live_tool.cpp): one
// template frame built by the packet builder, the generator loaded for it, and runs of
// BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) that transmit its copies out
// of an interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tool_options.hpp"

struct live_frames_bpf;

namespace mtuguard::test {

// IPv4 UDP frames to port 9, `size` bytes at the IP layer, zero payload, from `src` to `dst`;
// the generator steps the source or the destination through `count` addresses from there.
struct LiveFramesSetup {
    std::string ifname; // the frames leave by it (named as the run's ingress interface)
    Mac src_mac{}, dst_mac{};
    std::string src, dst;
    uint16_t size = 1400;
    bool df = true;
    bool step_source = false; // else the destination
    uint32_t count = 1;
};

// Move-only: it owns the loaded object.
class LiveFrames {
public:
    explicit LiveFrames(const LiveFramesSetup &setup);

    // `frames` copies of the template out of the interface in one run, in batches of `batch`
    // (at most the veth's ring of 256): the kernel lets the peer's NAPI take each batch before
    // the next, so none is lost to a full ring.
    void send(uint32_t frames, uint32_t batch);
    // Where live frames are refused: live_fanout on `peer`, the far side of a veth that a packet
    // socket sends into, hands each frame it receives on through this interface `copies` times
    // as XDP frames, live_stamp writing each copy's headers (the next address). Detach it with
    // bpf_xdp_detach when done.
    void fan_out(uint32_t peer, uint32_t copies);
    uint32_t ifindex() const { return ifindex_; }
    const Bytes &frame() const { return frame_; }
    // The object, for its other programs (live_count, live_pass) and its counters.
    live_frames_bpf *skeleton() const { return skel_.get(); }

private:
    struct Destroy {
        void operator()(live_frames_bpf *skel) const;
    };
    uint32_t ifindex_;
    Bytes frame_;
    std::unique_ptr<live_frames_bpf, Destroy> skel_;
};

} // namespace mtuguard::test
