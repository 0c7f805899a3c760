#include "datapath.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "mtuguard.skel.h"

namespace mtuguard {
namespace {

[[noreturn]] void fail(int error, const std::string &what)
{
    throw std::system_error(error < 0 ? -error : error, std::generic_category(), what);
}

mg_bucket_config bucket_config(const RateLimit &limit)
{
    mg_bucket_config c{};
    c.rate = limit.rate;
    c.burst = limit.burst;
    c.fill_ns = limit.rate ? limit.burst * 1'000'000'000ull / limit.rate : 0;
    return c;
}

} // namespace

Fd &Fd::operator=(Fd &&other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd()
{
    if (fd_ >= 0)
        close(fd_);
}

XdpLink XdpLink::attach(int program_fd, uint32_t ifindex, XdpMode mode)
{
    auto try_mode = [&](uint32_t flags) {
        LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
        return bpf_link_create(program_fd, ifindex, BPF_XDP, &opts);
    };
    int fd = -1;
    XdpMode used = mode;
    if (mode == XdpMode::Native || mode == XdpMode::Auto) {
        fd = try_mode(XDP_FLAGS_DRV_MODE);
        used = XdpMode::Native;
        // Busy means another program holds the hook: falling back would not help.
        if (fd < 0 && mode == XdpMode::Auto && fd != -EBUSY && fd != -EEXIST) {
            fd = try_mode(XDP_FLAGS_SKB_MODE);
            used = XdpMode::Generic;
        }
    } else {
        fd = try_mode(XDP_FLAGS_SKB_MODE);
    }
    if (fd == -EBUSY || fd == -EEXIST)
        fail(fd, "another XDP program is attached (see `ip link show`); detach it first");
    if (fd < 0)
        fail(fd, std::string("attaching XDP in ") + xdp_mode_name(used) + " mode");
    return XdpLink(Fd(fd), ifindex, used);
}

mg_settings make_settings(const Config &config)
{
    mg_settings s{};
    s.action = config.on_oversize;
    s.icmp_global = bucket_config(config.icmp_global);
    s.icmp_per_source = bucket_config(config.icmp_per_source);
    return s;
}

Datapath::Datapath(uint32_t max_sessions)
{
    skel_ = mtuguard_bpf__open();
    if (!skel_)
        fail(errno, "opening the BPF object");
    int err = bpf_map__set_max_entries(skel_->maps.mg_sessions, max_sessions);
    if (!err)
        err = mtuguard_bpf__load(skel_);
    if (err) {
        mtuguard_bpf__destroy(skel_);
        fail(err, "loading the BPF program (is this root, with BPF and BTF in the kernel?)");
    }
}

Datapath::~Datapath() { mtuguard_bpf__destroy(skel_); }

void Datapath::set_settings(const mg_settings &settings)
{
    // Keep the pool bits: they follow the pool map, not the configuration.
    uint32_t pools = skel_->bss->mg_settings.has_pools;
    skel_->bss->mg_settings = settings;
    skel_->bss->mg_settings.has_pools = pools;
}

const mg_settings &Datapath::settings() const { return skel_->bss->mg_settings; }

void Datapath::set_iface(uint32_t ifindex, const mg_iface &iface)
{
    int err = bpf_map__update_elem(skel_->maps.mg_ifaces, &ifindex, sizeof(ifindex), &iface,
                                   sizeof(iface), BPF_ANY);
    if (err)
        fail(err, "writing the interface table");
}

void Datapath::set_session(const Prefix &prefix, const mg_session &session)
{
    int err;
    if (prefix.is_host()) {
        err = bpf_map__update_elem(skel_->maps.mg_sessions, &prefix.addr, sizeof(prefix.addr),
                                   &session, sizeof(session), BPF_ANY);
        if (err == -E2BIG)
            fail(err, "session map full (raise --max-sessions)");
    } else {
        mg_pool_key key = prefix.pool_key();
        err = bpf_map__update_elem(skel_->maps.mg_pools, &key, sizeof(key), &session,
                                   sizeof(session), BPF_ANY);
        if (!err)
            skel_->bss->mg_settings.has_pools |= prefix.ipv4 ? MG_HAS_POOLS4 : MG_HAS_POOLS6;
    }
    if (err)
        fail(err, "writing session " + prefix.to_string());
}

int Datapath::program_fd() const { return bpf_program__fd(skel_->progs.mtuguard_xdp); }

int Datapath::map_fd(const char *name) const
{
    bpf_map *map = bpf_object__find_map_by_name(skel_->obj, name);
    return map ? bpf_map__fd(map) : -1;
}

// Reads entries [first, first + count) of a per-CPU array with one batched syscall and folds
// the CPUs' values into one with `add`.
template <class Value, class Add>
std::vector<Value> read_per_cpu(int fd, uint32_t first, uint32_t count, uint32_t entries, Add add)
{
    int cpus = libbpf_num_possible_cpus();
    if (cpus < 0)
        fail(cpus, "counting CPUs");
    if (first >= entries || count > entries - first)
        fail(EINVAL, "reading a per-CPU map out of range");
    std::vector<uint32_t> keys(count);
    std::vector<Value> per_cpu(size_t(count) * cpus), totals(count);
    uint32_t previous = first - 1, next = 0, read = count;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? &previous : nullptr, &next, keys.data(),
                                   per_cpu.data(), &read, &opts);
    if (err && err != -ENOENT)
        fail(err, "reading a per-CPU map");
    for (uint32_t i = 0; i < read && i < count; ++i) {
        for (int cpu = 0; cpu < cpus; ++cpu)
            add(totals[i], per_cpu[size_t(i) * cpus + cpu]);
    }
    return totals;
}

std::vector<mg_counter> Datapath::counters(uint32_t first, uint32_t count) const
{
    return read_per_cpu<mg_counter>(bpf_map__fd(skel_->maps.mg_counters), first, count,
                                    MG_COUNTER_ENTRIES, [](mg_counter &total, const mg_counter &c) {
                                        total.packets += c.packets;
                                        total.bytes += c.bytes;
                                    });
}

std::vector<mg_size_histogram> Datapath::oversize_sizes() const
{
    return read_per_cpu<mg_size_histogram>(
        bpf_map__fd(skel_->maps.mg_oversize_sizes), 0, MG_HISTOGRAM_ENTRIES, MG_HISTOGRAM_ENTRIES,
        [](mg_size_histogram &total, const mg_size_histogram &h) {
            for (int b = 0; b < MG_SIZE_BUCKETS; ++b)
                total.buckets[b] += h.buckets[b];
            total.sum += h.sum;
        });
}

} // namespace mtuguard
