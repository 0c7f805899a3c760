// The thin RAII layer over libbpf: the loaded enforcement program with its maps. Every kernel
// object is released by a destructor, so an error half-way through start-up unwinds everything
// that was already made. Its attachments are XdpLinks (xdp_link.hpp), its pins pins.hpp's, its
// client pools' slot arithmetic client_pool.hpp's.
//
// With a pin directory, maps live at PIN/maps/NAME and links at PIN/links/IFNAME on a bpf
// filesystem, so enforcement outlives the daemon (--keep-attached, SIGKILL, a crash) and the
// next daemon re-adopts it: pinned maps are reused when their layout matches, pinned links get
// the new program swapped in atomically with bpf_link_update — no gap in enforcement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "common/fd.hpp"
#include "config/config.hpp"
#include "kernel/client_pool.hpp"
#include "kernel/pins.hpp"
#include "mtuguard_kern_user.h"

struct mtuguard_bpf;
struct bpf_map;

namespace mtuguard {

struct SessionEntry {
    Prefix prefix;
    mg_session session{};
};

class Datapath {
public:
    // Opens and loads the program with a session map of `max_sessions` and a slot array per
    // family holding its client pools' slots (at most MG_MAX_CLIENT_POOLS per family, apart,
    // validated by the configuration; std::invalid_argument otherwise). With
    // `pin_dir`, reuses the maps pinned there (after checking their layout and that they were
    // made for the same client pools) or pins new ones. Throws std::system_error, or
    // std::runtime_error naming an incompatible pinned map.
    explicit Datapath(uint32_t max_sessions, const std::string &pin_dir = "",
                      const std::vector<Prefix> &client_pools = {});
    ~Datapath();
    Datapath(const Datapath &) = delete;
    Datapath &operator=(const Datapath &) = delete;

    // The maps came from an earlier daemon's pins.
    bool adopted() const { return adopted_; }
    // The start-up succeeded: pins now outlive this object.
    void keep() { kept_ = true; }
    // Removes the map pins (the maps go when the last program using them does).
    void unpin();

    // Publishes new settings whole (struct mg_settings): written into the slot no packet reads,
    // then made live with one store; each packet sees the old or the new, never a mix. The pool
    // bits are kept: they follow the pool map, not the configuration. May wait for a grace
    // period (a few milliseconds) before it writes.
    void set_settings(const mg_settings &settings);
    // The live settings.
    const mg_settings &settings() const;
    void set_iface(uint32_t ifindex, const mg_iface &iface);
    void delete_iface(uint32_t ifindex);
    std::vector<std::pair<uint32_t, mg_iface>> ifaces() const;

    // An exact address goes to its client pool's slot or else its family's session map, a prefix
    // to the pool trie (and its policy to the client pool slots it covers that hold no
    // session), the value as given (counters included). One map update or one 8-byte store
    // each: the program sees the whole old or the whole new session. Throws std::system_error
    // (ENOSPC when the session map is full).
    void set_session(const Prefix &prefix, const mg_session &session);
    // Many sessions, the new ones (`fresh`) with batched updates; the caller checks capacity
    // first. Existing sessions keep their counters. Returns the previous value of each entry
    // that was not fresh. All or nothing: a write that fails undoes the ones before it.
    std::vector<std::optional<mg_session>> set_sessions(std::vector<SessionEntry> sessions,
                                                        const std::vector<bool> &fresh);
    // The session or pool with exactly this prefix, counters included.
    std::optional<mg_session> session(const Prefix &prefix) const;
    bool delete_session(const Prefix &prefix);
    // Each client pool, as the program searches them, and the sessions in its slots.
    std::vector<std::pair<Prefix, uint64_t>> client_pool_use() const;
    // Every session and pool in the maps (to re-adopt what an earlier daemon left).
    std::vector<SessionEntry> sessions() const;
    std::vector<SessionEntry> pools() const;

    // Who an exact session belongs to (struct mg_session_meta), kept beside it for the daemon
    // alone: the data path never reads it. set_meta with an all-default value removes the entry.
    // Throws std::system_error.
    void set_meta(const Prefix &host, const mg_session_meta &meta);
    std::optional<mg_session_meta> meta(const Prefix &host) const;
    void delete_meta(const Prefix &host);
    // Every entry, keyed by mapped address, read in one walk.
    std::vector<std::pair<mg_addr, mg_session_meta>> metas() const;

    // The XDP program (the MTU decision).
    int program_fd() const;
    // The tc programs that clamp the MSS of the sessions' SYNs, for each direction.
    int mss_program_fd(bool ingress) const;
    uint32_t max_sessions() const;
    // Counters summed over CPUs: entries [first, first + count) of mg_counter_index().
    std::vector<mg_counter> counters(uint32_t first = 0, uint32_t count = MG_COUNTER_ENTRIES) const;
    // MSS clamping outcomes summed over CPUs: entries [first, first + count) of mg_mss_index().
    std::vector<uint64_t> mss_counters(uint32_t first = 0, uint32_t count = MG_MSS_ENTRIES) const;
    // Oversize packet sizes summed over CPUs, indexed by slot * MG_FAMILY_COUNT + family.
    std::vector<mg_size_histogram> oversize_sizes() const;
    // Oversize packets of flows answered a second or more before (flows.bpf.h), by slot.
    std::vector<uint64_t> unheeded() const;
    // Direct map access for tests and tools.
    int map_fd(const char *name) const;

private:
    // One family's client pools' slots, mapped into this process.
    struct Slots {
        std::vector<ClientPoolSpan> spans; // sorted, as the program searches them
        mg_session *slot = nullptr;
        size_t mapped = 0; // bytes
    };

    ::bpf_map *iface_map(uint32_t ifindex) const;
    ::bpf_map *session_map(const Prefix &prefix) const;
    void map_slots(const std::vector<Prefix> &client_pools);
    // The slot of a host address in a client pool, or null.
    mg_session *slot(const Prefix &host) const;
    // Rewrites the slots that hold no session with the policy of the longest pool prefix that
    // covers them (or empty): after a pool prefix changed.
    void refill_slots();
    void load_batch(::bpf_map *map, const std::vector<SessionEntry> &sessions, const std::vector<size_t> &which,
                    std::vector<size_t> &written);
    void publish_settings(const mg_settings &settings);

    mtuguard_bpf *skel_ = nullptr;
    Slots slots_[2]; // IPv4, IPv6
    std::string pin_dir_;
    std::optional<PinDirLock> lock_; // held from before the pins are read until this is gone
    bool adopted_ = false;
    bool kept_ = false;
    // Packets may still be reading the settings slot that is not live (it was live until the
    // last publish, or another daemon's program shares the pinned globals).
    bool retired_settings_read_ = true;
};

} // namespace mtuguard
