// What the daemon needs to know of an interface it attaches to: its index, its MTU (a longer
// IP packet can only be a GRO aggregate) and the addresses ICMP errors are sent from, its MAC
// address included.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"

namespace mtuguard {

struct InterfaceInfo {
    std::string name;
    uint32_t ifindex = 0;
    uint32_t mtu = 0;
    bool l3_only = false; // no Ethernet header (ARPHRD_NONE): a tun device
    std::optional<std::array<uint8_t, 6>> mac; // an Ethernet interface's own address
    std::optional<Prefix> address4;
    std::optional<Prefix> address6; // a global address if there is one, else link-local
    std::vector<Prefix> addresses;  // every address of the interface, both families
};

// Throws std::runtime_error when the interface does not exist.
InterfaceInfo query_interface(const std::string &name);

} // namespace mtuguard
