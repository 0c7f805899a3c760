// mtuguard_ab: the enforcement program of two (or more) builds side by side. Each argument is a
// compiled bpf/mtuguard.bpf.o; all are loaded into one process, given the same interface entry and
// sessions, and run on the same frames, interleaved with the empty program, so a change in the
// machine's load moves every variant alike. Prints, per path, the median over the rounds of each
// variant's ns/packet divided by the empty program's measured just before it. This is how the
// report's "What was tried" figures were taken: the object of the commit before a change against
// the object after it.
//
//   mtuguard_ab [--rounds N] [--repeat N] [--sessions N] [--client-pool] OBJ.bpf.o
//               [[--client-pool] OBJ.bpf.o ...]
//
// An object built from bench/icmp_warm.bpf.c (which includes the program whole) is measured on the
// ICMP paths too: restore_then_mtuguard minus the mean of restore_only and shrink_then_restore plus
// the empty program, the upper bound the report judges.
// --client-pool before an object loads it with the client pools 10.0.0.0/12 and 2001:db8:8::/108
// (as `mtuguardd --client-pool`), its sessions in their slots instead of the hash maps; the same
// object may be given with and without it.
//
// Maps are filled by name through libbpf, so any build whose session maps keep today's keys and
// values can be compared.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <optional>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "kernel/client_pool.hpp"
#include "kernel/settings.hpp"
#include "icmp_warm.h"
#include "mtuguard_kern_user.h"

namespace {

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

double cpu_ns()
{
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

// Ethernet + IPv4 or IPv6 + a TCP or UDP header, `l3_len` bytes of IP, zero payload.
std::vector<uint8_t> frame(bool v6, const uint8_t *dst, uint16_t l3_len, bool tcp_syn)
{
    std::vector<uint8_t> f(14 + l3_len);
    f[0] = 2, f[5] = 1, f[6] = 2, f[11] = 2;
    put16(&f[12], v6 ? 0x86dd : 0x0800);
    uint8_t *ip = &f[14], *l4;
    const uint8_t proto = tcp_syn ? 6 : 17;
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, l3_len - 40);
        ip[6] = proto;
        ip[7] = 64;
        ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 0x10;
        std::memcpy(ip + 24, dst, 16);
        l4 = ip + 40;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, l3_len);
        put16(ip + 6, 0x4000);
        ip[8] = 64;
        ip[9] = proto;
        ip[12] = 198, ip[13] = 51, ip[14] = 100, ip[15] = 10;
        std::memcpy(ip + 16, dst, 4);
        l4 = ip + 20;
    }
    put16(l4, 40000);
    put16(l4 + 2, 443);
    if (tcp_syn) {
        l4[12] = 6 << 4; // 24-byte header: one MSS option
        l4[13] = 0x02;   // SYN
        l4[20] = 2, l4[21] = 4;
        put16(l4 + 22, 1460);
    }
    return f;
}

// The client pools --client-pool gives a variant: 2^20 addresses each, the sessions (10.8.0.1 and
// 2001:db8:8::1 up) inside.
constexpr uint32_t pool_first4 = 0x0a000000, pool_size = 1u << 20;
constexpr const char *pool_text4 = "10.0.0.0/12", *pool_text6 = "2001:db8:8::/108";

struct Variant {
    std::string path; // as shown: the object, and whether with client pools
    bpf_object *obj = nullptr;
    int fd = -1;
    int restore_only = -1, shrink_then_restore = -1, restore_then_mtuguard = -1; // icmp_warm objects only
    bpf_map *bss = nullptr;
};

bpf_map *map_named(bpf_object *obj, const char *name)
{
    bpf_map *m = bpf_object__find_map_by_name(obj, name);
    if (!m)
        fail(std::string("no map ") + name);
    return m;
}

void update(bpf_map *map, const void *key, const void *value)
{
    if (bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY))
        throw std::system_error(errno, std::generic_category(),
                                std::string("updating ") + bpf_map__name(map));
}

// Where global `name` lives in the object's .bss, from BTF.
// The offset of a global in the object's .bss; std::nullopt for one an older build lacks.
std::optional<size_t> bss_find(bpf_object *obj, const char *name)
{
    const btf *b = bpf_object__btf(obj);
    int id = b ? btf__find_by_name_kind(b, ".bss", BTF_KIND_DATASEC) : -1;
    if (id < 0)
        fail("no .bss in BTF");
    const btf_type *sec = btf__type_by_id(b, id);
    const btf_var_secinfo *vars = btf_var_secinfos(sec);
    for (int i = 0; i < btf_vlen(sec); ++i)
        if (!std::strcmp(btf__name_by_offset(b, btf__type_by_id(b, vars[i].type)->name_off), name))
            return vars[i].offset;
    return std::nullopt;
}

size_t bss_offset(bpf_object *obj, const char *name)
{
    if (auto offset = bss_find(obj, name))
        return *offset;
    fail(std::string("no global ") + name);
}

