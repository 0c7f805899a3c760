// ocserv's address pools, read from its configuration file: with --ocserv they are the daemon's
// default client pools (config.cpp), so a gateway running ocserv gets the offset-indexed session
// lookup without naming its pool twice. ocserv.conf is "key = value" lines with '#' comments.
// The pools are ipv4-network (an address with ipv4-netmask, or a prefix) and ipv6-network (a
// prefix), from which ocserv gives each client one address, unless ipv6-subnet-prefix is below
// 128: then each client gets a network, which no client pool holds. A group's file (one per
// group in the config-per-group directory, and default-group-config) may give the group its own
// pool with the same keys. What follows the first [vhost:...] section belongs to a virtual host
// and is not read.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "common/address.hpp"

namespace mtuguard {

struct OcservPools {
    std::optional<Prefix> ipv4;
    std::optional<Prefix> ipv6; // none when clients get networks (ipv6-subnet-prefix < 128)
    std::string config_per_group;     // the groups' files' directory; empty: none
    std::string default_group_config; // the file of users without a group's; empty: none
};

// Throws std::invalid_argument naming the line and the value that could not be read.
OcservPools parse_ocserv_pools(std::istream &in);
// The group files `pools` names, in name order: default-group-config and the regular files of
// the config-per-group directory (none when it cannot be read: ocserv then has no groups' files).
std::vector<std::string> ocserv_group_files(const OcservPools &pools);

} // namespace mtuguard
