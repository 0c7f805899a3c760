// mtuguard_live: real frames through a namespace gateway, for bench/live_bench.sh.
//
//   mtuguard_live send --ifname IF --src-mac MAC --dst-mac MAC --src ADDR --dst ADDR
//                      [--dsts N] [--size BYTES] [--df 0|1] --seconds S [--cpu N] [--count-replies]
//                      [--generator live|socket|fanout [--through TX,RX] [--fanout N]]
//   mtuguard_live attach --ifname IF --program pass|count
//
// send: BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) runs
// live_frames.bpf.c's live_gen (through live_frames.hpp) on copies of one template frame and
// transmits each out of IF (XDP_TX with IF as the ingress interface), as fast as one CPU can make them, for S seconds: IPv4 UDP frames of BYTES
// at the IP layer, to the next of N destinations from ADDR up. The kernel hands each batch to the
// veth peer and lets its NAPI run before the next batch, on this CPU: the frames are forwarded by
// the gateway in the same softirq, so the rate is what the whole path sustains. With
// --count-replies, live_count is attached to IF first and counts what comes back (the ICMP errors
// the gateway sends). Prints key=value lines: frames, seconds, pps, replies, frag_needed, and the
// CPU's time split (cpu_user_s, cpu_system_s, cpu_softirq_s, cpu_busy_s) from /proc/stat.
// --generator socket makes the same frames and sends them through a packet socket instead
// (frame_socket.hpp; sendmmsg() batches of 64, also on this CPU: the veth hands each frame to the
// gateway in the same softirq), for kernels or containers that refuse live frames (they need
// CAP_SYS_RESOURCE); each frame costs the sender more, so the rates are lower and the share a
// program takes of them smaller. A frame the veth refuses is counted as refused (refused=).
// And a socket's buffer lacks the headroom XDP needs: a veth with an XDP program copies each into
// a new page first. --generator fanout avoids both: the socket sends into TX, one side of a veth
// pair of the sender's own; live_fanout on RX, its other side, hands each frame on through IF as
// N (--fanout, default 16) XDP frames, each given the next address by live_stamp, so the gateway
// receives XDP frames with headroom, as from live frames, and a socket frame's cost is shared by
// N. Every copy is counted as sent (frames=); a copy that finds the gateway's ring full is lost
// there, so forwarded is read at the receiver.
//
// attach: live_pass or live_count on IF in native mode, left attached when the tool exits (a veth
// needs an XDP program on the side that receives XDP_TX frames).
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sched.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "frame_socket.hpp"
#include "live_frames.hpp"
#include "live_frames.skel.h"

using namespace mtuguard::test;