Variant load(const std::string &path, uint32_t sessions, bool client_pool)
{
    Variant v{path + (client_pool ? " (client pool)" : "")};
    v.obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!v.obj)
        fail("opening " + path);
    for (const char *name : {"mg_sessions4", "mg_sessions6"})
        if (bpf_map *m = bpf_object__find_map_by_name(v.obj, name))
            bpf_map__set_max_entries(m, std::max<uint32_t>(sessions * 2, 1024));
    // One slot per address of each pool, as the loader sizes them.
    if (client_pool)
        for (const char *name : {"mg_direct4", "mg_direct6"})
            if (bpf_map__set_max_entries(map_named(v.obj, name), pool_size))
                fail(std::string("sizing ") + name);
    if (bpf_object__load(v.obj))
        fail("loading " + path);
    v.fd = bpf_program__fd(bpf_object__find_program_by_name(v.obj, "mtuguard_xdp"));

    mg_iface iface{};
    iface.slot = 1;
    iface.mtu = 9000;
    iface.has_src4 = iface.has_src6 = 1;
    const uint8_t src4[4] = {192, 0, 2, 1}, src6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0xff, 0xff, 0,
                                                        0, 0, 0, 0, 0, 0, 1};
    std::memcpy(iface.icmp_src4, src4, 4);
    std::memcpy(iface.icmp_src6, src6, 16);
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(iface.mac, mac, sizeof(mac)); // builds before the interface's MAC ignore it
    iface.has_mac = 1;
    uint32_t lo = 1;
    update(map_named(v.obj, "mg_ifaces_direct"), &lo, &iface);
    // The settings global: the whole .bss, zero but for MSS clamping on.
    bpf_map *bss = nullptr, *m;
    bpf_object__for_each_map(m, v.obj) if (std::strstr(bpf_map__name(m), ".bss")) bss = m;
    if (!bss)
        fail("no .bss");
    std::vector<uint8_t> bss_value(bpf_map__value_size(bss));
    mg_settings settings{};
    settings.mss_clamp = 1;
    std::memcpy(bss_value.data() + bss_offset(v.obj, "mg_settings"), &settings, sizeof(settings));
    if (auto offset = bss_find(v.obj, "mg_clock")) { // builds since the jiffies clock
        const mg_clock clock = mtuguard::program_clock();
        std::memcpy(bss_value.data() + *offset, &clock, sizeof(clock));
    }
    if (client_pool) {
        const mg_client_pools pools = mtuguard::pools_setting(
            {mtuguard::parse_prefix(pool_text4), mtuguard::parse_prefix(pool_text6)});
        std::memcpy(bss_value.data() + bss_offset(v.obj, "mg_client_pools"), &pools,
                    sizeof(pools));
    }
    uint32_t zero = 0;
    update(bss, &zero, bss_value.data());
    v.bss = bss;
    if (auto *p = bpf_object__find_program_by_name(v.obj, "restore_only")) {
        v.restore_only = bpf_program__fd(p);
        v.shrink_then_restore =
            bpf_program__fd(bpf_object__find_program_by_name(v.obj, "shrink_then_restore"));
        v.restore_then_mtuguard =
            bpf_program__fd(bpf_object__find_program_by_name(v.obj, "restore_then_mtuguard"));
    }

    mg_session s{};
    s.dtls_mtu = 1400;
    s.tls_mtu = 1300;
    bpf_map *s4 = map_named(v.obj, client_pool ? "mg_direct4" : "mg_sessions4");
    bpf_map *s6 = map_named(v.obj, client_pool ? "mg_direct6" : "mg_sessions6");
    for (uint32_t n = 0; n < sessions; ++n) {
        if (client_pool) {
            // The slots: each address's offset in its pool.
            uint32_t slot4 = 0x0a080001 + n - pool_first4, slot6 = 1 + n;
            update(s4, &slot4, &s);
            update(s6, &slot6, &s);
            continue;
        }
        uint32_t a4 = htonl(0x0a080001 + n);
        update(s4, &a4, &s);
        uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 8};
        uint32_t low = htonl(1 + n);
        std::memcpy(a6 + 12, &low, 4);
        update(s6, a6, &s);
    }
    return v;
}

