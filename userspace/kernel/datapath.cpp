#include "kernel/datapath.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "common/log.hpp"
#include "kernel/pins.hpp"
#include "kernel/settings.hpp"
#include "mtuguard.skel.h"

namespace mtuguard {
namespace {

SessionEntry make_entry(const mg_addr &addr, unsigned mapped_length, const mg_session &session)
{
    return {mapped_prefix(addr, mapped_length), session};
}

// Waits until no packet that started before the call is still being judged. XDP programs run
// inside RCU read-side sections (the driver's poll, generic XDP's receive path, BPF_PROG_TEST_RUN
// alike), and MEMBARRIER_CMD_GLOBAL returns after an RCU grace period. Where it is unavailable
// (nohz_full), a pause many times longer than any one program run, which never sleeps, stands in.
void wait_for_packets_in_flight()
{
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Walks a map with get_next_key; `visit` gets each key and value.
template <class Key, class Value, class Visit> void walk(const bpf_map *map, Visit visit)
{
    Key key, next;
    Key *previous = nullptr;
    while (bpf_map__get_next_key(map, previous, &next, sizeof(next)) == 0) {
        Value value;
        if (bpf_map__lookup_elem(map, &next, sizeof(next), &value, sizeof(value), 0) == 0)
            visit(next, value);
        key = next;
        previous = &key;
    }
}


} // namespace

Datapath::Datapath(uint32_t max_sessions, const std::string &pin_dir, const std::vector<Prefix> &client_pools)
    : pin_dir_(pin_dir)
{
    const mg_client_pools pools = pools_setting(client_pools);
    skel_ = mtuguard_bpf__open();
    if (!skel_)
        fail(errno, "opening the BPF object");
    try {
        int err = 0;
        for (bpf_map *map : {skel_->maps.mg_sessions4, skel_->maps.mg_sessions6})
            if (!err)
                err = bpf_map__set_max_entries(map, max_sessions);
        if (!err)
            err = bpf_map__set_max_entries(skel_->maps.mg_session_meta, 2 * max_sessions);
        if (err)
            fail(err, "sizing the session map");
        const uint32_t slots4 = slot_count(family_spans(client_pools, true));
        const uint32_t slots6 = slot_count(family_spans(client_pools, false));
        if ((err = bpf_map__set_max_entries(skel_->maps.mg_direct4, std::max(slots4, 1u))) ||
            (err = bpf_map__set_max_entries(skel_->maps.mg_direct6, std::max(slots6, 1u))))
            fail(err, "sizing the client pool slots");
        if (!pin_dir_.empty()) {
            ensure_bpffs(pin_dir_);
            make_dir(pin_dir_);
            lock_.emplace(pin_dir_);
            make_dir(pin_dir_ + "/maps");
            make_dir(pin_dir_ + "/links");
            const std::string abi = pin_dir_ + "/maps/mg_abi";
            if (exists(abi))
                check_pinned_abi(abi);
            bpf_map *map;
            bpf_object__for_each_map(map, skel_->obj)
            {
                std::string path = pin_dir_ + "/maps/" + pin_name(map);
                if (exists(path)) {
                    check_pinned_map(map, path);
                    adopted_ = true;
                }
                if ((err = bpf_map__set_pin_path(map, path.c_str())))
                    fail(err, "setting the pin path " + path);
            }
        }
        if ((err = mtuguard_bpf__load(skel_)))
            fail(err, "loading the BPF program (is this root, with BPF and BTF in the kernel?)");
        uint32_t zero = 0, version = MG_ABI_VERSION;
        if (bpf_map__update_elem(skel_->maps.mg_abi, &zero, sizeof(zero), &version, sizeof(version), BPF_ANY))
            fail(errno, "writing the map ABI version");
        // Pinned slots are only meaningful for the pools they were laid out for; the sizes may
        // agree where the pools do not.
        if (adopted_ && std::memcmp(&skel_->bss->mg_client_pools, &pools, sizeof(pools)) != 0)
            throw std::runtime_error("the maps pinned at " + pin_dir_ + " were made for other client pools "
                                     "(--client-pool, or its default from a pool prefix or ocserv): start with the pools they were made for, or run "
                                     "`mtuguardctl detach` to remove the old state, or use another --pin-path");
        skel_->bss->mg_client_pools = pools;
        // Fresh globals have no reader until attached; adopted ones are the running program's.
        retired_settings_read_ = adopted_;
        skel_->bss->mg_clock = program_clock();
        map_slots(client_pools);
    } catch (...) {
        for (Slots &s : slots_)
            if (s.slot)
                munmap(s.slot, s.mapped);
        if (!adopted_ && !pin_dir_.empty())
            bpf_object__unpin_maps(skel_->obj, nullptr);
        mtuguard_bpf__destroy(skel_);
        throw;
    }
}

Datapath::~Datapath()
{
    for (Slots &s : slots_)
        if (s.slot)
            munmap(s.slot, s.mapped);
    if (!kept_ && !adopted_ && !pin_dir_.empty())
        unpin();
    mtuguard_bpf__destroy(skel_);
}

void Datapath::map_slots(const std::vector<Prefix> &client_pools)
{
    for (bool ipv4 : {true, false}) {
        Slots &s = slots_[ipv4 ? 0 : 1];
        s.spans = family_spans(client_pools, ipv4);
        if (s.spans.empty())
            continue;
        bpf_map *map = ipv4 ? skel_->maps.mg_direct4 : skel_->maps.mg_direct6;
        const size_t page = size_t(sysconf(_SC_PAGESIZE));
        s.mapped = (size_t(slot_count(s.spans)) * sizeof(mg_session) + page - 1) / page * page;
        void *memory = mmap(nullptr, s.mapped, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
        if (memory == MAP_FAILED)
            fail(errno, std::string("mapping the client pool slots of ") + (ipv4 ? "IPv4" : "IPv6"));
        s.slot = static_cast<mg_session *>(memory);
    }
}

mg_session *Datapath::slot(const Prefix &host) const
{
    const Slots &s = slots_[host.ipv4 ? 0 : 1];
    for (const ClientPoolSpan &span : s.spans)
        if (const auto offset = slot_offset(span, host))
            return s.slot + span.base + *offset;
    return nullptr;
}

// Longest prefixes last, so each slot ends with the longest that covers it; only the slots that
// change are written, and never one that holds a session.
void Datapath::refill_slots()
{
    std::vector<SessionEntry> prefixes = pools();
    std::sort(prefixes.begin(), prefixes.end(), [](const SessionEntry &a, const SessionEntry &b) {
        return a.prefix.mapped_length() < b.prefix.mapped_length();
    });
    for (Slots &s : slots_) {
        for (const ClientPoolSpan &span : s.spans) {
            std::vector<uint64_t> wanted(span.size, 0);
            for (const SessionEntry &p : prefixes) {
                auto [begin, end] = covered(span, p.prefix);
                std::fill(wanted.begin() + begin, wanted.begin() + end, fill_word(p.session));
            }
            mg_session *slots = s.slot + span.base;
            for (uint32_t i = 0; i < span.size; ++i) {
                const uint64_t current = load_policy(&slots[i]);
                if (!holds_session(current) && current != wanted[i])
                    store_policy(&slots[i], wanted[i]);
            }
        }
    }
}

void Datapath::unpin()
{
    if (pin_dir_.empty())
        return;
    bpf_object__unpin_maps(skel_->obj, nullptr);
    rmdir((pin_dir_ + "/maps").c_str());
    rmdir((pin_dir_ + "/links").c_str());
    rmdir(pin_dir_.c_str());
}

static_assert(sizeof(mtuguard_bpf::mtuguard_bpf__bss::mg_settings) == MG_SETTINGS_SLOTS * sizeof(mg_settings),
              "the program's settings slots are not what the ABI header says");

// The slot the index does not name is written whole, then the index flips with one release
// store. A packet that read the index before the flip may still be reading the other slot: it is
// rewritten only after the next grace period, which the next publish waits for first.
void Datapath::publish_settings(const mg_settings &settings)
{
    auto *bss = skel_->bss;
    const uint32_t live = __atomic_load_n(&bss->mg_settings_index, __ATOMIC_ACQUIRE) & (MG_SETTINGS_SLOTS - 1);
    const uint32_t spare = live ^ 1;
    if (retired_settings_read_)
        wait_for_packets_in_flight();
    bss->mg_settings[spare] = settings;
    __atomic_store_n(&bss->mg_settings_index, spare, __ATOMIC_RELEASE);
    retired_settings_read_ = true;
}

void Datapath::set_settings(const mg_settings &settings)
{
    mg_settings next = settings;
    next.has_pools = this->settings().has_pools;
    publish_settings(next);
}

const mg_settings &Datapath::settings() const
{
    const auto *bss = skel_->bss;
    return bss->mg_settings[__atomic_load_n(&bss->mg_settings_index, __ATOMIC_ACQUIRE) & (MG_SETTINGS_SLOTS - 1)];
}

// Interfaces below MG_IFINDEX_DIRECT live in the array the program indexes directly (slot 0 marks
// an empty entry), the rest in the hash.
bpf_map *Datapath::iface_map(uint32_t ifindex) const
{
    return ifindex < MG_IFINDEX_DIRECT ? skel_->maps.mg_ifaces_direct : skel_->maps.mg_ifaces;
}

void Datapath::set_iface(uint32_t ifindex, const mg_iface &iface)
{
    int err = bpf_map__update_elem(iface_map(ifindex), &ifindex, sizeof(ifindex), &iface, sizeof(iface), BPF_ANY);
    if (err)
        fail(err, "writing the interface table");
}

void Datapath::delete_iface(uint32_t ifindex)
{
    if (ifindex < MG_IFINDEX_DIRECT) {
        mg_iface none{};
        bpf_map__update_elem(iface_map(ifindex), &ifindex, sizeof(ifindex), &none, sizeof(none), BPF_ANY);
    } else {
        bpf_map__delete_elem(iface_map(ifindex), &ifindex, sizeof(ifindex), 0);
    }
}

std::vector<std::pair<uint32_t, mg_iface>> Datapath::ifaces() const
{
    std::vector<std::pair<uint32_t, mg_iface>> out;
    std::vector<uint32_t> keys(MG_IFINDEX_DIRECT);
    std::vector<mg_iface> values(MG_IFINDEX_DIRECT);
    uint32_t count = MG_IFINDEX_DIRECT, next = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(bpf_map__fd(skel_->maps.mg_ifaces_direct), nullptr, &next, keys.data(),
                                   values.data(), &count, &opts);
    if (err && err != -ENOENT)
        fail(err, "reading the interface table");
    for (uint32_t i = 0; i < count; ++i)
        if (values[i].slot)
            out.emplace_back(keys[i], values[i]);
    walk<uint32_t, mg_iface>(skel_->maps.mg_ifaces, [&](uint32_t k, const mg_iface &v) { out.emplace_back(k, v); });
    return out;
}

// Exact sessions: IPv4 keyed by its 4 bytes, IPv6 by its 16.
bpf_map *Datapath::session_map(const Prefix &prefix) const
{
    return prefix.ipv4 ? skel_->maps.mg_sessions4 : skel_->maps.mg_sessions6;
}

static const void *session_key(const Prefix &prefix) { return prefix.ipv4 ? &prefix.addr.bytes[12] : prefix.addr.bytes; }
static size_t session_key_size(const Prefix &prefix) { return prefix.ipv4 ? 4 : 16; }

void Datapath::set_session(const Prefix &prefix, const mg_session &session)
{
    int err;
    if (mg_session *s = slot(prefix)) {
        mg_session value = session;
        value.flags &= ~MG_SESSION_POOL_FILL;
        store_stats(s, value.stats);
        store_policy(s, policy_word(value));
        return;
    }
    if (prefix.is_host()) {
        err = bpf_map__update_elem(session_map(prefix), session_key(prefix), session_key_size(prefix), &session,
                                   sizeof(session), BPF_ANY);
        if (err == -E2BIG || err == -ENOSPC)
            fail(ENOSPC, "session map full (" + std::to_string(max_sessions()) + " entries, --max-sessions)");
    } else {
        mg_pool_key key = prefix.pool_key();
        err = bpf_map__update_elem(skel_->maps.mg_pools, &key, sizeof(key), &session, sizeof(session), BPF_ANY);
        if (!err) {
            const uint32_t bit = prefix.ipv4 ? MG_HAS_POOLS4 : MG_HAS_POOLS6;
            if (!(settings().has_pools & bit)) {
                mg_settings next = settings();
                next.has_pools |= bit;
                publish_settings(next);
            }
            refill_slots();
        }
        if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
            fail(ENOSPC, "pool map full (" + std::to_string(MG_MAX_POOLS) + " prefixes)");
    }
    if (err)
        fail(err, "writing session " + prefix.to_string());
}

// New sessions go in with batched updates; each existing one is read first (its counters carry
// over) and replaced on its own. Batch updates cannot say "only if new" per element, so the
// caller, which knows its sessions, says which are new.
std::vector<std::optional<mg_session>> Datapath::set_sessions(std::vector<SessionEntry> sessions,
                                                              const std::vector<bool> &fresh)
{
    std::vector<std::optional<mg_session>> old(sessions.size());
    std::vector<size_t> written;          // in order, to be undone if a later write fails
    std::vector<size_t> batched4, batched6;
    try {
        for (size_t i = 0; i < sessions.size(); ++i) {
            SessionEntry &entry = sessions[i];
            if (!fresh[i] || !entry.prefix.is_host() || slot(entry.prefix)) {
                old[i] = session(entry.prefix);
                if (old[i])
                    entry.session.stats = old[i]->stats;
                set_session(entry.prefix, entry.session);
                written.push_back(i);
            } else {
                (entry.prefix.ipv4 ? batched4 : batched6).push_back(i);
            }
        }
        load_batch(skel_->maps.mg_sessions4, sessions, batched4, written);
        load_batch(skel_->maps.mg_sessions6, sessions, batched6, written);
    } catch (...) {
        // All or nothing: the caller's counts describe the maps as they were.
        for (auto i = written.rbegin(); i != written.rend(); ++i) {
            try {
                if (old[*i])
                    set_session(sessions[*i].prefix, *old[*i]);
                else
                    delete_session(sessions[*i].prefix);
            } catch (const std::exception &e) {
                log::error("undoing a failed batch: " + sessions[*i].prefix.to_string() + ": " + e.what());
            }
        }
        throw;
    }
    return old;
}

// New hashed sessions of one family with batched updates; each entry written is added to
// `written`.
void Datapath::load_batch(bpf_map *map, const std::vector<SessionEntry> &sessions, const std::vector<size_t> &which,
                          std::vector<size_t> &written)
{
    const bool ipv4 = map == skel_->maps.mg_sessions4;
    std::vector<uint8_t> keys;
    std::vector<mg_session> values;
    const size_t key_size = ipv4 ? 4 : sizeof(mg_addr);
    for (size_t i : which) {
        const auto &addr = sessions[i].prefix.addr.bytes;
        keys.insert(keys.end(), ipv4 ? &addr[12] : addr, ipv4 ? &addr[16] : addr + sizeof(addr));
        values.push_back(sessions[i].session);
    }
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
    for (size_t done = 0; done < which.size();) {
        uint32_t n = uint32_t(which.size() - done);
        const int err = bpf_map_update_batch(bpf_map__fd(map), &keys[done * key_size], &values[done], &n, &opts);
        // On an error the kernel reports in `n` how many it wrote before it.
        written.insert(written.end(), which.begin() + done, which.begin() + done + n);
        if (err == -E2BIG || err == -ENOSPC)
            fail(ENOSPC, "session map full (" + std::to_string(max_sessions()) + " entries, --max-sessions)");
        if (err)
            fail(err, "writing sessions");
        done += n;
    }
}

std::optional<mg_session> Datapath::session(const Prefix &prefix) const
{
    mg_session session;
    int err;
    if (const mg_session *s = slot(prefix)) {
        session = load_slot(s);
        return holds_session(policy_word(session)) ? std::optional<mg_session>(session) : std::nullopt;
    }
    if (prefix.is_host()) {
        err = bpf_map__lookup_elem(session_map(prefix), session_key(prefix), session_key_size(prefix), &session,
                                   sizeof(session), 0);
    } else {
        // An LPM lookup would return the longest match; the exact prefix is wanted here.
        for (const auto &e : pools())
            if (e.prefix == prefix)
                return e.session;
        return std::nullopt;
    }
    return err ? std::nullopt : std::optional<mg_session>(session);
}

bool Datapath::delete_session(const Prefix &prefix)
{
    if (mg_session *s = slot(prefix)) {
        if (!holds_session(load_policy(s)))
            return false;
        // The slot falls back to what covers its address: the longest pool prefix, or nothing.
        mg_pool_key key = prefix.pool_key();
        mg_session pool;
        const bool pooled = bpf_map__lookup_elem(skel_->maps.mg_pools, &key, sizeof(key), &pool, sizeof(pool), 0) == 0;
        store_policy(s, pooled ? fill_word(pool) : 0);
        store_stats(s, {});
        return true;
    }
    if (prefix.is_host()) {
        return bpf_map__delete_elem(session_map(prefix), session_key(prefix), session_key_size(prefix), 0) == 0;
    }
    mg_pool_key key = prefix.pool_key();
    if (bpf_map__delete_elem(skel_->maps.mg_pools, &key, sizeof(key), 0) != 0)
        return false;
    refill_slots();
    return true;
}


std::vector<std::pair<Prefix, uint64_t>> Datapath::client_pool_use() const
{
    std::vector<std::pair<Prefix, uint64_t>> out;
    for (const Slots &s : slots_) {
        for (const ClientPoolSpan &span : s.spans) {
            uint64_t sessions = 0;
            for (uint32_t i = 0; i < span.size; ++i)
                sessions += holds_session(load_policy(&s.slot[span.base + i]));
            mg_addr first{};
            std::memcpy(first.bytes, span.high, 12);
            const unsigned host_bits = unsigned(__builtin_ctz(span.size));
            out.emplace_back(mapped_prefix(with_low32(first, span.first), 128 - host_bits), sessions);
        }
    }
    return out;
}

std::vector<SessionEntry> Datapath::pools() const
{
    std::vector<SessionEntry> out;
    walk<mg_pool_key, mg_session>(skel_->maps.mg_pools, [&](const mg_pool_key &k, const mg_session &v) {
        out.push_back(make_entry(k.addr, k.prefixlen, v));
    });
    return out;
}

std::vector<SessionEntry> Datapath::sessions() const
{
    std::vector<SessionEntry> out;
    walk<uint32_t, mg_session>(skel_->maps.mg_sessions4, [&](uint32_t k, const mg_session &v) {
        out.push_back(make_entry(map_ipv4(k), 128, v));
    });
    walk<mg_addr, mg_session>(skel_->maps.mg_sessions6, [&](const mg_addr &k, const mg_session &v) {
        out.push_back(make_entry(k, 128, v));
    });
    for (const Slots &s : slots_) {
        for (const ClientPoolSpan &span : s.spans) {
            for (uint32_t i = 0; i < span.size; ++i) {
                const mg_session session = load_slot(&s.slot[span.base + i]);
                if (!holds_session(policy_word(session)))
                    continue;
                mg_addr addr{};
                std::memcpy(addr.bytes, span.high, 12);
                out.push_back(make_entry(with_low32(addr, span.first + i), 128, session));
            }
        }
    }
    std::vector<SessionEntry> pool_entries = pools();
    out.insert(out.end(), pool_entries.begin(), pool_entries.end());
    return out;
}

namespace {
bool empty_meta(const mg_session_meta &meta)
{
    static const mg_session_meta none{};
    return std::memcmp(&meta, &none, sizeof(meta)) == 0;
}
} // namespace

void Datapath::set_meta(const Prefix &host, const mg_session_meta &meta)
{
    if (empty_meta(meta))
        return delete_meta(host);
    if (bpf_map__update_elem(skel_->maps.mg_session_meta, &host.addr, sizeof(host.addr), &meta, sizeof(meta),
                             BPF_ANY) != 0)
        fail(errno, "writing the owner of session " + host.to_string());
}

std::optional<mg_session_meta> Datapath::meta(const Prefix &host) const
{
    mg_session_meta meta;
    if (bpf_map__lookup_elem(skel_->maps.mg_session_meta, &host.addr, sizeof(host.addr), &meta, sizeof(meta), 0) != 0)
        return std::nullopt;
    return meta;
}

void Datapath::delete_meta(const Prefix &host)
{
    bpf_map__delete_elem(skel_->maps.mg_session_meta, &host.addr, sizeof(host.addr), 0); // ENOENT: none
}

std::vector<std::pair<mg_addr, mg_session_meta>> Datapath::metas() const
{
    std::vector<std::pair<mg_addr, mg_session_meta>> out;
    walk<mg_addr, mg_session_meta>(skel_->maps.mg_session_meta,
                                   [&](const mg_addr &k, const mg_session_meta &v) { out.emplace_back(k, v); });
    return out;
}

int Datapath::program_fd() const { return bpf_program__fd(skel_->progs.mtuguard_xdp); }

int Datapath::mss_program_fd(bool ingress) const
{
    return bpf_program__fd(ingress ? skel_->progs.mtuguard_mss_in : skel_->progs.mtuguard_mss_out);
}

uint32_t Datapath::max_sessions() const { return bpf_map__max_entries(skel_->maps.mg_sessions4); }

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

std::vector<uint64_t> Datapath::mss_counters(uint32_t first, uint32_t count) const
{
    return read_per_cpu<uint64_t>(bpf_map__fd(skel_->maps.mg_mss_counters), first, count, MG_MSS_ENTRIES,
                                  [](uint64_t &total, uint64_t n) { total += n; });
}

std::vector<uint64_t> Datapath::unheeded() const
{
    return read_per_cpu<uint64_t>(bpf_map__fd(skel_->maps.mg_unheeded), 0, MG_MAX_IFACES, MG_MAX_IFACES,
                                  [](uint64_t &total, uint64_t n) { total += n; });
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
