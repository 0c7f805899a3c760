// mtuguard_live: real frames through a namespace gateway, for bench/live_bench.sh.
//
//   mtuguard_live send --ifname IF --src-mac MAC --dst-mac MAC --src ADDR --dst ADDR
//                      [--dsts N] [--size BYTES] [--df 0|1] --seconds S [--cpu N] [--count-replies]
//   mtuguard_live attach --ifname IF --program pass|count
//
// send: BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) runs live.bpf.c's
// live_gen on copies of one template frame and transmits each out of IF (XDP_TX with IF as the
// ingress interface), as fast as one CPU can make them, for S seconds: IPv4 UDP frames of BYTES
// at the IP layer, to the next of N destinations from ADDR up. The kernel hands each batch to the
// veth peer and lets its NAPI run before the next batch, on this CPU: the frames are forwarded by
// the gateway in the same softirq, so the rate is what the whole path sustains. With
// --count-replies, live_count is attached to IF first and counts what comes back (the ICMP errors
// the gateway sends). Prints key=value lines: frames, seconds, pps, replies, frag_needed, and the
// CPU's time split (cpu_user_s, cpu_system_s, cpu_softirq_s, cpu_busy_s) from /proc/stat.
//
// attach: live_pass or live_count on IF in native mode, left attached when the tool exits (a veth
// needs an XDP program on the side that receives XDP_TX frames).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_live.skel.h"

namespace {

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

double now_s()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

void parse_mac(const std::string &text, uint8_t *out)
{
    unsigned b[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
        6)
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

// The CPU's jiffies from /proc/stat: user + nice, system, irq + softirq, and all but idle.
struct CpuTimes {
    double user = 0, system = 0, softirq = 0, busy = 0;
};

CpuTimes cpu_times(int cpu)
{
    std::ifstream stat("/proc/stat");
    std::string line, want = "cpu" + std::to_string(cpu);
    while (std::getline(stat, line)) {
        std::istringstream in(line);
        std::string name;
        in >> name;
        if (name != want)
            continue;
        double v[10] = {};
        for (double &x : v)
            in >> x;
        const double hz = 100; // USER_HZ
        CpuTimes t;
        t.user = (v[0] + v[1]) / hz;
        t.system = v[2] / hz;
        t.softirq = (v[5] + v[6]) / hz;
        t.busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
        return t;
    }
    fail("no " + want + " in /proc/stat");
}

int pin_cpu(int cpu)
{
    cpu_set_t set;
    if (cpu < 0) {
        if (sched_getaffinity(0, sizeof(set), &set))
            fail("reading the CPU affinity");
        for (int c = CPU_SETSIZE - 1; c >= 0; --c)
            if (CPU_ISSET(c, &set)) {
                cpu = c;
                break;
            }
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        fail("pinning to CPU " + std::to_string(cpu));
    return cpu;
}

std::vector<uint8_t> make_frame(const uint8_t *src_mac, const uint8_t *dst_mac, uint32_t src,
                                uint16_t size, bool df)
{
    std::vector<uint8_t> frame(sizeof(ethhdr) + size, 0);
    auto *eth = reinterpret_cast<ethhdr *>(frame.data());
    std::memcpy(eth->h_source, src_mac, ETH_ALEN);
    std::memcpy(eth->h_dest, dst_mac, ETH_ALEN);
    eth->h_proto = htons(ETH_P_IP);
    auto *ip = reinterpret_cast<iphdr *>(eth + 1);
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons(size);
    ip->frag_off = df ? htons(0x4000) : 0;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = src; // daddr and the checksum: per frame, by the program
    auto *udp = reinterpret_cast<udphdr *>(ip + 1);
    udp->source = htons(40000);
    udp->dest = htons(9);
    udp->len = htons(uint16_t(size - sizeof(iphdr)));
    return frame;
}

std::map<std::string, std::string> parse_options(int argc, char **argv, int first)
{
    std::map<std::string, std::string> options;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0)
            fail("unexpected " + a);
        if (a == "--count-replies") {
            options["count-replies"] = "1";
            continue;
        }
        if (i + 1 >= argc)
            fail(a + " needs a value");
        options[a.substr(2)] = argv[++i];
    }
    return options;
}

uint32_t ifindex_of(const std::string &name)
{
    uint32_t ifindex = if_nametoindex(name.c_str());
    if (!ifindex)
        fail("no interface " + name);
    return ifindex;
}

int attach(std::map<std::string, std::string> o)
{
    const uint32_t ifindex = ifindex_of(o.at("ifname"));
    bench_live_bpf *skel = bench_live_bpf__open_and_load();
    if (!skel)
        fail("loading live.bpf.o");
    const std::string which = o.at("program");
    bpf_program *prog = which == "pass"    ? skel->progs.live_pass
                        : which == "count" ? skel->progs.live_count
                                           : nullptr;
    if (!prog)
        fail("--program pass|count");
    if (int err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, nullptr))
        fail("attaching to " + o.at("ifname") + ": " + std::strerror(-err));
    bench_live_bpf__destroy(skel); // the attachment holds the program
    return 0;
}

