#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "config/config.hpp"
#include "kernel/settings.hpp"

namespace mtuguard {
namespace {

CommandLine parse(std::vector<std::string> args)
{
    std::vector<const char *> argv{"mtuguardd"};
    for (auto &a : args)
        argv.push_back(a.c_str());
    return parse_command_line(argv.size(), argv.data());
}

std::string error_of(std::vector<std::string> args)
{
    try {
        parse(args);
    } catch (const UsageError &e) {
        return e.what();
    }
    return "(accepted)";
}

const std::string session = "--session=10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls";

TEST(Config, Defaults)
{
    Config c = parse({"--iface", "eth1", session}).config;
    EXPECT_EQ(c.ifaces, std::vector<std::string>{"eth1"});
    EXPECT_EQ(c.xdp_mode, XdpMode::Auto);
    EXPECT_TRUE(c.mss_clamp);
    EXPECT_TRUE(c.client_ifaces.empty());
    EXPECT_EQ(c.on_oversize, MG_ACTION_ICMP);
    EXPECT_EQ(c.max_sessions, 65536u);
    EXPECT_EQ(c.icmp_global.rate, 1000u);
    EXPECT_EQ(c.icmp_global.burst, 200u);
    EXPECT_EQ(c.icmp_per_source.rate, 100u);
    EXPECT_EQ(c.icmp_per_source.burst, 20u);
    ASSERT_EQ(c.sessions.size(), 1u);
    EXPECT_EQ(c.sessions[0].session.tls_mtu, 1347);
    EXPECT_FALSE(c.icmp_source4);
    EXPECT_EQ(c.early_reconnect, std::chrono::seconds(120));
}

TEST(Config, EveryOption)
{
    Config c = parse({"--iface", "eth1", "--iface", "eth2", "--client-iface", "vpns0", "--mss-clamp", "off",
                      "--xdp-mode", "generic", session,
                      "--session", "2001:db8::/64,dtls-mtu=1418,tls-mtu=1347", "--max-sessions", "100",
                      "--on-oversize", "clear-df", "--icmp-rate", "0", "--icmp-burst", "5",
                      "--icmp-rate-per-source", "7", "--icmp-burst-per-source", "3",
                      "--icmp-source", "192.0.2.1", "--icmp-source", "2001:db8::1",
                      "--client-pool", "10.16.0.0/12", "--client-pool", "2001:db8::/108"})
                   .config;
    EXPECT_EQ(c.ifaces.size(), 2u);
    EXPECT_EQ(c.client_ifaces, std::vector<std::string>{"vpns0"});
    EXPECT_FALSE(c.mss_clamp);
    EXPECT_EQ(c.xdp_mode, XdpMode::Generic);
    EXPECT_EQ(c.sessions.size(), 2u);
    EXPECT_EQ(c.max_sessions, 100u);
    EXPECT_EQ(c.on_oversize, MG_ACTION_CLEAR_DF);
    EXPECT_EQ(c.icmp_global.rate, 0u);
    EXPECT_EQ(c.icmp_global.burst, 5u);
    EXPECT_EQ(c.icmp_per_source.rate, 7u);
    EXPECT_EQ(c.icmp_per_source.burst, 3u);
    ASSERT_TRUE(c.icmp_source4 && c.icmp_source6);
    EXPECT_EQ(c.icmp_source4->to_string(), "192.0.2.1");
    EXPECT_EQ(c.icmp_source6->to_string(), "2001:db8::1");
    ASSERT_EQ(c.client_pools.size(), 2u);
    EXPECT_EQ(c.client_pools[0].to_string(), "10.16.0.0/12");
    EXPECT_EQ(c.client_pools[1].to_string(), "2001:db8::/108");
}

// Without --client-pool a family takes its pool prefixes of at most 2^20 addresses, largest
// first, but none inside one taken and no more than the limits allow; an explicit pool wins for
// its family only, and "off" leaves every session hashed.
TEST(Config, ClientPoolsDefaultToThePoolPrefixesThatFit)
{
    auto pools = [](std::vector<std::string> args) {
        std::vector<std::string> texts;
        for (const Prefix &p : parse(args).config.client_pools)
            texts.push_back(p.to_string());
        return texts;
    };
    using Texts = std::vector<std::string>;
    const char *v4_small = "10.8.1.0/24,dtls-mtu=1418,tls-mtu=1347";
    const char *v4_large = "10.8.0.0/16,dtls-mtu=1418,tls-mtu=1347";
    const char *v4_too_large = "10.0.0.0/11,dtls-mtu=1418,tls-mtu=1347";
    const char *v6_fits = "2001:db8::/108,dtls-mtu=1418,tls-mtu=1347";
    const char *v6_too_large = "2001:db8:1::/64,dtls-mtu=1418,tls-mtu=1347";

    EXPECT_EQ(pools({"--iface", "eth1", session}), Texts{});
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v4_small, "--session", v4_large, "--session", v4_too_large,
                     session}),
              Texts{"10.8.0.0/16"});
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v6_too_large, "--session", v6_fits, "--session", v4_small}),
              (Texts{"2001:db8::/108", "10.8.1.0/24"}));
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v4_small, "--session", "10.9.0.0/24,dtls-mtu=1418,tls-mtu=1347",
                     "--session", v4_large}),
              (Texts{"10.8.0.0/16", "10.9.0.0/24"}))
        << "10.8.1.0/24 lies in 10.8.0.0/16: its slots are there";
    std::vector<std::string> seventeen = {"--iface", "eth1"};
    for (int i = 0; i <= MG_MAX_CLIENT_POOLS; ++i)
        seventeen.insert(seventeen.end(), {"--session", "10.0." + std::to_string(i) + ".0/24,dtls-mtu=1418,tls-mtu=1347"});
    EXPECT_EQ(pools(seventeen).size(), size_t(MG_MAX_CLIENT_POOLS)) << "the 17th is hashed";
    std::vector<std::string> five = {"--iface", "eth1"};
    for (int i = 1; i <= 5; ++i)
        five.insert(five.end(), {"--session", "10." + std::to_string(16 * i) + ".0.0/12,dtls-mtu=1418,tls-mtu=1347"});
    five.insert(five.end(), {"--session", "10.1.0.0/16,dtls-mtu=1418,tls-mtu=1347"});
    EXPECT_EQ(pools(five), (Texts{"10.16.0.0/12", "10.32.0.0/12", "10.48.0.0/12", "10.64.0.0/12"}))
        << "2^22 addresses: the fifth /12 and then the /16 do not fit";
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v4_too_large, "--session", v6_too_large}), Texts{});
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v4_large, "--session", v6_fits, "--client-pool", "10.16.0.0/12"}),
              (Texts{"10.16.0.0/12", "2001:db8::/108"}));
    EXPECT_EQ(pools({"--iface", "eth1", "--session", v4_large, "--session", v6_fits, "--client-pool", "off"}),
              Texts{});
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "off", "--client-pool", "10.8.0.0/16"}),
              "--client-pool off: given with pools; it goes alone");
}

