// The Agent's interfaces: their counter slots and rows in the program's interface table, and
// the XDP links and the MSS clamp's tc programs on them, attached at start-up and again when an
// interface comes back.
#include "daemon/agent.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/log.hpp"
#include "kernel/xdp_tx_errors.hpp"

namespace mtuguard {

// The enforced interfaces first, then the client-facing ones.
std::vector<InterfaceInfo> resolve_interfaces(const Config &config)
{
    std::vector<InterfaceInfo> interfaces;
    for (const auto *list : {&config.ifaces, &config.client_ifaces}) {
        const std::string option = list == &config.ifaces ? "--iface " : "--client-iface ";
        for (const auto &name : *list) {
            try {
                interfaces.push_back(query_interface(name));
            } catch (const std::exception &e) {
                // A client side that comes and goes (ocserv's vpnsN appear with their users) is
                // waited for: attached when rtnetlink announces it. An enforced one must be there.
                if (list == &config.ifaces)
                    throw ConfigError(option + name + ": " + e.what());
                interfaces.push_back(InterfaceInfo{.name = name});
                continue;
            }
            if (list == &config.ifaces && interfaces.back().l3_only)
                throw ConfigError(option + name + ": has no Ethernet header (a tun device): it can only "
                                                  "be a --client-iface, where the clients' SYNs are clamped");
        }
    }
    check_pools_apart(config.client_pools,
                      std::vector<InterfaceInfo>(interfaces.begin(), interfaces.begin() + config.ifaces.size()));
    return interfaces;
}

void check_pools_apart(const std::vector<Prefix> &client_pools, const std::vector<InterfaceInfo> &enforced)
{
    for (const Prefix &pool : client_pools)
        for (const InterfaceInfo &info : enforced)
            for (const Prefix &address : info.addresses)
                if (pool.ipv4 == address.ipv4 && pool.covers(address))
                    throw ConfigError("client pool " + pool.to_string() + " covers " + address.to_string() +
                                      ", this gateway's address on --iface " + info.name +
                                      ", which faces the servers: a client pool holds the VPN clients' addresses "
                                      "only; give their range with --client-pool (or correct the pool prefix or "
                                      "ocserv pool it was taken from)");
}

mg_iface make_iface(const InterfaceInfo &info, uint32_t slot, const Config &config)
{
    mg_iface iface{};
    iface.slot = slot;
    iface.mtu = info.mtu;
    iface.l3_only = info.l3_only;
    if (info.mac) {
        std::memcpy(iface.mac, info.mac->data(), sizeof(iface.mac));
        iface.has_mac = 1;
    }
    iface.direction = std::find(config.client_ifaces.begin(), config.client_ifaces.end(), info.name) !=
                              config.client_ifaces.end()
                          ? MG_DIR_FROM_CLIENT
                          : MG_DIR_TO_CLIENT;
    auto source4 = config.icmp_source4 ? config.icmp_source4 : info.address4;
    auto source6 = config.icmp_source6 ? config.icmp_source6 : info.address6;
    if (source4) {
        std::memcpy(iface.icmp_src4, &source4->addr.bytes[12], 4);
        iface.has_src4 = 1;
    }
    if (source6) {
        std::memcpy(iface.icmp_src6, source6->addr.bytes, 16);
        iface.has_src6 = 1;
    }
    return iface;
}

std::string link_pin(const Config &config, const std::string &iface)
{
    return config.pin_path.empty() ? "" : config.pin_path + "/links/" + iface;
}

// Counter slots stay with their interface across restarts, so counters continue; an interface
// new to the table takes the lowest slot no configured interface holds.
void Agent::plan_slots(const InterfaceRows &existing)
{
    std::set<uint32_t> used;
    for (const auto &info : interfaces_)
        for (const auto &[ifindex, iface] : existing)
            if (ifindex == info.ifindex)
                used.insert(iface.slot);
    for (const auto &info : interfaces_) {
        uint32_t slot = 0;
        for (const auto &[ifindex, iface] : existing)
            if (ifindex == info.ifindex)
                slot = iface.slot;
        for (uint32_t candidate = 1; !slot && candidate < MG_MAX_IFACES; ++candidate)
            if (!used.count(candidate))
                used.insert(slot = candidate);
        slots_.push_back(slot);
    }
}

void Agent::write_interface_rows(const InterfaceRows &existing, bool missing_only)
{
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        const InterfaceInfo &info = interfaces_[i];
        if (!info.ifindex)
            continue; // waited for: its row comes with it
        const bool has_row = std::any_of(existing.begin(), existing.end(),
                                         [&](const auto &row) { return row.first == info.ifindex; });
        if (missing_only && has_row)
            continue;
        const mg_iface iface = make_iface(info, slots_[i], config_);
        datapath_.set_iface(info.ifindex, iface);
        if (missing_only)
            continue; // warned about once, when every row is written
        const bool answers = iface.direction == MG_DIR_TO_CLIENT &&
                             (config_.on_oversize == MG_ACTION_ICMP || config_.on_oversize == MG_ACTION_CLEAR_DF);
        if (answers && !iface.has_src4)
            log::warning(info.name + ": no IPv4 address: oversize IPv4 gets no frag-needed (set --icmp-source)");
        if (answers && !iface.has_src6)
            log::warning(info.name + ": no IPv6 address: oversize IPv6 gets no Packet Too Big (set --icmp-source)");
    }
}