int send(std::map<std::string, std::string> o)
{
    for (const char *required : {"ifname", "src-mac", "dst-mac", "src", "dst", "seconds"})
        if (!o.count(required))
            fail(std::string("--") + required + " is required");
    const int cpu = pin_cpu(o.count("cpu") ? std::stoi(o["cpu"]) : -1);
    const uint32_t ifindex = ifindex_of(o["ifname"]);
    uint8_t src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
    parse_mac(o["src-mac"], src_mac);
    parse_mac(o["dst-mac"], dst_mac);
    const auto size = uint16_t(std::stoul(o.count("size") ? o["size"] : "1400"));
    const uint32_t dsts = std::stoul(o.count("dsts") ? o["dsts"] : "1");
    const bool df = !o.count("df") || o["df"] != "0";
    const double seconds = std::stod(o["seconds"]);
    if (size < sizeof(iphdr) + sizeof(udphdr) || size > 1500 || !dsts || seconds <= 0)
        fail("--size 28-1500, --dsts and --seconds must be positive");

    bench_live_bpf *skel = bench_live_bpf__open();
    if (!skel)
        fail("opening live.bpf.o");
    skel->rodata->dst_base = ntohl(parse_ipv4(o["dst"]));
    skel->rodata->dst_count = dsts;
    std::vector<uint8_t> frame = make_frame(src_mac, dst_mac, parse_ipv4(o["src"]), size, df);
    static_assert(sizeof(skel->rodata->headers) == sizeof(ethhdr) + sizeof(iphdr) + sizeof(udphdr));
    std::memcpy(const_cast<uint16_t *>(skel->rodata->headers), frame.data(),
                sizeof(skel->rodata->headers));
    if (int err = bench_live_bpf__load(skel))
        fail(std::string("loading live.bpf.o: ") + std::strerror(-err));
    const bool count = o.count("count-replies");
    if (count) {
        if (int err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.live_count),
                                     XDP_FLAGS_DRV_MODE, nullptr))
            fail("attaching live_count to " + o["ifname"] + ": " + std::strerror(-err));
    }

    xdp_md ctx{};
    ctx.data_end = uint32_t(frame.size());
    ctx.ingress_ifindex = ifindex;
    const int prog = bpf_program__fd(skel->progs.live_gen);
    const int chunk = 1 << 18;
    uint64_t frames = 0;
    const CpuTimes cpu0 = cpu_times(cpu);
    const double start = now_s();
    double now = start;
    while (now - start < seconds) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                    .data_size_in = uint32_t(frame.size()), .ctx_in = &ctx,
                    .ctx_size_in = sizeof(ctx), .repeat = chunk,
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
        if (bpf_prog_test_run_opts(prog, &opts))
            fail(std::string("BPF_PROG_TEST_RUN (live frames): ") + std::strerror(errno));
        frames += chunk;
        now = now_s();
    }
    const CpuTimes cpu1 = cpu_times(cpu);
    // Let the last replies arrive before the counter is read.
    timespec pause{0, 50'000'000};
    nanosleep(&pause, nullptr);
    const double elapsed = now - start;
    std::printf("frames=%llu\nseconds=%.3f\npps=%.0f\n", (unsigned long long)frames, elapsed,
                frames / elapsed);
    if (count) {
        std::printf("replies=%llu\nfrag_needed=%llu\n", (unsigned long long)skel->bss->received,
                    (unsigned long long)skel->bss->frag_needed);
        bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
    }
    std::printf("cpu=%d\ncpu_user_s=%.2f\ncpu_system_s=%.2f\ncpu_softirq_s=%.2f\ncpu_busy_s=%.2f\n",
                cpu, cpu1.user - cpu0.user, cpu1.system - cpu0.system,
                cpu1.softirq - cpu0.softirq, cpu1.busy - cpu0.busy);
    bench_live_bpf__destroy(skel);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        if (argc < 2)
            fail("usage: mtuguard_live send|attach --ifname IF ... (see bench/live_tool.cpp)");
        const std::string command = argv[1];
        auto options = parse_options(argc, argv, 2);
        if (command == "send")
            return send(options);
        if (command == "attach")
            return attach(options);
        fail("unknown command " + command);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mtuguard_live: %s\n", e.what());
        return 1;
    }
}
