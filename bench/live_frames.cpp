// The live-frames generator loaded for one template frame, and its runs (live_frames.hpp).
#include "live_frames.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <cerrno>
#include <cstring>

#include "live_frames.skel.h"

namespace mtuguard::test {

LiveFrames::LiveFrames(const LiveFramesSetup &setup) : ifindex_(ifindex_of(setup.ifname))
{
    if (setup.size < 20 + 8 || setup.size > 1500 || !setup.count)
        fail("frames of 28-1500 bytes, and at least one address");
    frame_ = Ipv4Packet{.l2 = {.dst = setup.dst_mac, .src = setup.src_mac},
                        .src = setup.src,
                        .dst = setup.dst,
                        .total_length = setup.size,
                        .df = setup.df,
                        .protocol = 17,
                        .ttl = 64,
                        .upper = udp_header(40000, 9, setup.size - 20),
                        .payload = Payload::Zero}
                 .build();
    skel_.reset(live_frames_bpf__open());
    if (!skel_)
        fail("opening live_frames.bpf.o");
    const std::array<uint8_t, 4> first = ipv4(setup.step_source ? setup.src : setup.dst);
    uint32_t base;
    std::memcpy(&base, first.data(), 4);
    skel_->rodata->addr_base = ntohl(base);
    skel_->rodata->addr_count = setup.count;
    skel_->rodata->step_source = setup.step_source;
    static_assert(sizeof(skel_->rodata->headers) == 14 + 20 + 8);
    std::memcpy(const_cast<uint16_t *>(skel_->rodata->headers), frame_.data(), sizeof(skel_->rodata->headers));
    if (int err = live_frames_bpf__load(skel_.get()))
        fail(std::string("loading live_frames.bpf.o: ") + std::strerror(-err));
}

void LiveFrames::Destroy::operator()(live_frames_bpf *skel) const { live_frames_bpf__destroy(skel); }

void LiveFrames::fan_out(uint32_t peer, uint32_t copies)
{
    if (!copies || copies > bpf_map__max_entries(skel_->maps.fanout))
        fail("--fanout 1-" + std::to_string(bpf_map__max_entries(skel_->maps.fanout)));
    bpf_devmap_val to{.ifindex = ifindex_, .bpf_prog = {.fd = bpf_program__fd(skel_->progs.live_stamp)}};
    for (uint32_t k = 0; k < copies; ++k)
        if (bpf_map_update_elem(bpf_map__fd(skel_->maps.fanout), &k, &to, BPF_ANY))
            fail(std::string("filling the fan-out map: ") + std::strerror(errno));
    if (int err = bpf_xdp_attach(int(peer), bpf_program__fd(skel_->progs.live_fanout), XDP_FLAGS_DRV_MODE, nullptr))
        fail(std::string("attaching live_fanout: ") + std::strerror(-err));
}

void LiveFrames::send(uint32_t frames, uint32_t batch)
{
    // The run's context names the interface the frames leave by.
    xdp_md ctx{};
    ctx.data_end = uint32_t(frame_.size());
    ctx.ingress_ifindex = ifindex_;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame_.data(), .data_size_in = uint32_t(frame_.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = int(frames),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.live_gen), &opts))
        fail(std::string("BPF_PROG_TEST_RUN (live frames): ") + std::strerror(errno));
}

} // namespace mtuguard::test