namespace {

double now_s()
{
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
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

int attach(std::map<std::string, std::string> o)
{
    const uint32_t ifindex = ifindex_of(o.at("ifname"));
    live_frames_bpf *skel = live_frames_bpf__open_and_load();
    if (!skel)
        fail("loading live_frames.bpf.o");
    const std::string which = o.at("program");
    bpf_program *prog = which == "pass"    ? skel->progs.live_pass
                        : which == "count" ? skel->progs.live_count
                                           : nullptr;
    if (!prog)
        fail("--program pass|count");
    if (int err = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, nullptr))
        fail("attaching to " + o.at("ifname") + ": " + std::strerror(-err));
    live_frames_bpf__destroy(skel); // the attachment holds the program
    return 0;
}

int send(std::map<std::string, std::string> o)
{
    for (const char *required : {"ifname", "src-mac", "dst-mac", "src", "dst", "seconds"})
        if (!o.count(required))
            fail(std::string("--") + required + " is required");
    const int cpu = pin_cpu(o.count("cpu") ? std::stoi(o["cpu"]) : -1);
    const auto size = uint16_t(std::stoul(o.count("size") ? o["size"] : "1400"));
    const uint32_t dsts = std::stoul(o.count("dsts") ? o["dsts"] : "1");
    const double seconds = std::stod(o["seconds"]);
    if (size < 28 || size > 1500 || !dsts || seconds <= 0)
        fail("--size 28-1500, --dsts and --seconds must be positive");
    LiveFrames frames({.ifname = o["ifname"],
                       .src_mac = parse_mac(o["src-mac"]),
                       .dst_mac = parse_mac(o["dst-mac"]),
                       .src = o["src"],
                       .dst = o["dst"],
                       .size = size,
                       .df = !o.count("df") || o["df"] != "0",
                       .count = dsts});
    live_frames_bpf *skel = frames.skeleton();
    const bool count = o.count("count-replies");
    if (count) {
        if (int err = bpf_xdp_attach(frames.ifindex(), bpf_program__fd(skel->progs.live_count), XDP_FLAGS_DRV_MODE,
                                     nullptr))
            fail("attaching live_count to " + o["ifname"] + ": " + std::strerror(-err));
    }

    const std::string generator = o.count("generator") ? o["generator"] : "live";
    if (generator != "live" && generator != "socket" && generator != "fanout")
        fail("--generator live|socket|fanout");
    // The socket's frames: the template, each copy to the next destination.
    const uint32_t batch = 64;
    std::vector<Bytes> copies(generator == "live" ? 0 : batch, frames.frame());
    std::optional<FrameSocket> sock;
    uint32_t fanout_peer = 0, fanout = 1;
    if (generator == "socket")
        sock.emplace(frames.ifindex());
    if (generator == "fanout") {
        const std::string through = o.count("through") ? o["through"] : "";
        const size_t comma = through.find(',');
        if (comma == std::string::npos)
            fail("--generator fanout needs --through TX,RX: a veth pair, the socket sends into TX");
        fanout = std::stoul(o.count("fanout") ? o["fanout"] : "16");
        fanout_peer = ifindex_of(through.substr(comma + 1));
        frames.fan_out(fanout_peer, fanout);
        sock.emplace(ifindex_of(through.substr(0, comma)));
    }
    const std::array<uint8_t, 4> first = ipv4(o["dst"]);
    const uint32_t base = uint32_t(first[0]) << 24 | uint32_t(first[1]) << 16 | uint32_t(first[2]) << 8 | first[3];
    uint64_t sequence = 0, refused = 0;

    const uint32_t chunk = 1 << 18;
    uint64_t frames_sent = 0;
    const CpuTimes cpu0 = cpu_times(cpu);
    const double start = now_s();
    double now = start;
    while (now - start < seconds) {
        if (sock) {
            if (!fanout_peer) // a fanned-out copy gets its address from live_stamp
                for (Bytes &copy : copies)
                    set_ipv4_address(copy, false, base + uint32_t(sequence++ % dsts));
            frames_sent += sock->send(copies, batch, refused) * fanout;
        } else {
            frames.send(chunk, 64);
            frames_sent += chunk;
        }
        now = now_s();
    }
    const CpuTimes cpu1 = cpu_times(cpu);
    if (fanout_peer)
        bpf_xdp_detach(int(fanout_peer), XDP_FLAGS_DRV_MODE, nullptr);
    // Let the last replies arrive before the counter is read.
    timespec pause{0, 50'000'000};
    nanosleep(&pause, nullptr);
    const double elapsed = now - start;
    std::printf("generator=%s\nframes=%llu\nrefused=%llu\nseconds=%.3f\npps=%.0f\n", generator.c_str(),
                (unsigned long long)frames_sent, (unsigned long long)refused, elapsed, frames_sent / elapsed);
    if (count) {
        std::printf("replies=%llu\nfrag_needed=%llu\n", (unsigned long long)skel->bss->received,
                    (unsigned long long)skel->bss->frag_needed);
        bpf_xdp_detach(frames.ifindex(), XDP_FLAGS_DRV_MODE, nullptr);
    }
    std::printf("cpu=%d\ncpu_user_s=%.2f\ncpu_system_s=%.2f\ncpu_softirq_s=%.2f\ncpu_busy_s=%.2f\n", cpu,
                cpu1.user - cpu0.user, cpu1.system - cpu0.system, cpu1.softirq - cpu0.softirq,
                cpu1.busy - cpu0.busy);
    return 0;
}

int run(int argc, char **argv)
{
    if (argc < 2)
        fail("usage: mtuguard_live send|attach --ifname IF ... (see bench/live_tool.cpp)");
    const std::string command = argv[1];
    auto options = parse_options(argc, argv, 2, {"count-replies"});
    if (command == "send")
        return send(options);
    if (command == "attach")
        return attach(options);
    fail("unknown command " + command);
}

} // namespace

int main(int argc, char **argv) { return tool_main("mtuguard_live", run, argc, argv); }
