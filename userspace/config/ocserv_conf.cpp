#include "config/ocserv_conf.hpp"

#include <algorithm>
#include <filesystem>
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
unsigned netmask_length(const std::string &text)
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

// One setting as read: its value and the line it came from (errors name both).
struct Setting {
    std::string value;
    unsigned line = 0;
};

[[noreturn]] void fail(const char *key, const Setting &setting, const std::string &why)
{
    throw std::invalid_argument("line " + std::to_string(setting.line) + ": " + key + " '" + setting.value +
                                "': " + why);
}

template <typename Parse>
auto read(const char *key, const Setting &setting, Parse parse)
{
    try {
        return parse(setting.value);
    } catch (const std::invalid_argument &e) {
        fail(key, setting, e.what());
    }
}

} // namespace

OcservPools parse_ocserv_pools(std::istream &in)
{
    Setting ipv4_network, ipv4_netmask, ipv6_network, ipv6_subnet, per_group, default_group;
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
        // A key given twice: ocserv takes the last one, as here.
        Setting *setting = key == "ipv4-network"         ? &ipv4_network
                           : key == "ipv4-netmask"       ? &ipv4_netmask
                           : key == "ipv6-network"       ? &ipv6_network
                           : key == "ipv6-subnet-prefix" ? &ipv6_subnet
                           : key == "config-per-group"   ? &per_group
                           : key == "default-group-config" ? &default_group
                                                         : nullptr;
        if (setting)
            *setting = {std::string(trim(text.substr(equals + 1))), number};
    }

    OcservPools pools;
    pools.config_per_group = per_group.value;
    pools.default_group_config = default_group.value;
    if (!ipv4_network.value.empty()) {
        Setting network = ipv4_network;
        if (network.value.find('/') == std::string::npos) {
            if (ipv4_netmask.value.empty())
                fail("ipv4-network", network, "no prefix length and no ipv4-netmask");
            network.value += "/" + std::to_string(read("ipv4-netmask", ipv4_netmask, netmask_length));
        }
        pools.ipv4 = read("ipv4-network", network, parse_prefix);
        if (!pools.ipv4->ipv4)
            fail("ipv4-network", network, "not an IPv4 network");
    }
    if (!ipv6_network.value.empty()) {
        const Prefix network = read("ipv6-network", ipv6_network, parse_prefix);
        if (network.ipv4)
            fail("ipv6-network", ipv6_network, "not an IPv6 network");
        if (ipv6_subnet.value.empty() || read("ipv6-subnet-prefix", ipv6_subnet, subnet_length) == 128)
            pools.ipv6 = network;
    }
    return pools;
}

std::vector<std::string> ocserv_group_files(const OcservPools &pools)
{
    std::vector<std::string> files;
    if (!pools.config_per_group.empty()) {
        std::error_code error;
        for (const auto &entry : std::filesystem::directory_iterator(pools.config_per_group, error))
            if (entry.is_regular_file(error))
                files.push_back(entry.path().string());
        std::sort(files.begin(), files.end());
    }
    if (!pools.default_group_config.empty())
        files.insert(files.begin(), pools.default_group_config);
    return files;
}

} // namespace mtuguard
