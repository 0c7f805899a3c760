// mtuguard_xdp_flood: real IPv4 frames out of an interface at a set rate, each from the next of a
// range of (spoofed) source addresses, for the hostile-traffic test (tests/e2e/hostile_test.sh).
// The frames are made by BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES): the
// kernel runs xdp_flood.bpf.c on each copy of one template frame and transmits what it returns
// XDP_TX for out of the interface named as the ingress, here a veth toward the gateway, whose
// peer's XDP program sees them like any other.
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
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "xdp_flood.skel.h"

namespace {

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

uint64_t now_ns()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000ull + uint64_t(t.tv_nsec);
}

void parse_mac(const std::string &text, uint8_t *out)
{
    unsigned b[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        fail("not a MAC address: " + text);
    for (int i = 0; i < 6; ++i)
        out[i] = uint8_t(b[i]);
}

uint32_t parse_ipv4(const std::string &text)
{
    in_addr a;
    if (inet_pton(AF_INET, text.c_str(), &a) != 1)
        fail("not an IPv4 address: " + text);
    return a.s_addr;
}

// The headers are filled in aligned locals and copied into the frame: after the 14-byte
// Ethernet header the IP header is only 2-byte aligned.
std::vector<uint8_t> make_frame(const uint8_t *src_mac, const uint8_t *dst_mac, uint32_t dst, uint16_t size)
{
    std::vector<uint8_t> frame(sizeof(ethhdr) + size, 0);
    ethhdr eth{};
    std::memcpy(eth.h_source, src_mac, ETH_ALEN);
    std::memcpy(eth.h_dest, dst_mac, ETH_ALEN);
    eth.h_proto = htons(ETH_P_IP);
    iphdr ip{};
    ip.version = 4;
    ip.ihl = 5;
    ip.tot_len = htons(size);
    ip.frag_off = htons(0x4000); // DF
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.daddr = dst; // saddr and the checksum: per frame, by the program
    udphdr udp{};
    udp.source = htons(40000);
    udp.dest = htons(9);
    udp.len = htons(uint16_t(size - sizeof(iphdr)));
    std::memcpy(frame.data(), &eth, sizeof(eth));
    std::memcpy(frame.data() + sizeof(eth), &ip, sizeof(ip));
    std::memcpy(frame.data() + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
    return frame;
}

int run(int argc, char **argv)
{
    std::map<std::string, std::string> options{{"sources", "1"}, {"size", "1400"}, {"batch", "64"}, {"chunk-ms", "20"}};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strncmp(argv[i], "--", 2) != 0)
            fail(std::string("unexpected ") + argv[i]);
        options[argv[i] + 2] = argv[i + 1];
    }
    for (const char *required : {"ifname", "src-mac", "dst-mac", "dst", "source", "pps", "seconds"})
        if (!options.count(required))
            fail(std::string("--") + required + " is required");
    const uint32_t ifindex = if_nametoindex(options["ifname"].c_str());
    if (!ifindex)
        fail("no interface " + options["ifname"]);
    uint8_t src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
    parse_mac(options["src-mac"], src_mac);
    parse_mac(options["dst-mac"], dst_mac);
    const uint32_t sources = std::stoul(options["sources"]);
    const auto size = uint16_t(std::stoul(options["size"]));
    const double pps = std::stod(options["pps"]), seconds = std::stod(options["seconds"]);
    const uint32_t batch = std::stoul(options["batch"]);
    const uint64_t chunk = std::max<uint64_t>(1, uint64_t(pps * std::stod(options["chunk-ms"]) / 1000));
    if (!sources || size < sizeof(iphdr) + sizeof(udphdr) || size > 1500 || pps <= 0 || seconds <= 0 || !batch ||
        batch > 256)
        fail("--sources, --size (28-1500), --pps, --seconds, --chunk-ms and --batch (at most 256) must be positive");

    // 1. The program, told its source range and the frame's headers before it is loaded.
    xdp_flood_bpf *skel = xdp_flood_bpf__open();
    if (!skel)
        fail("opening the BPF object");
    skel->rodata->source_base = ntohl(parse_ipv4(options["source"]));
    skel->rodata->source_count = sources;
    std::vector<uint8_t> frame = make_frame(src_mac, dst_mac, parse_ipv4(options["dst"]), size);
    static_assert(sizeof(skel->rodata->headers) == sizeof(ethhdr) + sizeof(iphdr) + sizeof(udphdr));
    std::memcpy(const_cast<uint16_t *>(skel->rodata->headers), frame.data(), sizeof(skel->rodata->headers));
    if (int err = xdp_flood_bpf__load(skel); err)
        fail(std::string("loading the BPF program: ") + std::strerror(-err));
    const int prog = bpf_program__fd(skel->progs.xdp_flood);

    // 2. The run's context names the interface the frames leave by.
    xdp_md ctx{};
    ctx.data_end = uint32_t(frame.size());
    ctx.ingress_ifindex = ifindex;

    // 3. Runs of `chunk` frames, each when the rate says it is due.
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
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = uint32_t(frame.size()),
                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = int(n),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
        if (!first)
            first = now_ns();
        if (int err = bpf_prog_test_run_opts(prog, &opts); err)
            fail(std::string("BPF_PROG_TEST_RUN (live frames): ") + std::strerror(-err));
        last = now_ns();
        sent += n;
    }
    xdp_flood_bpf__destroy(skel);
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
