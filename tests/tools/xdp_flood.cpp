// mtuguard_xdp_flood: real IPv4 frames out of an interface at a set rate, each from the next of a
// range of (spoofed) source addresses, for the hostile-traffic test (tests/e2e/hostile_test.sh).
// The frames are made by BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES): the
// kernel runs live_frames.bpf.c's live_gen on each copy of one template frame and transmits what
// it returns XDP_TX for out of the interface named as the ingress, here a veth toward the
// gateway, whose peer's XDP program sees them like any other.
//
// Pacing: setting up a live-frames run costs the kernel about 2 ms (a page pool), so a run per
// few frames tops out near 30 000 pps. Each run therefore carries --chunk-ms worth of frames,
// started when the rate says they are due; inside a run the kernel sends them in batches of
// --batch (at most the veth's ring of 256) and lets the peer's NAPI take each batch before the
// next (bottom halves are enabled between batches), so none is lost to a full ring.
//
//   mtuguard_xdp_flood --ifname IF --src-mac MAC --dst-mac MAC --dst ADDR --source ADDR
//                      [--sources N] [--size BYTES] --pps RATE --seconds S [--batch N]
//                      [--chunk-ms MS]
//
// The frames are UDP to port 9 with DF set, BYTES long at the IP layer (default 1400). Prints
// key=value lines: frames (sent), seconds (first to last run), pps, first_ns and last_ns
// (CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns).
#include <time.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>

#include "live_frames.hpp"

using namespace mtuguard::test;

namespace {

uint64_t now_ns()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000ull + uint64_t(t.tv_nsec);
}

int run(int argc, char **argv)
{
    std::map<std::string, std::string> options{{"sources", "1"}, {"size", "1400"}, {"batch", "64"}, {"chunk-ms", "20"}};
    for (const auto &[name, value] : parse_options(argc, argv, 1))
        options[name] = value;
    for (const char *required : {"ifname", "src-mac", "dst-mac", "dst", "source", "pps", "seconds"})
        if (!options.count(required))
            fail(std::string("--") + required + " is required");
    const uint32_t sources = std::stoul(options["sources"]);
    const auto size = uint16_t(std::stoul(options["size"]));
    const double pps = std::stod(options["pps"]), seconds = std::stod(options["seconds"]);
    const uint32_t batch = std::stoul(options["batch"]);
    const uint64_t chunk = std::max<uint64_t>(1, uint64_t(pps * std::stod(options["chunk-ms"]) / 1000));
    if (!sources || size < 28 || size > 1500 || pps <= 0 || seconds <= 0 || !batch || batch > 256)
        fail("--sources, --size (28-1500), --pps, --seconds, --chunk-ms and --batch (at most 256) must be positive");

    // 1. The program, told its source range and the frame's headers before it is loaded.
    LiveFrames frames({.ifname = options["ifname"],
                       .src_mac = parse_mac(options["src-mac"]),
                       .dst_mac = parse_mac(options["dst-mac"]),
                       .src = options["source"],
                       .dst = options["dst"],
                       .size = size,
                       .step_source = true,
                       .count = sources});

    // 2. Runs of `chunk` frames, each when the rate says it is due.
    const uint64_t total = uint64_t(pps * seconds);
    uint64_t sent = 0, first = 0, last = 0;
    const uint64_t start = now_ns();
    while (sent < total) {
        const uint64_t due = uint64_t(double(now_ns() - start) * pps / 1e9);
        if (due < sent + chunk && due < total) {
            timespec pause{0, 200'000};
            nanosleep(&pause, nullptr);
            continue;
        }
        const uint32_t n = uint32_t(std::min<uint64_t>(chunk, total - sent));
        if (!first)
            first = now_ns();
        frames.send(n, batch);
        last = now_ns();
        sent += n;
    }
    const double elapsed = double(last - first) / 1e9;
    std::cout << "frames=" << sent << "\nseconds=" << elapsed << "\npps=" << uint64_t(double(sent) / elapsed)
              << "\nfirst_ns=" << first << "\nlast_ns=" << last << "\n";
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::cerr << "mtuguard_xdp_flood: " << e.what() << "\n";
        return 1;
    }
}
