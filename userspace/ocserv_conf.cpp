#include "ocserv_conf.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace mtuguard {
namespace {

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// "255.255.255.0" -> 24; the ones must be contiguous.
unsigned netmask_length(std::string_view text)
{
    const Prefix mask = parse_address(text);
    if (!mask.ipv4)
        throw std::invalid_argument("not an IPv4 netmask");
    unsigned length = 0;
    for (int i = 12; i < 16; ++i)
        for (int bit = 7; bit >= 0; --bit) {
            const bool one = (mask.addr.bytes[i] >> bit) & 1;
            if (one && length != (i - 12) * 8u + (7 - bit))
                throw std::invalid_argument("not a contiguous netmask");
            length += one;
        }
    return length;
}

// "64": the length of the network ocserv gives each client.
unsigned subnet_length(const std::string &text)
{
    if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(text) > 128)
        throw std::invalid_argument("not a prefix length 0-128");
    return std::stoul(text);
}

} // namespace

OcservPools parse_ocserv_pools(std::istream &in)
{
    std::string ipv4_network, ipv4_netmask, ipv6_network, ipv6_subnet;
    unsigned ipv4_line = 0, netmask_line = 0, ipv6_line = 0, subnet_line = 0;
    std::string line;
    for (unsigned number = 1; std::getline(in, line); ++number) {
        const std::string_view text = trim(line);
        if (text.empty() || text.front() == '#')
            continue;
        if (text.front() == '[')
            break; // a [vhost:...] section: another host's settings
        const auto equals = text.find('=');
        if (equals == std::string_view::npos)
            continue; // not a setting we read; ocserv judges its own file
        const std::string_view key = trim(text.substr(0, equals));
        const std::string value(trim(text.substr(equals + 1)));
        // A key given twice: ocserv takes the last one, as here.
        if (key == "ipv4-network")
            ipv4_network = value, ipv4_line = number;
        else if (key == "ipv4-netmask")
            ipv4_netmask = value, netmask_line = number;
        else if (key == "ipv6-network")
            ipv6_network = value, ipv6_line = number;
        else if (key == "ipv6-subnet-prefix")
            ipv6_subnet = value, subnet_line = number;
    }

    auto read = [](unsigned number, const char *key, const std::string &value, auto &&parse) {
        try {
            return parse(value);
        } catch (const std::invalid_argument &e) {
            throw std::invalid_argument("line " + std::to_string(number) + ": " + key + " '" + value +
                                        "': " + e.what());
        }
    };
    OcservPools pools;
    if (!ipv4_network.empty()) {
        std::string network = ipv4_network;
        if (network.find('/') == std::string::npos) {
            if (ipv4_netmask.empty())
                throw std::invalid_argument("line " + std::to_string(ipv4_line) + ": ipv4-network '" + network +
                                            "': no prefix length and no ipv4-netmask");
            network += "/" + std::to_string(read(netmask_line, "ipv4-netmask", ipv4_netmask,
                                                 [](const std::string &v) { return netmask_length(v); }));
        }
        pools.ipv4 = read(ipv4_line, "ipv4-network", network, [](const std::string &v) { return parse_prefix(v); });
        if (!pools.ipv4->ipv4)
            throw std::invalid_argument("line " + std::to_string(ipv4_line) + ": ipv4-network '" + network +
                                        "': not an IPv4 network");
    }
    if (!ipv6_network.empty()) {
        const Prefix network =
            read(ipv6_line, "ipv6-network", ipv6_network, [](const std::string &v) { return parse_prefix(v); });
        if (network.ipv4)
            throw std::invalid_argument("line " + std::to_string(ipv6_line) + ": ipv6-network '" + ipv6_network +
                                        "': not an IPv6 network");
        const bool hosts = ipv6_subnet.empty() ||
                           read(subnet_line, "ipv6-subnet-prefix", ipv6_subnet, [](const std::string &v) {
                               return subnet_length(v) == 128;
                           });
        if (hosts)
            pools.ipv6 = network;
    }
    return pools;
}

} // namespace mtuguard
