// Tunnel addresses and pool prefixes as the maps key them: IPv6, or IPv4 mapped as
// ::ffff:a.b.c.d, so one session map serves both families.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mtuguard_kern_user.h"

namespace mtuguard {

struct Prefix {
    mg_addr addr{};     // mapped for IPv4
    bool ipv4 = false;
    unsigned length = 0; // in the family's own bits: 0-32 or 0-128

    bool is_host() const { return length == (ipv4 ? 32u : 128u); }
    unsigned mapped_length() const { return ipv4 ? 96 + length : length; }
    mg_family family() const { return ipv4 ? MG_FAMILY_IPV4 : MG_FAMILY_IPV6; }
    mg_pool_key pool_key() const { return {mapped_length(), addr}; }
    std::string to_string() const;
    bool operator==(const Prefix &) const;
    // `other` (an address or a longer prefix) of the same family lies inside this prefix.
    bool covers(const Prefix &other) const;
};

// "192.0.2.7", "2001:db8::7", "10.8.0.0/16", "2001:db8:1::/64". Errors name what was wrong.
Prefix parse_prefix(std::string_view text);
// An address without a prefix length.
Prefix parse_address(std::string_view text);

mg_addr map_ipv4(uint32_t network_order);
// The prefix a map key names: a mapped address with its mapped length (128 for one address).
Prefix mapped_prefix(const mg_addr &addr, unsigned mapped_length = 128);

} // namespace mtuguard
