#include "datapath.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "log.hpp"
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

bool exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

void make_dir(const std::string &path)
{
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        fail(errno, "creating " + path);
}

// Pin file names: the internal .bss map is called "mtuguar.bss"; keep names plain.
std::string pin_name(const bpf_map *map)
{
    std::string name = bpf_map__name(map);
    for (char &c : name)
        if (c == '.')
            c = '_';
    return name;
}

XdpMode attached_mode(uint32_t ifindex)
{
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(ifindex, 0, &query) == 0 && query.attach_mode == XDP_ATTACHED_SKB)
        return XdpMode::Generic;
    return XdpMode::Native;
}

// A pinned map is reused only when it is what this build would create; anything else would be
// read with the wrong layout. The message says what to do about it.
void check_pinned_map(const bpf_map *map, const std::string &path)
{
    Fd fd(bpf_obj_get(path.c_str()));
    if (!fd)
        fail(errno, "opening pinned map " + path);
    bpf_map_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
        fail(errno, "reading pinned map " + path);
    auto differs = [&](const char *what, uint32_t pinned, uint32_t wanted) {
        if (pinned == wanted)
            return;
        const std::string name = bpf_map__name(map);
        std::string advice = name.rfind("mg_sessions", 0) == 0
                                 ? "start with --max-sessions " + std::to_string(pinned) + ", or "
                             : name.rfind("mg_direct", 0) == 0 ? "start with the --client-pool it was made for, or "
                                                               : "";
        throw std::runtime_error("pinned map " + path + " has " + what + " " + std::to_string(pinned) +
                                 " where this mtuguardd needs " + std::to_string(wanted) + ": " + advice +
                                 "run `mtuguardctl detach` to remove the old state (enforcement stops "
                                 "until this daemon starts), or use another --pin-path");
    };
    differs("type", info.type, bpf_map__type(map));
    differs("key size", info.key_size, bpf_map__key_size(map));
    differs("value size", info.value_size, bpf_map__value_size(map));
    differs("capacity", info.max_entries, bpf_map__max_entries(map));
}

void check_pinned_abi(const std::string &path)
{
    Fd fd(bpf_obj_get(path.c_str()));
    uint32_t zero = 0, version = 0;
    if (!fd || bpf_map_lookup_elem(fd.get(), &zero, &version) != 0)
        fail(errno, "reading pinned map " + path);
    if (version != MG_ABI_VERSION)
        throw std::runtime_error("the maps pinned at " + path.substr(0, path.rfind('/')) +
                                 " are of map ABI " + std::to_string(version) + ", this mtuguardd uses " +
                                 std::to_string(MG_ABI_VERSION) +
                                 ": run `mtuguardctl detach` to remove the old state, or use another --pin-path");
}

SessionEntry make_entry(const mg_addr &addr, unsigned mapped_length, const mg_session &session)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    SessionEntry e;
    e.prefix.addr = addr;
    e.prefix.ipv4 = std::memcmp(addr.bytes, mapped, 12) == 0 && mapped_length >= 96;
    e.prefix.length = e.prefix.ipv4 ? mapped_length - 96 : mapped_length;
    e.session = session;
    return e;
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


// --- client pools ------------------------------------------------------------------------

uint32_t low32(const mg_addr &addr)
{
    uint32_t word;
    std::memcpy(&word, &addr.bytes[12], 4);
    return ntohl(word);
}

ClientPoolSpan span_of(const Prefix &pool)
{
    ClientPoolSpan span;
    std::memcpy(span.high, pool.addr.bytes, 12);
    if (!fits_client_pool(pool))
        throw std::invalid_argument("client pool " + pool.to_string() + " is larger than 2^20 addresses");
    span.size = 1u << (128 - pool.mapped_length());
    span.first = low32(pool.addr) & ~(span.size - 1);
    return span;
}

// The first `bits` bits of a and b agree.
bool same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    if (std::memcmp(a, b, bits / 8) != 0)
        return false;
    const uint8_t mask = uint8_t(0xff00 >> (bits % 8));
    return bits % 8 == 0 || ((a[bits / 8] ^ b[bits / 8]) & mask) == 0;
}