// With --ocserv, ocserv's own pools join the pool prefixes in the families --client-pool leaves
// without one; a file given by name must be readable and readable as ocserv's.
TEST(Config, OcservPoolsAreDefaultsToo)
{
    const std::string path = ::testing::TempDir() + "/ocserv_conf_test.conf";
    auto write = [&](const std::string &text) { std::ofstream(path) << text; };
    auto pools = [](std::vector<std::string> args) {
        std::string texts;
        for (const Prefix &p : parse(args).config.client_pools)
            texts += p.to_string() + " ";
        return texts;
    };
    write("ipv4-network = 10.9.0.0\nipv4-netmask = 255.255.255.0\nipv6-network = 2001:db8:9::/112\n");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path}), "2001:db8:9::/112 10.9.0.0/24 ");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--session",
                     "10.8.0.0/16,dtls-mtu=1418,tls-mtu=1347"}),
              "10.8.0.0/16 2001:db8:9::/112 10.9.0.0/24 ");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--session",
                     "10.9.0.0/16,dtls-mtu=1418,tls-mtu=1347"}),
              "10.9.0.0/16 2001:db8:9::/112 ")
        << "ocserv's 10.9.0.0/24 lies in the pool prefix";
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--client-pool", "2001:db8:8::/120"}),
              "2001:db8:8::/120 10.9.0.0/24 ");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--client-pool", "off"}), "");
    write("ipv4-network = 10.0.0.0/8\n"); // larger than a client pool: the hash serves
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path}), "");

    write("ipv4-network = 10.9.0.0\n");
    EXPECT_EQ(error_of({"--iface", "eth1", "--ocserv", "--ocserv-config", path}),
              "--ocserv-config " + path + ": line 1: ipv4-network '10.9.0.0': no prefix length and no "
              "ipv4-netmask (or name the pool with --client-pool)");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--client-pool", "10.9.0.0/24",
                     "--client-pool", "2001:db8::/112"}),
              "10.9.0.0/24 2001:db8::/112 "); // both families named: the file is not read
    EXPECT_EQ(error_of({"--iface", "eth1", "--ocserv", "--ocserv-config", "/nonexistent/ocserv.conf"}),
              "--ocserv-config /nonexistent/ocserv.conf: cannot open");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv-config", path}), ""); // read with --ocserv only
    std::remove(path.c_str());
}

