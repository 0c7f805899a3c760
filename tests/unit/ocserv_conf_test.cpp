#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "config/ocserv_conf.hpp"

namespace mtuguard {
namespace {

OcservPools parse(const std::string &text)
{
    std::istringstream in(text);
    return parse_ocserv_pools(in);
}

std::string text_of(const std::optional<Prefix> &pool)
{
    return pool ? pool->to_string() : "none";
}

std::string error_of(const std::string &text)
{
    try {
        parse(text);
    } catch (const std::invalid_argument &e) {
        return e.what();
    }
    return "accepted";
}

// The settings as ocserv's sample configuration writes them, among others it has.
TEST(OcservConf, PoolsAsTheSampleConfigurationWritesThem)
{
    const OcservPools pools = parse("# ocserv.conf\n"
                                    "auth = \"plain[passwd=/etc/ocserv/ocpasswd]\"\n"
                                    "tcp-port = 443\n"
                                    "ipv4-network = 192.168.1.0\n"
                                    "ipv4-netmask = 255.255.255.0\n"
                                    "\t ipv6-network = fda9:4efe:7e3b:3ea::/116  \r\n"
                                    "#ipv6-subnet-prefix = 64\n"
                                    "route = default\n");
    EXPECT_EQ(text_of(pools.ipv4), "192.168.1.0/24");
    EXPECT_EQ(text_of(pools.ipv6), "fda9:4efe:7e3b:3ea::/116");
}

TEST(OcservConf, PrefixFormLastValueAndVhostSections)
{
    const OcservPools pools = parse("ipv4-network=10.9.0.0/16\n"
                                    "ipv4-network = 10.10.0.0/20\n"
                                    "[vhost:other.example.com]\n"
                                    "ipv4-network = 10.11.0.0/24\n"
                                    "ipv6-network = 2001:db8::/112\n");
    EXPECT_EQ(text_of(pools.ipv4), "10.10.0.0/20");
    EXPECT_EQ(text_of(pools.ipv6), "none");
}

// Clients that get a network each (ipv6-subnet-prefix below 128) are no client pool's slots.
TEST(OcservConf, Ipv6SubnetsPerClientGiveNoPool)
{
    EXPECT_EQ(text_of(parse("ipv6-network = 2001:db8::/112\nipv6-subnet-prefix = 128\n").ipv6), "2001:db8::/112");
    EXPECT_EQ(text_of(parse("ipv6-network = 2001:db8::/48\nipv6-subnet-prefix = 64\n").ipv6), "none");
    const OcservPools none = parse("# nothing here\n\nisolate-workers = true\n");
    EXPECT_EQ(text_of(none.ipv4), "none");
    EXPECT_EQ(text_of(none.ipv6), "none");
}

TEST(OcservConf, ErrorsNameTheLineAndValue)
{
    EXPECT_EQ(error_of("ipv4-network = 10.9.0.0\n"), "line 1: ipv4-network '10.9.0.0': no prefix length and no ipv4-netmask");
    EXPECT_EQ(error_of("\nipv4-network = 10.9.0.0\nipv4-netmask = 255.0.255.0\n"),
              "line 3: ipv4-netmask '255.0.255.0': not a contiguous netmask");
    EXPECT_EQ(error_of("ipv4-network = 10.9.0.0\nipv4-netmask = ffff::\n"),
              "line 2: ipv4-netmask 'ffff::': not an IPv4 netmask");
    EXPECT_EQ(error_of("ipv4-network = 2001:db8::/64\n"), "line 1: ipv4-network '2001:db8::/64': not an IPv4 network");
    EXPECT_EQ(error_of("ipv6-network = 10.0.0.0/8\n"), "line 1: ipv6-network '10.0.0.0/8': not an IPv6 network");
    EXPECT_EQ(error_of("ipv6-network = 2001:db8::/64\nipv6-subnet-prefix = 129\n"),
              "line 2: ipv6-subnet-prefix '129': not a prefix length 0-128");
    EXPECT_EQ(error_of("ipv6-network = 2001:db8::/64\nipv6-subnet-prefix = -1\n"),
              "line 2: ipv6-subnet-prefix '-1': not a prefix length 0-128");
    EXPECT_NE(error_of("ipv4-network = 10.9.0.1/24\n").find("line 1: ipv4-network '10.9.0.1/24': "), std::string::npos);
    EXPECT_NE(error_of("ipv4-network = pool\nipv4-netmask = 255.255.0.0\n").find("line 1: ipv4-network 'pool/16': "),
              std::string::npos);
}

} // namespace
} // namespace mtuguard
