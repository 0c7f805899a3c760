// mtuguard_flood: real IPv4 frames out of an interface at a set rate, each from the next of a
// range of (spoofed) source addresses, for the hostile-traffic test (tests/e2e/hostile_test.sh).
//
// The frames are written whole by a packet socket (frame_socket.hpp) bound to the interface, here
// a veth toward the gateway, in sendmmsg() batches of --batch; a frame the device refuses is
// counted as refused, never as sent.
//
// Pacing: every --chunk-ms the frames due by then go out, so the rate holds over the run without
// a timer per frame.
//
//   mtuguard_flood --ifname IF --src-mac MAC --dst-mac MAC --dst ADDR --source ADDR
//                  [--sources N] [--size BYTES] --pps RATE --seconds S [--batch N] [--chunk-ms MS]
//
// The frames are UDP to port 9 with DF set, BYTES long at the IP layer (default 1400). Prints
// key=value lines: frames (handed to the interface), refused, seconds (first to last send), pps,
// first_ns and last_ns (CLOCK_MONOTONIC).
#include <time.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <string>
#include <vector>

#include "frame_socket.hpp"
#include "tool_options.hpp"

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
    std::map<std::string, std::string> options{{"sources", "1"}, {"size", "1400"}, {"batch", "64"}, {"chunk-ms", "2"}};
    for (const auto &[name, value] : parse_options(argc, argv, 1))
        options[name] = value;
    for (const char *required : {"ifname", "src-mac", "dst-mac", "dst", "source", "pps", "seconds"})
        if (!options.count(required))
            fail(std::string("--") + required + " is required");
    const uint32_t sources = std::stoul(options["sources"]);
    const auto size = uint16_t(std::stoul(options["size"]));
    const double pps = std::stod(options["pps"]), seconds = std::stod(options["seconds"]);
    const uint32_t batch = std::stoul(options["batch"]);
    const double chunk_ms = std::stod(options["chunk-ms"]);
    if (!sources || size < 28 || size > 1500 || pps <= 0 || seconds <= 0 || !batch || batch > 1024 || chunk_ms <= 0)
        fail("--sources, --size (28-1500), --pps, --seconds, --chunk-ms and --batch (at most 1024) must be positive");

    // The template, and `batch` copies of it whose source address and header checksum change
    // per frame.
    const Bytes frame = Ipv4Packet{.l2 = {.dst = parse_mac(options["dst-mac"]), .src = parse_mac(options["src-mac"])},
                                   .src = options["source"],
                                   .dst = options["dst"],
                                   .total_length = size,
                                   .df = true,
                                   .protocol = 17,
                                   .ttl = 64,
                                   .upper = udp_header(40000, 9, size - 20),
                                   .payload = Payload::Zero}
                            .build();
    const std::array<uint8_t, 4> first_source = ipv4(options["source"]);
    const uint32_t base = uint32_t(first_source[0]) << 24 | uint32_t(first_source[1]) << 16 |
                          uint32_t(first_source[2]) << 8 | first_source[3];
    std::vector<Bytes> frames(batch, frame);
    uint64_t sequence = 0;
    auto next_frames = [&](size_t n) {
        for (size_t i = 0; i < n; ++i)
            set_ipv4_address(frames[i], true, base + uint32_t(sequence++ % sources));
    };

    FrameSocket sock(ifindex_of(options["ifname"]));
    const uint64_t total = uint64_t(pps * seconds);
    const uint64_t chunk_ns = uint64_t(chunk_ms * 1e6);
    uint64_t sent = 0, refused = 0, first = 0, last = 0;
    const uint64_t start = now_ns();
    while (sent + refused < total) {
        const uint64_t due = std::min<uint64_t>(total, uint64_t(double(now_ns() - start) * pps / 1e9));
        if (due <= sent + refused) {
            timespec pause{0, long(chunk_ns)};
            nanosleep(&pause, nullptr);
            continue;
        }
        if (!first)
            first = now_ns();
        for (uint64_t left = due - sent - refused; left;) {
            const size_t n = size_t(std::min<uint64_t>(left, batch));
            next_frames(n);
            sent += sock.send(frames, n, refused);
            left -= n;
        }
        last = now_ns();
    }
    const double elapsed = double(last - first) / 1e9;
    std::cout << "frames=" << sent << "\nrefused=" << refused << "\nseconds=" << elapsed
              << "\npps=" << uint64_t(double(sent) / elapsed) << "\nfirst_ns=" << first << "\nlast_ns=" << last
              << "\n";
    return 0;
}

} // namespace

int main(int argc, char **argv) { return tool_main("mtuguard_flood", run, argc, argv); }
