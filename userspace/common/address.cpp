#include "common/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mtuguard {

mg_addr map_ipv4(uint32_t network_order)
{
    mg_addr a{};
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &network_order, 4);
    return a;
}

bool Prefix::operator==(const Prefix &other) const
{
    return ipv4 == other.ipv4 && length == other.length &&
           std::memcmp(addr.bytes, other.addr.bytes, sizeof(addr.bytes)) == 0;
}

bool Prefix::covers(const Prefix &other) const
{
    if (ipv4 != other.ipv4 || other.length < length)
        return false;
    const unsigned bits = mapped_length(), whole = bits / 8, rest = bits % 8;
    if (std::memcmp(addr.bytes, other.addr.bytes, whole) != 0)
        return false;
    const uint8_t mask = uint8_t(0xff00 >> rest);
    return !rest || (addr.bytes[whole] & mask) == (other.addr.bytes[whole] & mask);
}

std::string Prefix::to_string() const
{
    char text[INET6_ADDRSTRLEN];
    if (ipv4)
        inet_ntop(AF_INET, &addr.bytes[12], text, sizeof(text));
    else
        inet_ntop(AF_INET6, addr.bytes, text, sizeof(text));
    std::string out = text;
    if (!is_host())
        out += "/" + std::to_string(length);
    return out;
}

Prefix parse_prefix(std::string_view text)
{
    std::string address(text.substr(0, text.find('/')));
    Prefix prefix;
    in_addr v4;
    in6_addr v6;

    // inet_pton stops at a NUL: "10.8.0.5\0junk" must not read as 10.8.0.5.
    if (address.find('\0') != std::string::npos) {
        throw std::invalid_argument("'" + std::string(text.substr(0, text.find('\0'))) +
                                    "' is followed by a NUL byte: not an IPv4 or IPv6 address");
    } else if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
        prefix.ipv4 = true;
        prefix.addr = map_ipv4(v4.s_addr);
    } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
        std::memcpy(prefix.addr.bytes, &v6, sizeof(v6));
    } else {
        throw std::invalid_argument("'" + address + "' is not an IPv4 or IPv6 address");
    }

    const unsigned max = prefix.ipv4 ? 32 : 128;
    prefix.length = max;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        std::string length(text.substr(slash + 1));
        if (length.empty() || length.size() > 3 ||
            length.find_first_not_of("0123456789") != std::string::npos ||
            std::stoul(length) > max)
            throw std::invalid_argument("prefix length '" + length + "' is not 0-" +
                                        std::to_string(max));
        prefix.length = std::stoul(length);
    }

    // The maps hold IPv4 as ::ffff:a.b.c.d; an IPv6 prefix reaching into that range would
    // silently apply to IPv4 clients.
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!prefix.ipv4) {
        unsigned common = std::min(prefix.length, 96u);
        bool overlaps = true;
        for (unsigned bit = 0; bit < common; ++bit) {
            uint8_t mask = 0x80 >> (bit % 8);
            if ((prefix.addr.bytes[bit / 8] & mask) != (mapped[bit / 8] & mask))
                overlaps = false;
        }
        if (overlaps)
            throw std::invalid_argument("'" + std::string(text) +
                                        "' covers IPv4-mapped addresses (::ffff:0:0/96); "
                                        "write IPv4 sessions as IPv4");
    }

    // A pool prefix must name a network: host bits set are almost always a typo.
    const unsigned first = prefix.ipv4 ? 96 + prefix.length : prefix.length;
    for (unsigned bit = first; bit < 128; ++bit) {
        if (prefix.addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
            throw std::invalid_argument("'" + std::string(text) +
                                        "' has host bits set after the prefix length");
    }
    return prefix;
}

Prefix parse_address(std::string_view text)
{
    if (text.find('/') != std::string_view::npos)
        throw std::invalid_argument("'" + std::string(text) + "' must be an address, not a prefix");
    return parse_prefix(text);
}

Prefix mapped_prefix(const mg_addr &addr, unsigned mapped_length)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    Prefix prefix;
    prefix.addr = addr;
    prefix.ipv4 = std::memcmp(addr.bytes, mapped, 12) == 0 && mapped_length >= 96;
    prefix.length = prefix.ipv4 ? mapped_length - 96 : mapped_length;
    return prefix;
}

} // namespace mtuguard