// Rows and pinned links of interfaces an earlier daemon enforced that this configuration no
// longer names.
void Agent::forget_unconfigured(const InterfaceRows &existing)
{
    for (const auto &[ifindex, iface] : existing) {
        bool configured = false;
        for (const auto &info : interfaces_)
            configured |= info.ifindex == ifindex;
        if (!configured)
            datapath_.delete_iface(ifindex);
    }
    if (config_.pin_path.empty())
        return;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(config_.pin_path + "/links", ec)) {
        const std::string name = entry.path().filename();
        if (std::find(config_.ifaces.begin(), config_.ifaces.end(), name) == config_.ifaces.end() &&
            std::find(config_.client_ifaces.begin(), config_.client_ifaces.end(), name) == config_.client_ifaces.end()) {
            std::filesystem::remove(entry.path(), ec);
            log::info("detached from " + name + ": no longer configured");
        }
    }
}

// Attaches everywhere, or swaps this program into the links an earlier daemon pinned. A throw
// destroys the links made so far, which detaches them again.
void Agent::attach_all()
{
    tx_counts_.resize(interfaces_.size());
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        const InterfaceInfo &info = interfaces_[i];
        if (!info.ifindex) {
            links_.push_back(XdpLink::none());
            clamps_.push_back(nullptr);
            log::warning("--client-iface " + info.name + " does not exist yet: waiting for it; the programs are "
                         "attached when it appears");
            continue;
        }
        // Before the program is there, nothing of ours can fail: every error from here on is.
        tx_counts_[i].rebase(read_xdp_tx_errors(info.name));
        try {
            links_.push_back(XdpLink::attach(datapath_.program_fd(), info.ifindex, config_.xdp_mode,
                                             link_pin(config_, info.name)));
        } catch (const std::system_error &e) {
            throw std::runtime_error("--iface " + info.name + ": " + e.what() +
                                     (links_.empty() ? "" : "; undone on the interfaces already attached"));
        }
        try {
            clamps_.push_back(std::make_unique<MssClamp>(datapath_, info.ifindex, info.name));
        } catch (const std::system_error &e) {
            throw std::runtime_error("--iface " + info.name + ": " + e.what() + "; undone on the interfaces already attached");
        }
        const XdpLink &link = links_.back();
        log::info(std::string(link.adopted() ? "re-adopted " : "attached to ") + info.name + " (ifindex " +
                  std::to_string(info.ifindex) + ", " + xdp_mode_name(link.mode()) + " mode, mtu " +
                  std::to_string(info.mtu) + ", program id " + std::to_string(link.program_id()) +
                  "; MSS clamp in tc, " + clamps_.back()->hook() + ")");
        if (link.adopted() && config_.xdp_mode != XdpMode::Auto && config_.xdp_mode != link.mode())
            log::warning(info.name + ": kept running in " + xdp_mode_name(link.mode()) + " mode; --xdp-mode " +
                         xdp_mode_name(config_.xdp_mode) + " applies after `mtuguardctl detach`");
        check_xdp_tx_path(info, link.mode());
    }
}

