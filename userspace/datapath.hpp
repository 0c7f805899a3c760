// The thin RAII layer over libbpf: the loaded enforcement program with its maps (Datapath) and
// one XDP attachment per interface (XdpLink). Every kernel object is released by a destructor,
// so an error half-way through start-up unwinds everything that was already attached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "address.hpp"
#include "config.hpp"
#include "mtuguard_kern_user.h"

struct mtuguard_bpf;

namespace mtuguard {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    ~Fd();
    int get() const { return fd_; }
    int release() { int fd = fd_; fd_ = -1; return fd; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

// A BPF link attaching an XDP program to an interface; closing it detaches the program.
class XdpLink {
public:
    // auto tries native (driver) mode first, then generic. Throws std::system_error.
    static XdpLink attach(int program_fd, uint32_t ifindex, XdpMode mode);
    XdpMode mode() const { return mode_; }
    uint32_t ifindex() const { return ifindex_; }

private:
    XdpLink(Fd fd, uint32_t ifindex, XdpMode mode) : fd_(std::move(fd)), ifindex_(ifindex), mode_(mode) {}
    Fd fd_;
    uint32_t ifindex_;
    XdpMode mode_;
};

// Settings as the program reads them: token-bucket fill times precomputed.
mg_settings make_settings(const Config &config);

class Datapath {
public:
    // Opens and loads the program with a session map of `max_sessions`. Throws std::system_error.
    explicit Datapath(uint32_t max_sessions);
    ~Datapath();
    Datapath(const Datapath &) = delete;
    Datapath &operator=(const Datapath &) = delete;

    void set_settings(const mg_settings &settings);
    const mg_settings &settings() const;
    void set_iface(uint32_t ifindex, const mg_iface &iface);
    // An exact address goes to the session map, a prefix to the pool trie. Throws on a full map.
    void set_session(const Prefix &prefix, const mg_session &session);

    int program_fd() const;
    // Counters summed over CPUs: entries [first, first + count) of mg_counter_index().
    std::vector<mg_counter> counters(uint32_t first = 0, uint32_t count = MG_COUNTER_ENTRIES) const;
    // Oversize packet sizes summed over CPUs, indexed by slot * MG_FAMILY_COUNT + family.
    std::vector<mg_size_histogram> oversize_sizes() const;
    // Direct map access for tests and tools.
    int map_fd(const char *name) const;

private:
    mtuguard_bpf *skel_ = nullptr;
};

} // namespace mtuguard