double run_ns(int fd, const std::vector<uint8_t> &f, int repeat)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = uint32_t(f.size()),
                .repeat = repeat);
    double start = cpu_ns();
    if (bpf_prog_test_run_opts(fd, &opts))
        throw std::system_error(errno, std::generic_category(), "BPF_PROG_TEST_RUN");
    return (cpu_ns() - start) / repeat;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int run(int argc, char **argv)
{
    int rounds = 15, repeat = 2'000'000;
    uint32_t sessions = 1000;
    std::vector<std::pair<std::string, bool>> objects; // the object, with client pools
    bool client_pool = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc)
            rounds = std::stoi(argv[++i]);
        else if (a == "--repeat" && i + 1 < argc)
            repeat = std::stoi(argv[++i]);
        else if (a == "--sessions" && i + 1 < argc)
            sessions = std::stoul(argv[++i]);
        else if (a == "--client-pool")
            client_pool = true;
        else if (a.rfind("--", 0) == 0)
            fail("unknown option " + a);
        else
            objects.emplace_back(a, std::exchange(client_pool, false));
    }
    if (objects.empty() || client_pool || rounds < 1 || repeat < 2 || sessions < 1)
        fail("usage: mtuguard_ab [--rounds N] [--repeat N] [--sessions N] [--client-pool] "
             "OBJ.bpf.o ...");
    // Every session inside the client pools: 10.8.0.1 + n below 10.16.0.0.
    const bool any_pools = std::any_of(objects.begin(), objects.end(),
                                       [](const auto &o) { return o.second; });
    if (any_pools && sessions > pool_first4 + pool_size - 0x0a080001)
        fail("--sessions: at most " + std::to_string(pool_first4 + pool_size - 0x0a080001) +
             " fit the client pools");

    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu)
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof(set), &set);
            break;
        }

    std::vector<Variant> variants;
    for (const auto &[object, with_pools] : objects)
        variants.push_back(load(object, sessions, with_pools));
    const std::string &first = objects[0].first;
    bpf_object *pass_obj = bpf_object__open_file(
        (first.substr(0, first.rfind('/') + 1) + "xdp_pass.bpf.o").c_str(), nullptr);
    if (!pass_obj || bpf_object__load(pass_obj))
        fail("loading xdp_pass.bpf.o beside the first object");
    const int pass = bpf_program__fd(bpf_object__find_program_by_name(pass_obj, "xdp_pass"));

    const uint32_t mid = sessions / 2;
    uint8_t d4[4], d6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 8}, s4[4] = {172, 16, 0, 1};
    uint32_t a4 = htonl(0x0a080001 + mid), low = htonl(1 + mid);
    std::memcpy(d4, &a4, 4);
    std::memcpy(d6 + 12, &low, 4);
    struct Path {
        const char *name;
        std::vector<uint8_t> frame;
    };
    std::vector<Path> paths = {
        {"no session, IPv4", frame(false, s4, 1400, false)},
        {"within MTU, IPv4", frame(false, d4, 1400, false)},
        {"within MTU, IPv6", frame(true, d6, 1400, false)},
        {"TCP SYN, IPv4", frame(false, d4, 44, true)}, // XDP only: the clamp itself is in tc
    };
    std::printf("%-22s", "path");
    for (const auto &v : variants)
        std::printf(" | %s", v.path.c_str());
    std::printf("\n");
    for (const Path &p : paths) {
        std::vector<std::vector<double>> ratios(variants.size());
        for (int r = 0; r < rounds; ++r)
            for (size_t i = 0; i < variants.size(); ++i) {
                double base = run_ns(pass, p.frame, repeat);
                ratios[i].push_back(run_ns(variants[i].fd, p.frame, repeat) / base);
            }
        std::printf("%-22s", p.name);
        for (const auto &r : ratios)
            std::printf(" | %.3fx", median(r));
        std::printf("\n");
    }
    // The ICMP paths warm, for the objects that can: the restore writes the frame back first.
    struct Warm {
        const char *name;
        std::vector<uint8_t> frame;
        int pushed;
        uint32_t error_len;
    };
    std::vector<Warm> warm = {{"ICMPv4 frag needed, warm", frame(false, d4, 1500, false), 28, 590},
                              {"ICMPv6 PTB, warm", frame(true, d6, 1500, false), 48, 1294}};
    for (const Warm &w : warm) {
        std::vector<std::vector<double>> ratios(variants.size());
        bool any = false;
        for (int r = 0; r < rounds; ++r)
            for (size_t i = 0; i < variants.size(); ++i) {
                Variant &v = variants[i];
                if (v.restore_only < 0)
                    continue;
                any = true;
                warm_restore restore{};
                restore.frame_len = w.frame.size();
                restore.pushed = w.pushed;
                restore.error_len = w.error_len;
                std::memcpy(restore.head, w.frame.data(), WARM_HEAD_LEN);
                std::vector<uint8_t> bss_value(bpf_map__value_size(v.bss));
                uint32_t zero = 0;
                if (bpf_map_lookup_elem(bpf_map__fd(v.bss), &zero, bss_value.data()))
                    fail("reading .bss");
                std::memcpy(bss_value.data() + bss_offset(v.obj, "warm_restore"), &restore,
                            sizeof(restore));
                update(v.bss, &zero, bss_value.data());
                double base = run_ns(pass, w.frame, repeat);
                double only = run_ns(v.restore_only, w.frame, repeat);
                double shrink = run_ns(v.shrink_then_restore, w.frame, repeat);
                double with = run_ns(v.restore_then_mtuguard, w.frame, repeat);
                ratios[i].push_back((with - (only + shrink) / 2 + base) / base);
            }
        if (!any)
            continue;
        std::printf("%-22s", w.name);
        for (const auto &r : ratios)
            std::printf(r.empty() ? " | -" : " | %.3fx", r.empty() ? 0 : median(r));
        std::printf("\n");
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mtuguard_ab: %s\n", e.what());
        return 1;
    }
}