// ocserv's groups (config-per-group, default-group-config) each may have their own pool: every
// one that fits is a client pool; an unreadable one is named.
TEST(Config, OcservGroupPoolsAreDefaults)
{
    const std::string dir = ::testing::TempDir() + "/ocserv_groups_" + std::to_string(getpid());
    const std::string path = dir + "/ocserv.conf", groups = dir + "/groups";
    std::filesystem::create_directories(groups);
    auto write = [&](const std::string &file, const std::string &text) { std::ofstream(file) << text; };
    auto pools = [](std::vector<std::string> args) {
        std::string texts;
        for (const Prefix &p : parse(args).config.client_pools)
            texts += p.to_string() + " ";
        return texts;
    };
    write(path, "ipv4-network = 10.9.0.0/24\nconfig-per-group = " + groups + "\ndefault-group-config = " + dir +
                    "/default\n");
    write(dir + "/default", "ipv4-network = 10.30.0.0/25\n");
    write(groups + "/engineering", "ipv4-network = 10.20.0.0\nipv4-netmask = 255.255.252.0\n"
                                   "ipv6-network = 2001:db8:20::/120\n");
    write(groups + "/sales", "ipv4-network = 10.21.0.0/23\n");
    write(groups + "/wide", "ipv4-network = 10.0.0.0/8\n"); // larger than a client pool: hashed
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path}),
              "10.20.0.0/22 10.21.0.0/23 10.9.0.0/24 2001:db8:20::/120 10.30.0.0/25 ");
    EXPECT_EQ(pools({"--iface", "eth1", "--ocserv", "--ocserv-config", path, "--client-pool", "10.0.0.0/12"}),
              "10.0.0.0/12 2001:db8:20::/120 ");
    write(groups + "/sales", "ipv4-network = 10.21.0.0\n");
    EXPECT_EQ(error_of({"--iface", "eth1", "--ocserv", "--ocserv-config", path}),
              "--ocserv-config " + groups + "/sales: line 1: ipv4-network '10.21.0.0': no prefix length and no "
              "ipv4-netmask (or name the pool with --client-pool)");
    std::filesystem::remove_all(dir);
}

TEST(Config, HelpAndVersion)
{
    CommandLine help = parse({"--help"});
    EXPECT_TRUE(help.help);
    for (const char *word : {"--iface", "--session", "--on-oversize", "--icmp-rate", "Examples:",
                             "Exit status", "SIGHUP re-reads the configuration", "refused whole"})
        EXPECT_NE(help.help_text.find(word), std::string::npos) << word;
    EXPECT_TRUE(parse({"--version"}).version);
}

