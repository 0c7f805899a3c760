// What becomes of the ICMP errors the program sends with XDP_TX once they leave it: the driver's
// own count of XDP_TX frames it failed to send (ethtool statistics), and whether a veth's peer can
// take them at all. A veth in native mode drops every XDP_TX frame unless its peer has an XDP
// program of its own; the program counts each as sent all the same, so only the driver knows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mtuguard {

// The names of an ETHTOOL_GSTRINGS answer: `count` fixed-width fields of `width` bytes, each
// NUL-padded but not necessarily NUL-terminated. Fields beyond `size` bytes are not read.
std::vector<std::string> parse_stat_names(const char *data, size_t size, size_t count, size_t width);

// The sum of every statistic whose name ends in "xdp_tx_errors" (a veth has one per receive
// queue: rx_queue_N_xdp_tx_errors); nullopt when the driver has none, which is not the same as 0.
// Values beyond names.size() or names beyond values.size() are ignored.
std::optional<uint64_t> sum_xdp_tx_errors(const std::vector<std::string> &names, const std::vector<uint64_t> &values);

// The interface's XDP_TX error count read through SIOCETHTOOL (ETH_SS_STATS); nullopt when the
// interface is gone, its driver has no statistics or none of XDP_TX errors. Needs no capability.
std::optional<uint64_t> read_xdp_tx_errors(const std::string &ifname);

// The driver's count runs since the interface came up; the daemon exports the errors since it
// attached, so a count that stopped rising after a cure reads 0 after a restart, and an interface
// deleted and re-created (its count back at 0) continues the series instead of resetting it.
// Pure; the caller serialises access.
class TxErrorCount {
public:
    // At an attach (or re-attach): what was counted so far is kept, and the driver's count now is
    // the new starting point (nullopt: the next update's is).
    void rebase(std::optional<uint64_t> driver);
    // The driver's count now (nullopt: it has none, or the interface is gone) to the exported
    // value: nullopt when the driver has none now.
    std::optional<uint64_t> update(std::optional<uint64_t> driver);

private:
    void fold();
    std::optional<uint64_t> base_, last_;
    uint64_t folded_ = 0;
};

// Whether XDP_TX frames sent out of an interface reach its veth peer.
enum class PeerXdp {
    NotVeth,   // not a veth: nothing known either way (the counter tells)
    Attached,  // a veth whose peer has an XDP program: XDP_TX frames are delivered
    Missing,   // a veth whose peer has none: every XDP_TX frame is dropped
    Unknown,   // a veth whose peer could not be looked at (another namespace, no permission)
};
struct PeerCheck {
    PeerXdp state = PeerXdp::NotVeth;
    uint32_t peer_ifindex = 0;
    std::string peer_name;     // when it could be read
    bool other_namespace = false;
    std::string why;           // for Unknown: what failed
};
// Asks rtnetlink about `ifindex` and, if it is a veth, about its peer (IFLA_LINK; in another
// namespace through IFLA_LINK_NETNSID and IFLA_TARGET_NETNSID, which needs CAP_NET_ADMIN there).
PeerCheck check_veth_peer(uint32_t ifindex);

} // namespace mtuguard