void Agent::check_xdp_tx_path(const InterfaceInfo &info, XdpMode mode) const
{
    // Only native mode hands XDP_TX frames to the veth's peer directly; in generic mode they go
    // out through the normal transmit path. A --client-iface sends no ICMP errors.
    const bool enforced = std::find(config_.ifaces.begin(), config_.ifaces.end(), info.name) != config_.ifaces.end();
    if (mode != XdpMode::Native || !enforced)
        return;
    const PeerCheck peer = check_veth_peer(info.ifindex);
    const std::string which = "peer " + (peer.peer_name.empty() ? std::string() : peer.peer_name + " ") + "(ifindex " +
                              std::to_string(peer.peer_ifindex) +
                              (peer.other_namespace ? ", in another network namespace)" : ")");
    switch (peer.state) {
    case PeerXdp::Missing:
        log::warning(info.name + ": a veth in native XDP mode whose " + which + " has no XDP program: the kernel "
                     "drops every ICMP error sent back with XDP_TX, and senders never learn the MTU "
                     "(mtuguard_icmp_tx_errors_total counts them); run with --xdp-mode generic, or attach an XDP "
                     "program to the peer (one that passes every packet is enough)");
        break;
    case PeerXdp::Unknown:
        log::info(info.name + ": a veth in native XDP mode; whether its " + which + " has the XDP program it needs "
                  "to receive ICMP errors sent with XDP_TX could not be checked (" + peer.why + "): without one they "
                  "are dropped, which mtuguard_icmp_tx_errors_total and a warning here will show");
        break;
    case PeerXdp::NotVeth:
    case PeerXdp::Attached: break;
    }
}

void Agent::watch_tx_errors()
{
    std::vector<std::string> names;
    {
        std::lock_guard lock(mutex_);
        for (const auto &info : interfaces_)
            names.push_back(info.name);
    }
    tx_watch_.resize(names.size());
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < names.size(); ++i) {
        TxErrorWatch &watch = tx_watch_[i];
        const std::optional<uint64_t> count = tx_errors(i, names[i]);
        // A re-created interface starts again from 0: that is a new baseline, not a rise.
        const bool rose = count && watch.last && *count > *watch.last;
        if (rose && !watch.rising && now - watch.warned >= std::chrono::minutes(1)) {
            watch.warned = now;
            log::warning(names[i] + ": " + std::to_string(*count - *watch.last) + " ICMP error(s) sent with XDP_TX were "
                         "dropped by the driver (" + std::to_string(*count) + " since mtuguardd attached): senders "
                         "are not told the MTU; on a veth in native mode its peer needs an XDP program, or run with "
                         "--xdp-mode generic (`mtuguardctl diagnose`)");
        }
        watch.rising = rose;
        watch.last = count;
    }
}

void Agent::refresh_interfaces(const LinkChanges &changes)
{
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        if (changes.overrun || changes.names.count(interfaces_[i].name) ||
            changes.ifindexes.count(interfaces_[i].ifindex)) {
            try {
                refresh_interface_locked(i, config_);
            } catch (const std::exception &e) {
                log::error(interfaces_[i].name + ": updating the interface table failed: " + e.what());
            }
        }
    }
}