// Offsets [first, second) of the slots of `span` that the pool prefix covers; empty if none.
std::pair<uint32_t, uint32_t> covered(const ClientPoolSpan &span, const Prefix &pool)
{
    const unsigned length = pool.mapped_length();
    if (!same_bits(pool.addr.bytes, span.high, std::min(length, 96u)))
        return {0, 0};
    uint64_t begin = 0, end = uint64_t(1) << 32;
    if (length > 96) {
        const uint64_t size = uint64_t(1) << (128 - length);
        begin = low32(pool.addr) & ~(size - 1);
        end = begin + size;
    }
    begin = std::max<uint64_t>(begin, span.first);
    end = std::min<uint64_t>(end, uint64_t(span.first) + span.size);
    return begin < end ? std::pair<uint32_t, uint32_t>(begin - span.first, end - span.first)
                       : std::pair<uint32_t, uint32_t>(0, 0);
}

mg_client_pools pools_setting(const Prefix *pool4, const Prefix *pool6)
{
    mg_client_pools setting{};
    if (pool4) {
        ClientPoolSpan span = span_of(*pool4);
        setting.first4 = span.first;
        setting.size4 = span.size;
    }
    if (pool6) {
        ClientPoolSpan span = span_of(*pool6);
        std::memcpy(setting.prefix6, span.high, 12);
        setting.first6 = span.first;
        setting.size6 = span.size;
    }
    return setting;
}

// A slot's policy is its first 8 bytes, written and read whole (see struct mg_session).
uint64_t policy_word(const mg_session &session)
{
    uint64_t word;
    std::memcpy(&word, &session, sizeof(word));
    return word;
}

uint64_t load_policy(const mg_session *slot)
{
    return __atomic_load_n(reinterpret_cast<const uint64_t *>(slot), __ATOMIC_ACQUIRE);
}

void store_policy(mg_session *slot, uint64_t word)
{
    __atomic_store_n(reinterpret_cast<uint64_t *>(slot), word, __ATOMIC_RELEASE);
}

bool holds_session(uint64_t word)
{
    mg_session policy{};
    std::memcpy(&policy, &word, sizeof(word));
    return policy.dtls_mtu && !(policy.flags & MG_SESSION_POOL_FILL);
}

