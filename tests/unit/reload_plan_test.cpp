// Unit tests of the reload planner (userspace/daemon/reload_plan.cpp): what a reload would change,
// decided from the two configurations and the maps' contents, without BPF. tests/bpf/reload_test.cpp
// applies plans to the running program.
#include <gtest/gtest.h>

#include "common/session_spec.hpp"
#include "daemon/agent.hpp"
#include "daemon/reload_plan.hpp"

using namespace mtuguard;

namespace {

using Strings = std::vector<std::string>;

SessionSpec spec(const std::string &text) { return parse_session_spec(text); }

SessionEntry entry(const std::string &text, mg_source source, mg_transport transport)
{
    SessionSpec s = spec(text);
    s.session.source = source;
    s.session.transport = transport;
    return {s.prefix, s.session};
}

Config running_config()
{
    Config c;
    c.ifaces = {"g0"};
    c.max_sessions = 4;
    c.sessions = {spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347"), spec("10.9.0.0/16,dtls-mtu=1418,tls-mtu=1347")};
    return c;
}

// The maps as a start-up with running_config() left them, 10.8.0.5 switched to DTLS since.
RunningMaps running_maps()
{
    return {{entry("10.8.0.5,dtls-mtu=1418,tls-mtu=1347", MG_SOURCE_STATIC, MG_TRANSPORT_DTLS),
             entry("10.9.0.0/16,dtls-mtu=1418,tls-mtu=1347", MG_SOURCE_STATIC, MG_TRANSPORT_TLS)},
            1, 1, 4};
}

Strings prefixes(const std::vector<SessionSpec> &specs)
{
    Strings out;
    for (const auto &s : specs)
        out.push_back(s.prefix.to_string());
    return out;
}

} // namespace

TEST(ReloadPlan, TheSameConfigurationChangesNothing)
{
    const ReloadPlan plan = plan_reload(running_config(), running_config(), running_maps());
    EXPECT_TRUE(plan.writes.empty()) << "a transport switched at runtime survives";
    EXPECT_TRUE(plan.removals.empty());
    EXPECT_TRUE(plan.report.applied.empty());
    EXPECT_TRUE(plan.report.restart_needed.empty());
    EXPECT_TRUE(plan.warnings.empty());
}

TEST(ReloadPlan, SettingsApplyAndRestartOnlyOptionsKeepTheirRunningValue)
{
    Config next = running_config();
    next.on_oversize = MG_ACTION_DROP;
    next.mss_clamp = !next.mss_clamp;
    next.max_sessions = 1000;
    next.ifaces = {"g1"};
    const ReloadPlan plan = plan_reload(running_config(), next, running_maps());
    EXPECT_EQ(plan.report.applied, (Strings{"--on-oversize icmp -> drop",
                                            std::string("--mss-clamp ") + (next.mss_clamp ? "off -> on" : "on -> off")}));
    EXPECT_EQ(plan.report.restart_needed, (Strings{"--iface", "--max-sessions"}));
    EXPECT_EQ(plan.merged.on_oversize, MG_ACTION_DROP);
    EXPECT_EQ(plan.merged.mss_clamp, next.mss_clamp);
    EXPECT_EQ(plan.merged.max_sessions, 4u);
    EXPECT_EQ(plan.merged.ifaces, Strings{"g0"});
    EXPECT_EQ(plan.warnings, (Strings{"reload: --iface g1 needs a restart; running on with g0",
                                      "reload: --max-sessions 1000 needs a restart; running on with 4"}));
}

// A client pool over an address of an enforced interface (the servers' side) is refused, naming
// both; addresses elsewhere, of the other family or outside the pools, are no conflict.
TEST(ClientPools, ThoseCoveringAnEnforcedInterfacesAddressAreRefused)
{
    InterfaceInfo eth1{.name = "eth1"};
    eth1.addresses = {parse_prefix("192.0.2.1"), parse_prefix("2001:db8:1::1"), parse_prefix("fe80::1")};
    const std::vector<Prefix> pools = {parse_prefix("10.8.0.0/16"), parse_prefix("2001:db8:8::/112")};
    EXPECT_NO_THROW(check_pools_apart(pools, {eth1}));
    try {
        check_pools_apart({parse_prefix("10.8.0.0/16"), parse_prefix("192.0.2.0/24")}, {eth1});
        ADD_FAILURE() << "accepted";
    } catch (const ConfigError &e) {
        EXPECT_STREQ(e.what(), "client pool 192.0.2.0/24 covers 192.0.2.1, this gateway's address on --iface eth1, "
                               "which faces the servers: a client pool holds the VPN clients' addresses only; give "
                               "their range with --client-pool (or correct the pool prefix or ocserv pool it was "
                               "taken from)");
    }
    EXPECT_THROW(check_pools_apart({parse_prefix("2001:db8:1::/112")}, {eth1}), ConfigError);
}

// The client pools change only with a restart; the same pools given in another order are no
// change (the program searches them sorted).
TEST(ReloadPlan, ClientPoolsInAnotherOrderAreNoChange)
{
    Config running = running_config();
    running.client_pools = {parse_prefix("10.8.0.0/16"), parse_prefix("10.9.0.0/24")};
    Config next = running;
    std::swap(next.client_pools[0], next.client_pools[1]);
    EXPECT_TRUE(plan_reload(running, next, running_maps()).report.restart_needed.empty());
    next.client_pools.push_back(parse_prefix("10.10.0.0/24"));
    const ReloadPlan plan = plan_reload(running, next, running_maps());
    EXPECT_EQ(plan.report.restart_needed, Strings{"--client-pool"});
    EXPECT_EQ(plan.merged.client_pools, running.client_pools);
}

TEST(ReloadPlan, TheEarlyReconnectLimitApplies)
{
    Config next = running_config();
    next.early_reconnect = std::chrono::seconds(30);
    const ReloadPlan plan = plan_reload(running_config(), next, running_maps());
    EXPECT_EQ(plan.report.applied, Strings{"--early-reconnect 120 s -> 30 s"});
    EXPECT_TRUE(plan.report.restart_needed.empty());
    EXPECT_EQ(plan.merged.early_reconnect, std::chrono::seconds(30));
}

TEST(ReloadPlan, ChangedSessionsAreWrittenAndUnconfiguredStaticOnesRemoved)
{
    Config next = running_config();
    next.sessions = {spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1300"), spec("10.8.0.6,dtls-mtu=1400,tls-mtu=1300")};
    RunningMaps maps = running_maps();
    // mtuguardctl replaced a static session: it is no longer the configuration's to remove.
    Config running = running_config();
    running.sessions.push_back(spec("10.8.0.7,dtls-mtu=1418,tls-mtu=1347"));
    maps.sessions.push_back(entry("10.8.0.7,dtls-mtu=1300,tls-mtu=1300", MG_SOURCE_CONTROL, MG_TRANSPORT_TLS));
    maps.hosts = 2;
    const ReloadPlan plan = plan_reload(running, next, maps);
    EXPECT_EQ(prefixes(plan.writes), (Strings{"10.8.0.5", "10.8.0.6"}));
    ASSERT_EQ(plan.removals.size(), 1u);
    EXPECT_EQ(plan.removals[0].prefix.to_string(), "10.9.0.0/16");
}

TEST(ReloadPlan, SessionsOverTheRunningMapAreRefusedWhole)
{
    Config next = running_config();
    for (const char *text : {"10.8.0.10", "10.8.0.11", "10.8.0.12", "10.8.0.13"})
        next.sessions.push_back(spec(std::string(text) + ",dtls-mtu=1418,tls-mtu=1347"));
    try {
        plan_reload(running_config(), next, running_maps());
        FAIL() << "5 sessions fit a map of 4";
    } catch (const ConfigError &e) {
        EXPECT_STREQ(e.what(), "--session: 5 sessions with those added through mtuguardctl, over the running "
                               "--max-sessions 4 (a larger map needs a restart after `mtuguardctl detach`)");
    }
}
