// The example config the package ships as /etc/mtuguard/mtuguard.conf: as shipped (everything
// commented out) it reads as nothing, and with every `#name = value` line uncommented it is a
// valid configuration whose values are the daemon's defaults, so the comments cannot drift from
// what mtuguardd does.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace mtuguard {
namespace {

std::string read(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class ExampleConfig : public ::testing::Test {
protected:
    void TearDown() override
    {
        if (!written_.empty())
            unlink(written_.c_str());
    }

    // Writes text to a scratch file and parses `mtuguardd --config FILE extra...`.
    Config parse_file(const std::string &text, std::vector<std::string> extra = {})
    {
        char path[] = "/tmp/mtuguard-example-XXXXXX";
        int fd = mkstemp(path);
        EXPECT_GE(fd, 0);
        close(fd);
        written_ = path;
        std::ofstream(written_) << text;
        std::vector<std::string> args{"mtuguardd", "--config", written_};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<const char *> argv;
        for (const auto &a : args)
            argv.push_back(a.c_str());
        return parse_command_line(static_cast<int>(argv.size()), argv.data()).config;
    }

    const std::string shipped_ = read(MTUGUARD_EXAMPLE_CONFIG);
    std::string written_;
};

TEST_F(ExampleConfig, AsShippedSetsNothing)
{
    ASSERT_FALSE(shipped_.empty());
    // Without an interface the daemon refuses to start: the operator must name one.
    EXPECT_THROW(parse_file(shipped_), UsageError);
    Config config = parse_file(shipped_, {"--iface", "eth1"});
    Config defaults;
    EXPECT_EQ(config.ifaces, std::vector<std::string>{"eth1"});
    EXPECT_TRUE(config.sessions.empty());
    EXPECT_EQ(config.max_sessions, defaults.max_sessions);
    EXPECT_EQ(config.control_socket, defaults.control_socket);
}

TEST_F(ExampleConfig, UncommentedIsValidAndAtTheDefaults)
{
    std::string uncommented =
        std::regex_replace(shipped_, std::regex("^#([a-z][a-z0-9-]* = )", std::regex::multiline), "$1");
    ASSERT_NE(uncommented, shipped_);
    Config config;
    ASSERT_NO_THROW(config = parse_file(uncommented)) << uncommented;
    Config defaults;
    EXPECT_FALSE(config.ifaces.empty());
    EXPECT_FALSE(config.client_ifaces.empty());
    EXPECT_GE(config.sessions.size(), 2u);
    EXPECT_TRUE(config.icmp_source4.has_value());
    EXPECT_EQ(config.xdp_mode, defaults.xdp_mode);
    EXPECT_EQ(config.mss_clamp, defaults.mss_clamp);
    EXPECT_EQ(config.max_sessions, defaults.max_sessions);
    EXPECT_EQ(config.on_oversize, defaults.on_oversize);
    EXPECT_EQ(config.icmp_global.rate, defaults.icmp_global.rate);
    EXPECT_EQ(config.icmp_global.burst, defaults.icmp_global.burst);
    EXPECT_EQ(config.icmp_per_source.rate, defaults.icmp_per_source.rate);
    EXPECT_EQ(config.icmp_per_source.burst, defaults.icmp_per_source.burst);
    EXPECT_EQ(config.control_socket, defaults.control_socket);
    EXPECT_EQ(config.pin_path, defaults.pin_path);
    EXPECT_EQ(config.keep_attached, defaults.keep_attached);
    EXPECT_EQ(config.metrics_listen, defaults.metrics_listen);
}

} // namespace
} // namespace mtuguard