// What a slot without a session holds under a pool prefix: its policy, marked.
uint64_t fill_word(const mg_session &pool)
{
    mg_session fill = pool;
    fill.flags |= MG_SESSION_POOL_FILL;
    return policy_word(fill);
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

XdpLink XdpLink::attach(int program_fd, uint32_t ifindex, XdpMode mode, const std::string &pin_file)
{
    if (!pin_file.empty() && exists(pin_file)) {
        Fd fd(bpf_obj_get(pin_file.c_str()));
        if (!fd)
            fail(errno, "opening pinned link " + pin_file);
        bpf_link_info info{};
        uint32_t length = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
            fail(errno, "reading pinned link " + pin_file);
        if (info.type != BPF_LINK_TYPE_XDP || info.xdp.ifindex != ifindex) {
            // The interface was deleted (the link is defunct) or renamed: start over.
            unlink(pin_file.c_str());
        } else {
            if (bpf_link_update(fd.get(), program_fd, nullptr) != 0)
                fail(errno, "swapping the program into pinned link " + pin_file);
            return XdpLink(std::move(fd), ifindex, attached_mode(ifindex), pin_file, true);
        }
    }

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
    XdpLink link(Fd(fd), ifindex, used, pin_file, false);
    if (!pin_file.empty() && bpf_obj_pin(fd, pin_file.c_str()) != 0)
        fail(errno, "pinning the link at " + pin_file);
    return link;
}

XdpLink::~XdpLink()
{
    // A link made by a start-up that then failed must not outlive it.
    if (fd_ && !kept_ && !adopted_)
        unpin();
}

void XdpLink::unpin()
{
    if (!pin_.empty())
        unlink(pin_.c_str());
    pin_.clear();
}

uint32_t XdpLink::program_id() const
{
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    return bpf_obj_get_info_by_fd(fd_.get(), &info, &length) == 0 ? info.prog_id : 0;
}

// One syscall on the link itself: a netlink query per interface costs ~0.5 ms, which at 64
// interfaces made every scrape slow. The kernel reports ifindex 0 once the interface is gone or
// the link was detached from outside; while the link holds the hook nothing else can replace it.
bool XdpLink::attached() const
{
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    return bpf_obj_get_info_by_fd(fd_.get(), &info, &length) == 0 && info.xdp.ifindex == ifindex_;
}

mg_settings make_settings(const Config &config)
{
    mg_settings s{};
    s.action = config.on_oversize;
    s.mss_clamp = config.mss_clamp;
    s.icmp_global = bucket_config(config.icmp_global);
    s.icmp_per_source = bucket_config(config.icmp_per_source);
    return s;
}

mg_clock program_clock()
{
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
        fail(errno, "reading the tick length (CLOCK_MONOTONIC_COARSE)");
    const uint64_t tick_ns = uint64_t(res.tv_sec) * 1000000000 + uint64_t(res.tv_nsec);
    if (tick_ns == 0 || tick_ns > 100000000)
        throw std::runtime_error("the kernel reports a tick of " + std::to_string(tick_ns) + " ns");
    const int64_t hz = (1000000000 + int64_t(tick_ns) / 2) / int64_t(tick_ns);
    // include/linux/jiffies.h: INITIAL_JIFFIES is (unsigned long)(unsigned int)(-300 * HZ), so
    // that jiffies wrap 32 bits five minutes after boot.
    return mg_clock{tick_ns, uint64_t(uint32_t(-300 * hz))};
}

Datapath::Datapath(uint32_t max_sessions, const std::string &pin_dir, const std::vector<Prefix> &client_pools)
    : pin_dir_(pin_dir)
{
    const Prefix *pool4 = nullptr, *pool6 = nullptr;
    for (const Prefix &pool : client_pools)
        (pool.ipv4 ? pool4 : pool6) = &pool;
    const mg_client_pools pools = pools_setting(pool4, pool6);
    skel_ = mtuguard_bpf__open();
    if (!skel_)
        fail(errno, "opening the BPF object");
    try {
        int err = 0;
        for (bpf_map *map : {skel_->maps.mg_sessions4, skel_->maps.mg_sessions6})
            if (!err)
                err = bpf_map__set_max_entries(map, max_sessions);
        if (err)
            fail(err, "sizing the session map");
        if ((err = bpf_map__set_max_entries(skel_->maps.mg_direct4, std::max(pools.size4, 1u))) ||
            (err = bpf_map__set_max_entries(skel_->maps.mg_direct6, std::max(pools.size6, 1u))))
            fail(err, "sizing the client pool slots");
        if (!pin_dir_.empty()) {
            ensure_bpffs(pin_dir_);
            make_dir(pin_dir_);
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
    for (const Prefix &pool : client_pools) {
        Slots &s = slots_[pool.ipv4 ? 0 : 1];
        bpf_map *map = pool.ipv4 ? skel_->maps.mg_direct4 : skel_->maps.mg_direct6;
        s.span = span_of(pool);
        const size_t page = size_t(sysconf(_SC_PAGESIZE));
        s.mapped = (size_t(s.span.size) * sizeof(mg_session) + page - 1) / page * page;
        void *memory = mmap(nullptr, s.mapped, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
        if (memory == MAP_FAILED)
            fail(errno, "mapping the client pool slots of " + pool.to_string());
        s.slot = static_cast<mg_session *>(memory);
    }
}

mg_session *Datapath::slot(const Prefix &host) const
{
    const Slots &s = slots_[host.ipv4 ? 0 : 1];
    if (!s.slot || !host.is_host() || std::memcmp(host.addr.bytes, s.span.high, 12) != 0)
        return nullptr;
    const uint32_t offset = low32(host.addr) - s.span.first;
    return offset < s.span.size ? s.slot + offset : nullptr;
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
        if (!s.slot)
            continue;
        std::vector<uint64_t> wanted(s.span.size, 0);
        for (const SessionEntry &p : prefixes) {
            auto [begin, end] = covered(s.span, p.prefix);
            std::fill(wanted.begin() + begin, wanted.begin() + end, fill_word(p.session));
        }
        for (uint32_t i = 0; i < s.span.size; ++i) {
            const uint64_t current = load_policy(&s.slot[i]);
            if (!holds_session(current) && current != wanted[i])
                store_policy(&s.slot[i], wanted[i]);
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

void Datapath::set_settings(const mg_settings &settings)
{
    // Keep the pool bits: they follow the pool map, not the configuration.
    uint32_t pools = skel_->bss->mg_settings.has_pools;
    skel_->bss->mg_settings = settings;
    skel_->bss->mg_settings.has_pools = pools;
}

const mg_settings &Datapath::settings() const { return skel_->bss->mg_settings; }

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
        s->stats = value.stats;
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
            skel_->bss->mg_settings.has_pools |= prefix.ipv4 ? MG_HAS_POOLS4 : MG_HAS_POOLS6;
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
    std::vector<uint32_t> keys4;
    std::vector<mg_addr> keys6;
    std::vector<mg_session> values4, values6;
    for (size_t i = 0; i < sessions.size(); ++i) {
        SessionEntry &entry = sessions[i];
        if (!fresh[i] || !entry.prefix.is_host() || slot(entry.prefix)) {
            old[i] = session(entry.prefix);
            if (old[i])
                entry.session.stats = old[i]->stats;
            set_session(entry.prefix, entry.session);
        } else if (entry.prefix.ipv4) {
            uint32_t key;
            std::memcpy(&key, &entry.prefix.addr.bytes[12], 4);
            keys4.push_back(key);
            values4.push_back(entry.session);
        } else {
            keys6.push_back(entry.prefix.addr);
            values6.push_back(entry.session);
        }
    }
    auto load = [&](bpf_map *map, const auto &keys, const std::vector<mg_session> &values) {
        LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
        for (size_t done = 0; done < keys.size();) {
            uint32_t n = keys.size() - done;
            int err = bpf_map_update_batch(bpf_map__fd(map), &keys[done], &values[done], &n, &opts);
            if (err == -E2BIG || err == -ENOSPC)
                fail(ENOSPC, "session map full (" + std::to_string(max_sessions()) + " entries, --max-sessions)");
            if (err)
                fail(err, "writing sessions");
            done += n;
        }
    };
    load(skel_->maps.mg_sessions4, keys4, values4);
    load(skel_->maps.mg_sessions6, keys6, values6);
    return old;
}

std::optional<mg_session> Datapath::session(const Prefix &prefix) const
{
    mg_session session;
    int err;
    if (const mg_session *s = slot(prefix)) {
        session = *s;
        const uint64_t policy = load_policy(s);
        std::memcpy(&session, &policy, sizeof(policy));
        return holds_session(policy) ? std::optional<mg_session>(session) : std::nullopt;
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
        s->stats = {};
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
        for (uint32_t i = 0; s.slot && i < s.span.size; ++i) {
            const uint64_t policy = load_policy(&s.slot[i]);
            if (!holds_session(policy))
                continue;
            mg_addr addr{};
            std::memcpy(addr.bytes, s.span.high, 12);
            const uint32_t low = htonl(s.span.first + i);
            std::memcpy(&addr.bytes[12], &low, 4);
            mg_session session = s.slot[i];
            std::memcpy(&session, &policy, sizeof(policy));
            out.push_back(make_entry(addr, 128, session));
        }
    }
    std::vector<SessionEntry> pool_entries = pools();
    out.insert(out.end(), pool_entries.begin(), pool_entries.end());
    return out;
}

int Datapath::program_fd() const { return bpf_program__fd(skel_->progs.mtuguard_xdp); }

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

void ensure_bpffs(const std::string &path)
{
    // The nearest existing ancestor decides which filesystem the pins land on.
    std::string probe = path;
    struct stat st;
    while (!probe.empty() && stat(probe.c_str(), &st) != 0)
        probe = probe.substr(0, probe.rfind('/'));
    if (probe.empty())
        probe = "/";
    struct statfs fs;
    if (statfs(probe.c_str(), &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
        return;
    std::string tried;
    if (probe == "/sys/fs/bpf") {
        if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0) {
            log::warning("mounted a bpf filesystem on /sys/fs/bpf; if this runs in a mount namespace of its "
                         "own (ip netns exec, a container), the pins end with it and a restart cannot re-adopt "
                         "them: mount bpffs where it outlives the daemon and point --pin-path there");
            return;
        }
        tried = std::string("; mounting one on /sys/fs/bpf failed: ") + std::strerror(errno);
    }
    throw std::runtime_error("--pin-path " + path + ": not on a bpf filesystem" + tried +
                             " (mount one with `mount -t bpf bpf /sys/fs/bpf`, or choose a path inside one)");
}

int remove_pins(const std::string &pin_dir)
{
    int removed = 0;
    for (const char *sub : {"/links", "/maps"}) {
        const std::string dir = pin_dir + sub;
        DIR *d = opendir(dir.c_str());
        if (!d)
            continue;
        while (dirent *e = readdir(d)) {
            if (e->d_name[0] == '.')
                continue;
            removed += unlink((dir + "/" + e->d_name).c_str()) == 0;
        }
        closedir(d);
        rmdir(dir.c_str());
    }
    rmdir(pin_dir.c_str());
    return removed;
}

} // namespace mtuguard