TEST(Config, ErrorsNameTheOptionAndValue)
{
    EXPECT_EQ(error_of({session}), "--iface: at least one interface is required");
    EXPECT_EQ(error_of({"--iface", "eth1", "--iface", "eth1", session}),
              "--iface eth1: given twice (as --iface or --client-iface)");
    EXPECT_EQ(error_of({"--iface", "eth1", "--client-iface", "eth1", session}),
              "--client-iface eth1: given twice (as --iface or --client-iface)");
    EXPECT_EQ(error_of({"--iface", "eth1", "--mss-clamp", "maybe", session}), "--mss-clamp maybe: expected on or off");
    EXPECT_EQ(error_of({"--iface", "an-interface-name-too-long", session}),
              "--iface 'an-interface-name-too-long': not a valid interface name");
    EXPECT_EQ(error_of({"--iface", "eth1", "--xdp-mode", "offload", session}),
              "--xdp-mode offload: expected auto, native or generic");
    EXPECT_EQ(error_of({"--iface", "eth1", "--on-oversize", "reject", session}),
              "--on-oversize reject: expected icmp, drop, clear-df or monitor");
    EXPECT_EQ(error_of({"--iface", "eth1", "--session", "10.8.0.5,dtls-mtu=1418"}),
              "--session 10.8.0.5,dtls-mtu=1418: missing tls-mtu (or cipher=C to compute both)");
    EXPECT_EQ(error_of({"--iface", "eth1", session, session}), "--session 10.8.0.5: given twice");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--icmp-rate", "fast"}),
              "--icmp-rate 'fast' is not a whole number from 0 to 10000000");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--icmp-burst", "0"}),
              "--icmp-burst '0' is not a whole number from 1 to 1000000");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--early-reconnect", "0"}),
              "--early-reconnect '0' is not a whole number from 1 to 86400");
    EXPECT_EQ(parse({"--iface", "eth1", session, "--early-reconnect", "45"}).config.early_reconnect,
              std::chrono::seconds(45));
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--max-sessions", "0"}),
              "--max-sessions '0' is not a whole number from 1 to 4194304");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--icmp-source", "192.0.2.0/24"}),
              "--icmp-source 192.0.2.0/24: '192.0.2.0/24' must be an address, not a prefix");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--icmp-source", "192.0.2.1", "--icmp-source",
                        "192.0.2.2"}),
              "--icmp-source 192.0.2.2: one address per family");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "10.0.0.0/11"}),
              "--client-pool 10.0.0.0/11: larger than 2^20 addresses (IPv4 /12, IPv6 /108 at most)");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "2001:db8::/107"}),
              "--client-pool 2001:db8::/107: larger than 2^20 addresses (IPv4 /12, IPv6 /108 at most)");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "10.8.0.0/16", "--client-pool", "10.8.1.0/24"}),
              "--client-pool 10.8.1.0/24: overlaps the client pool 10.8.0.0/16: give only the larger, it holds both");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "2001:db8::/120", "--client-pool", "2001:db8::/112"}),
              "--client-pool 2001:db8::/112: overlaps the client pool 2001:db8::/120: give only the larger, it holds both");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "10.8.0.0/16", "--client-pool", "10.8.0.0/16"}),
              "--client-pool 10.8.0.0/16: overlaps the client pool 10.8.0.0/16: give only the larger, it holds both");
    std::vector<std::string> seventeen = {"--iface", "eth1", session, "--client-pool", "2001:db8::/112"};
    for (int i = 0; i <= MG_MAX_CLIENT_POOLS; ++i)
        seventeen.insert(seventeen.end(), {"--client-pool", "10.0." + std::to_string(i) + ".0/24"});
    EXPECT_EQ(error_of(seventeen), "--client-pool 10.0.16.0/24: more than 16 client pools of one family: give fewer, "
                                   "larger pools (sessions outside them are hashed)");
    seventeen.resize(seventeen.size() - 2);
    EXPECT_EQ(parse(seventeen).config.client_pools.size(), 17u) << "16 IPv4 pools and an IPv6 one";
    std::vector<std::string> five = {"--iface", "eth1", session};
    for (int i = 1; i <= 5; ++i)
        five.insert(five.end(), {"--client-pool", "10." + std::to_string(16 * i) + ".0.0/12"});
    EXPECT_EQ(error_of(five), "--client-pool 10.80.0.0/12: the family's client pools would hold more than 2^22 "
                              "addresses together: give smaller pools (sessions outside them are hashed)");
    EXPECT_EQ(error_of({"--iface", "eth1", session, "--client-pool", "10.8.1.0/16"}),
              "--client-pool 10.8.1.0/16: '10.8.1.0/16' has host bits set after the prefix length");
    EXPECT_NE(error_of({"--iface", "eth1", session, "--client-pool", "pool"}).find("--client-pool pool: "),
              std::string::npos);
    EXPECT_NE(error_of({"--iface", "eth1", session, "--bogus"}).find("bogus"), std::string::npos);
    EXPECT_NE(error_of({"--iface"}).find("iface"), std::string::npos);
    EXPECT_EQ(error_of({"--iface", "eth1", "--config", "/nonexistent/mtuguard.conf"}),
              "--config /nonexistent/mtuguard.conf: cannot open");
}