// Level-triggered: whatever the messages said, the interface of this name as the kernel has it
// now decides. The program belongs on it unless it is the very link this daemon holds.
void Agent::refresh_interface_locked(size_t i, const Config &config)
{
    InterfaceInfo &info = interfaces_[i];
    std::optional<InterfaceInfo> now;
    try {
        now = query_interface(info.name);
    } catch (const std::exception &) {
    }
    if (!now) {
        if (present_[i]) {
            present_[i] = false;
            datapath_.delete_iface(info.ifindex);
            log::warning(info.name + " went away (ifindex " + std::to_string(info.ifindex) +
                         "): nothing is enforced there until an interface of that name returns");
        }
        return;
    }
    if (now->ifindex == info.ifindex && links_[i].attached()) {
        if (now->mtu != info.mtu || now->address4 != info.address4 || now->address6 != info.address6 ||
            now->mac != info.mac)
            log::info(info.name + ": mtu " + std::to_string(now->mtu) + ", ICMP source addresses as the interface has them now");
        info = *now;
        datapath_.set_iface(info.ifindex, make_iface(info, slots_[i], config));
        present_[i] = true;
        return;
    }
    const bool enforced = i < config.ifaces.size();
    if (enforced && now->l3_only) {
        log::error(info.name + " is back without an Ethernet header (a tun device): not attaching; it can only be "
                               "a --client-iface");
        present_[i] = true;
        return;
    }
    {
        // A new interface of this name: its driver counts from 0, the exported count continues.
        std::lock_guard tx_lock(tx_mutex_);
        tx_counts_[i].rebase(read_xdp_tx_errors(info.name));
    }
    std::optional<XdpLink> link;
    std::unique_ptr<MssClamp> clamp;
    try {
        link.emplace(XdpLink::attach(datapath_.program_fd(), now->ifindex, config.xdp_mode, link_pin(config, info.name)));
        clamp = std::make_unique<MssClamp>(datapath_, now->ifindex, info.name);
    } catch (const std::system_error &e) {
        log::error(info.name + " is there (ifindex " + std::to_string(now->ifindex) + ") but attaching failed: " +
                   e.what() + "; trying again at its next change");
        return;
    }
    link->keep();
    const uint32_t old_ifindex = info.ifindex;
    if (old_ifindex && old_ifindex != now->ifindex)
        datapath_.delete_iface(old_ifindex);
    info = *now;
    datapath_.set_iface(info.ifindex, make_iface(info, slots_[i], config));
    links_[i] = std::move(*link);
    clamps_[i] = std::move(clamp);
    present_[i] = true;
    if (!old_ifindex) {
        log::info("attached to " + info.name + ", which appeared (ifindex " + std::to_string(info.ifindex) + ", " +
                  xdp_mode_name(links_[i].mode()) + " mode, mtu " + std::to_string(info.mtu) + ", program id " +
                  std::to_string(links_[i].program_id()) + "; MSS clamp in tc, " + clamps_[i]->hook() + ")");
        return;
    }
    ++reattaches_[i];
    log::info("re-attached to " + info.name + " (ifindex " + std::to_string(old_ifindex) + " -> " +
              std::to_string(info.ifindex) + ", " + xdp_mode_name(links_[i].mode()) + " mode, mtu " +
              std::to_string(info.mtu) + ", program id " + std::to_string(links_[i].program_id()) +
              "): enforcing there again");
    check_xdp_tx_path(info, links_[i].mode());
}

std::vector<InterfaceStatus> Agent::interfaces() const
{
    std::unique_lock lock(mutex_);
    std::vector<InterfaceStatus> out;
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        InterfaceStatus s;
        s.name = interfaces_[i].name;
        s.slot = slots_[i];
        // Asked of the kernel at every scrape: an interface deleted (until it is back and
        // re-attached), or a program detached from outside, shows as detached.
        s.attached = i < links_.size() && links_[i].attached();
        s.mode = i < links_.size() ? xdp_mode_name(links_[i].mode()) : "none";
        s.reattaches = reattaches_[i];
        // Held, and on the interface the link is on: a tc program goes with its interface.
        s.mss_attached = i < clamps_.size() && clamps_[i] && s.attached;
        out.push_back(s);
    }
    lock.unlock();
    // Read outside the lock: one ioctl round per interface, no map or netlink traffic.
    for (size_t i = 0; i < out.size(); ++i)
        out[i].icmp_tx_errors = tx_errors(i, out[i].name);
    return out;
}

std::optional<uint64_t> Agent::tx_errors(size_t i, const std::string &name) const
{
    // Read under the lock: two readers applying their reads out of order would look like a count
    // that went down, a re-created interface.
    std::lock_guard lock(tx_mutex_);
    return i < tx_counts_.size() ? tx_counts_[i].update(read_xdp_tx_errors(name)) : std::nullopt;
}

} // namespace mtuguard
