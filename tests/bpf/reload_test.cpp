// Agent::reload against the real program attached to a veth made for the test: what a SIGHUP
// changes is checked on packets run through the attached program with BPF_PROG_TEST_RUN, and
// the attachment itself must stay the same.
#include <gtest/gtest.h>


#include <algorithm>
#include <nlohmann/json.hpp>

#include "daemon/agent.hpp"
#include "daemon/control_views.hpp"
#include "attached_agent.hpp"
#include "harness.hpp"

namespace mtuguard::test {
namespace {

using nlohmann::json;

constexpr uint32_t drop = xdp_drop, pass = xdp_pass, tx = xdp_tx;

class Reload : public AttachedAgent {
protected:
    void configure(Config &c) override
    {
        c.sessions = {session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls")};
    }

    static SessionSpec session(const char *text) { return parse_session_spec(text); }

    // "address/source/transport/effective mtu" of every session, sorted.
    std::vector<std::string> sessions()
    {
        std::vector<std::string> out;
        for (const auto &view : agent->list_sessions(std::nullopt)) {
            const mg_session &s = view.entry.session;
            out.push_back(view.entry.prefix.to_string() + "/" +
                          (s.source == MG_SOURCE_STATIC ? "static" : "mtuguardctl") + "/" +
                          transport_name(s.transport) + "/" +
                          std::to_string(s.transport == MG_TRANSPORT_DTLS ? s.dtls_mtu : s.tls_mtu));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    uint32_t program_id() { return status_json(agent->status())["interfaces"][0]["program_id"].get<uint32_t>(); }
};

using Strings = std::vector<std::string>;

TEST_F(Reload, SettingsAndSessionsApplyWithoutReattaching)
{
    const uint32_t program = program_id();
    agent->add_session(session("10.8.0.77,dtls-mtu=1418,tls-mtu=1347"), MG_SOURCE_CONTROL);
    agent->set_transport(parse_prefix("10.8.0.5"), MG_TRANSPORT_DTLS);
    EXPECT_EQ(verdict("10.8.0.5", 1419), tx);

    Config next = config;
    next.sessions.push_back(session("10.8.0.6,dtls-mtu=1400,tls-mtu=1300,transport=dtls"));
    next.on_oversize = MG_ACTION_DROP;
    next.icmp_global = {500, 50};
    next.max_sessions = 1000;
    next.xdp_mode = XdpMode::Generic;
    next.client_pools = {parse_prefix("10.8.0.0/16")};
    ReloadReport report = agent->reload(next);

    EXPECT_EQ(report.sessions_added, 1u);
    EXPECT_EQ(report.sessions_changed, 0u);
    EXPECT_EQ(report.sessions_removed, 0u);
    EXPECT_EQ(report.applied, (Strings{"--on-oversize icmp -> drop", "--icmp-rate 0 -> 500", "--icmp-burst 1 -> 50"}));
    EXPECT_EQ(report.restart_needed, (Strings{"--xdp-mode", "--max-sessions", "--client-pool"}));
    EXPECT_EQ(program_id(), program) << "the same program stays attached";
    EXPECT_EQ(status_json(agent->status())["interfaces"][0]["attached"], true);
    EXPECT_EQ(status_json(agent->status())["interfaces"][0]["mode"], "native") << "--xdp-mode waits for a restart";
    EXPECT_EQ(agent->sessions().map_capacity, 4u) << "--max-sessions waits for a restart";
    EXPECT_EQ(status_json(agent->status())["settings"]["on_oversize"], "drop");
    EXPECT_EQ(status_json(agent->status())["settings"]["icmp_rate"], 500);

    // The unchanged static session keeps the transport it was switched to; the mtuguardctl one stays.
    EXPECT_EQ(sessions(), (Strings{"10.8.0.5/static/dtls/1418", "10.8.0.6/static/dtls/1400",
                                   "10.8.0.77/mtuguardctl/tls/1347"}));
    EXPECT_EQ(verdict("10.8.0.5", 1419), drop) << "--on-oversize drop in effect";
    EXPECT_EQ(verdict("10.8.0.6", 1400), pass);
    EXPECT_EQ(verdict("10.8.0.6", 1401), drop);
    EXPECT_EQ(agent->sessions().map_entries, 3u);
    EXPECT_EQ(agent->sessions().by_transport[MG_TRANSPORT_DTLS], 2u);
    EXPECT_NE(agent->summary().find("oversize action drop"), std::string::npos) << agent->summary();
}

TEST_F(Reload, ChangedStaticSessionsAreRewrittenAndRemovedOnesGo)
{
    Config with_pool = config;
    with_pool.sessions.push_back(session("10.9.0.0/16,dtls-mtu=1418,tls-mtu=1347"));
    with_pool.sessions.push_back(session("10.8.0.7,dtls-mtu=1418,tls-mtu=1347"));
    agent->reload(with_pool);
    agent->set_transport(parse_prefix("10.8.0.5"), MG_TRANSPORT_DTLS);
    // mtuguardctl replaced a static session: it is no longer the configuration's to remove.
    agent->add_session(session("10.8.0.7,dtls-mtu=1300,tls-mtu=1300"), MG_SOURCE_CONTROL);

    Config next = config;
    next.sessions = {session("10.8.0.5,dtls-mtu=1418,tls-mtu=1300,transport=tls")};
    ReloadReport report = agent->reload(next);
    EXPECT_EQ(report.sessions_changed, 1u);
    EXPECT_EQ(report.sessions_removed, 1u) << "the pool";
    EXPECT_TRUE(report.applied.empty());
    EXPECT_EQ(sessions(), (Strings{"10.8.0.5/static/tls/1300", "10.8.0.7/mtuguardctl/tls/1300"}));
    EXPECT_EQ(verdict("10.8.0.5", 1301), tx) << "the changed session as the file says, transport included";
    EXPECT_EQ(verdict("10.9.0.1", 1500), pass) << "the pool is gone";
    EXPECT_EQ(agent->sessions().pools, 0u);
    EXPECT_EQ(agent->sessions().map_entries, 2u);

    // A static session deleted at runtime comes back with the next reload.
    agent->delete_session(parse_prefix("10.8.0.5"));
    report = agent->reload(next);
    EXPECT_EQ(report.sessions_added, 1u);
    EXPECT_EQ(verdict("10.8.0.5", 1301), tx);
}

TEST_F(Reload, SessionsThatDoNotFitChangeNothing)
{
    agent->add_session(session("10.8.0.70,dtls-mtu=1418,tls-mtu=1347"), MG_SOURCE_CONTROL);
    agent->add_session(session("10.8.0.71,dtls-mtu=1418,tls-mtu=1347"), MG_SOURCE_CONTROL);
    const Strings before = sessions();

    Config next = config;
    next.on_oversize = MG_ACTION_DROP;
    next.sessions.push_back(session("10.8.0.6,dtls-mtu=1418,tls-mtu=1347"));
    next.sessions.push_back(session("10.8.0.8,dtls-mtu=1418,tls-mtu=1347"));
    try {
        agent->reload(next);
        FAIL() << "5 sessions on a map of 4 were accepted";
    } catch (const ConfigError &e) {
        EXPECT_NE(std::string(e.what()).find("--max-sessions 4"), std::string::npos) << e.what();
    }
    EXPECT_EQ(sessions(), before);
    EXPECT_EQ(status_json(agent->status())["settings"]["on_oversize"], "icmp") << "the settings were not applied either";
    EXPECT_EQ(verdict("10.8.0.5", 1348), tx);
    EXPECT_NE(agent->summary().find("oversize action icmp"), std::string::npos);

    // Without the mtuguardctl sessions the same file fits.
    agent->delete_session(parse_prefix("10.8.0.70"));
    agent->delete_session(parse_prefix("10.8.0.71"));
    EXPECT_EQ(agent->reload(next).sessions_added, 2u);
    EXPECT_EQ(agent->sessions().map_entries, 3u);
}

// The tracker's settings apply at once; the observation programs and session sources, set up
// at start, wait for a restart.
TEST_F(Reload, TrackingSettingsApplyAndSourcesWaitForARestart)
{
    Config next = config;
    next.dtls_idle_timeout = std::chrono::seconds(3);
    next.transport_tracking = false;
    next.syslog_listen = "127.0.0.1:5514";
    next.asa_groups["*"] = session("0.0.0.0,dtls-mtu=1418,tls-mtu=1347");
    ReloadReport report = agent->reload(next);
    EXPECT_EQ(report.applied, (Strings{"--transport-tracking on -> off", "--dtls-idle-timeout 10000 ms -> 3000 ms"}));
    ASSERT_EQ(report.restart_needed.size(), 1u);
    EXPECT_NE(report.restart_needed[0].find("--syslog-listen"), std::string::npos) << report.restart_needed[0];
    EXPECT_EQ(tracking_json(agent->tracking_report(10))["transport_tracking"], false) << "in effect now";
    EXPECT_EQ(agent->reload(next).restart_needed.size(), 1u) << "still waiting, still said";
}

TEST_F(Reload, IcmpSourceAddressesAreRewritten)
{
    EXPECT_EQ(status_json(agent->status())["interfaces"][0]["icmp_source4"], "192.0.2.1");
    Config next = config;
    next.icmp_source4 = parse_address("198.51.100.1");
    ReloadReport report = agent->reload(next);
    EXPECT_EQ(report.applied, (Strings{"--icmp-source (IPv4) (the interface's address) -> 198.51.100.1"}));
    EXPECT_EQ(status_json(agent->status())["interfaces"][0]["icmp_source4"], "198.51.100.1");

    // The frag-needed the program builds now comes from the new address.
    Run run = run_ipv4("10.8.0.5", 1348);
    ASSERT_EQ(run.action, tx);
    const uint8_t expected[4] = {198, 51, 100, 1};
    EXPECT_TRUE(std::equal(expected, expected + 4, run.frame.begin() + 14 + 12)) << "IPv4 source of the error";

    // And the interface's own address again once the option is gone.
    agent->reload(config);
    EXPECT_EQ(status_json(agent->status())["interfaces"][0]["icmp_source4"], "192.0.2.1");
}

} // namespace
} // namespace mtuguard::test