// Parses in a child process that SIGALRM ends after 5 s; exits 0 when the parse ends with a
// UsageError whose message contains `expected`.
void refused_in_time(std::vector<std::string> args, const std::string &expected)
{
    EXPECT_EXIT(
        {
            alarm(5);
            const std::string error = error_of(args);
            std::fprintf(stderr, "%s\n", error.c_str());
            std::exit(error.find(expected) != std::string::npos ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << "args: " << ::testing::PrintToString(args);
}

// program_options fills an error's message by replacing each %placeholder% with the option or
// value as written, until none is left: written with the placeholder in it, that never ended
// (and grew without bound). Found by fuzzing.
TEST(ConfigDeathTest, PlaceholdersInOptionsEndInAnError)
{
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    refused_in_time({"--iface=eth1", "--on-over%canonical_option%"}, "on-over%canonical_option%");
    refused_in_time({"--iface=eth1", "--%canonical_option%"}, "%canonical_option%");
    refused_in_time({"--iface=eth1", "--keep-attached=%canonical_option%"}, "keep-attached");
    refused_in_time({"--iface=eth1", "--%prefix%"}, "%prefix%");
    refused_in_time({"--iface=eth1", "--session"}, "session"); // and the usual case still reads well
}

class ConfigFile : public ::testing::Test {
protected:
    void SetUp() override
    {
        char name[] = "/tmp/mtuguard-config-XXXXXX";
        int fd = mkstemp(name);
        ASSERT_GE(fd, 0);
        close(fd);
        path = name;
    }
    void TearDown() override { unlink(path.c_str()); }
    void write(const std::string &text) { std::ofstream(path) << text; }
    std::string path;
};

TEST_F(ConfigFile, SameNamesAndTheCommandLineWins)
{
    write("iface = eth1\n"
          "on-oversize = drop\n"
          "icmp-rate = 50\n"
          "session = 10.8.0.5,dtls-mtu=1418,tls-mtu=1347\n"
          "session = 10.8.0.6,dtls-mtu=1418,tls-mtu=1347,transport=dtls\n");
    Config file_only = parse({"--config", path}).config;
    EXPECT_EQ(file_only.ifaces, std::vector<std::string>{"eth1"});
    EXPECT_EQ(file_only.on_oversize, MG_ACTION_DROP);
    EXPECT_EQ(file_only.icmp_global.rate, 50u);
    EXPECT_EQ(file_only.sessions.size(), 2u);

    Config both = parse({"--config", path, "--on-oversize", "monitor", "--iface", "eth9"}).config;
    EXPECT_EQ(both.on_oversize, MG_ACTION_MONITOR);
    EXPECT_EQ(both.ifaces, std::vector<std::string>{"eth9"}) << "a list on the command line replaces the file's";
    EXPECT_EQ(both.icmp_global.rate, 50u);
    EXPECT_EQ(both.sessions.size(), 2u);
}

using ConfigFileDeathTest = ConfigFile;

TEST_F(ConfigFileDeathTest, PlaceholdersInTheFileEndInAnError)
{
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    write("iface = eth1\noption '%canonical_option%' = 1\n");
    refused_in_time({"--config", path}, "%canonical_option%");
    write("iface = eth1\nkeep-attached = %value%\n");
    refused_in_time({"--config", path}, "keep-attached");
    write("iface = eth1\nkeep-attached = maybe\n");
    refused_in_time({"--config", path}, "'maybe'");
}

TEST_F(ConfigFile, ErrorsInTheFileAreNamed)
{
    write("iface = eth1\nsesion = 10.8.0.5,dtls-mtu=1418,tls-mtu=1347\n");
    EXPECT_NE(error_of({"--config", path}).find("sesion"), std::string::npos);
    write("iface = eth1\nsession = 10.8.0.5,dtls-mtu=1418,tls-mtu=70000\n");
    EXPECT_EQ(error_of({"--config", path}),
              "--session 10.8.0.5,dtls-mtu=1418,tls-mtu=70000: tls-mtu '70000' is not a whole "
              "number from 576 to 65535");
}

TEST(Settings, BucketFillTimesArePrecomputed)
{
    Config c;
    c.on_oversize = MG_ACTION_DROP;
    c.icmp_global = {1000, 200};
    c.icmp_per_source = {0, 20};
    mg_settings s = make_settings(c);
    EXPECT_EQ(s.action, MG_ACTION_DROP);
    EXPECT_EQ(s.icmp_global.fill_ns, 200'000'000u) << "200 tokens at 1000/s";
    EXPECT_EQ(s.icmp_per_source.rate, 0u);
    EXPECT_EQ(s.icmp_per_source.fill_ns, 0u);
}

} // namespace
} // namespace mtuguard
