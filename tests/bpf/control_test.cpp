// The control protocol end to end inside one process: requests go through the real handler to
// a real Agent (the program loaded and attached to a veth pair made for the test), and their
// effect is checked on packets run through the attached program with BPF_PROG_TEST_RUN.
#include <gtest/gtest.h>

#include <regex>


#include <nlohmann/json.hpp>

#include "daemon/agent.hpp"
#include "daemon/control_protocol.hpp"
#include "attached_agent.hpp"
#include "harness.hpp"

namespace mtuguard::test {
namespace {

using nlohmann::json;

class ControlProtocol : public AttachedAgent {
protected:
    json request(const std::string &text)
    {
        ControlServer::Reply reply = handle_control_request(*agent, text);
        return json::parse(reply.line);
    }

    uint64_t requests(ControlResult result) { return agent->control_requests()[size_t(result)]; }
};

constexpr uint32_t pass = xdp_pass, tx = xdp_tx;

TEST_F(ControlProtocol, AddTransportDeleteChangeWhatThePacketsMeet)
{
    EXPECT_EQ(verdict("10.8.0.5", 1418), pass) << "no session yet";
    json added = request(R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls"]})");
    EXPECT_EQ(added["ok"], true) << added;
    EXPECT_EQ(added["replaced"], 0);
    EXPECT_EQ(verdict("10.8.0.5", 1418), tx) << "frag-needed at the TLS MTU";

    EXPECT_EQ(request(R"({"command":"session.transport","address":"10.8.0.5","transport":"dtls"})")["ok"], true);
    EXPECT_EQ(verdict("10.8.0.5", 1418), pass) << "fits the DTLS MTU";
    EXPECT_EQ(verdict("10.8.0.5", 1419), tx);

    json list = request(R"({"command":"session.list","address":"10.8.0.5"})");
    ASSERT_EQ(list["sessions"].size(), 1u) << list;
    const json &s = list["sessions"][0];
    EXPECT_EQ(s["transport"], "dtls");
    EXPECT_EQ(s["effective_mtu"], 1418);
    EXPECT_EQ(s["source"], "mtuguardctl");
    EXPECT_EQ(s["oversize_packets"], 2) << "the 1418 on TLS and the 1419 on DTLS";
    EXPECT_EQ(s["icmp_sent"], 2);
    ASSERT_TRUE(s["last_oversize"].is_string()) << s;
    EXPECT_TRUE(std::regex_match(s["last_oversize"].get<std::string>(),
                                 std::regex(R"(20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z)")))
        << "UTC, ISO 8601: " << s["last_oversize"];

    EXPECT_EQ(request(R"({"command":"session.del","address":"10.8.0.5"})")["ok"], true);
    EXPECT_EQ(verdict("10.8.0.5", 1419), pass) << "no session again";
    EXPECT_EQ(requests(ControlResult::Ok), 4u);
}

TEST_F(ControlProtocol, ReplacingASessionIsOneWholeChange)
{
    request(R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347"]})");
    json replaced = request(R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1400,tls-mtu=1300,transport=dtls"]})");
    EXPECT_EQ(replaced["replaced"], 1);
    EXPECT_EQ(verdict("10.8.0.5", 1400), pass);
    EXPECT_EQ(verdict("10.8.0.5", 1401), tx);
    EXPECT_EQ(agent->sessions().map_entries, 1u);
    EXPECT_EQ(agent->sessions().by_transport[MG_TRANSPORT_DTLS], 1u);
    EXPECT_EQ(agent->sessions().by_transport[MG_TRANSPORT_TLS], 0u);
}

TEST_F(ControlProtocol, AFullMapIsAnErrorAndNothingIsEvicted)
{
    json four = request(R"({"command":"session.add","sessions":["10.8.0.1,dtls-mtu=1418,tls-mtu=1347",
        "10.8.0.2,dtls-mtu=1418,tls-mtu=1347","10.8.0.3,dtls-mtu=1418,tls-mtu=1347"]})");
    ASSERT_EQ(four["ok"], true) << four;
    EXPECT_EQ(request(R"({"command":"session.add","sessions":["10.8.0.4,dtls-mtu=1418,tls-mtu=1347"]})")["ok"], true);

    json full = request(R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347"]})");
    EXPECT_EQ(full["ok"], false);
    EXPECT_EQ(full["error"], "map_full");
    EXPECT_NE(full["message"].get<std::string>().find("--max-sessions"), std::string::npos) << full;

    json batch = request(R"({"command":"session.add","sessions":["10.8.0.1,dtls-mtu=1300,tls-mtu=1300",
        "10.8.0.6,dtls-mtu=1418,tls-mtu=1347"]})");
    EXPECT_EQ(batch["error"], "map_full");
    EXPECT_EQ(verdict("10.8.0.1", 1347), pass) << "the batch did not half-apply: 10.8.0.1 keeps its MTU";
    EXPECT_EQ(verdict("10.8.0.6", 1500), pass) << "and 10.8.0.6 was not added";
    EXPECT_EQ(agent->sessions().map_entries, 4u);
    EXPECT_EQ(requests(ControlResult::MapFull), 2u);

    // Replacing an existing session still works on a full map.
    EXPECT_EQ(request(R"({"command":"session.add","sessions":["10.8.0.1,dtls-mtu=1300,tls-mtu=1300"]})")["ok"], true);
    EXPECT_EQ(verdict("10.8.0.1", 1347), tx);
}

TEST_F(ControlProtocol, BadRequestsGetStructuredErrorsAndAreCounted)
{
    struct Case {
        const char *request;
        const char *error;
        const char *message;
    };
    const Case cases[] = {
        {"{not json", "bad_request", "not valid JSON"},
        {"[1,2]", "bad_request", "a request is a JSON object"},
        {R"({"cmd":"status"})", "bad_request", "'command' must be a string"},
        {R"({"command":"reboot"})", "unknown_command", "unknown command 'reboot'"},
        {R"({"command":"status","verbose":true})", "bad_request", "unknown field 'verbose' for status"},
        {R"({"command":"session.add","sessions":[]})", "bad_request", "non-empty array"},
        {R"({"command":"session.add","sessions":[42]})", "bad_request", "each session is a string"},
        {R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=99999,tls-mtu=1347"]})", "bad_request",
         "dtls-mtu '99999'"},
        {R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347","10.8.0.5,dtls-mtu=1418,tls-mtu=1347"]})",
         "bad_request", "given twice"},
        // Apart in the batch, and the same address as a pool prefix beside it is no duplicate.
        {R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347","10.8.0.0/24,dtls-mtu=1418,tls-mtu=1347","10.8.0.0,dtls-mtu=1418,tls-mtu=1347","10.8.0.5,dtls-mtu=1400,tls-mtu=1347"]})",
         "bad_request", "10.8.0.5 given twice"},
        {R"({"command":"session.del","address":"10.8.0.77"})", "not_found", "no session 10.8.0.77"},
        {R"({"command":"session.del","address":"not-an-address"})", "bad_request", "address:"},
        {R"({"command":"session.transport","address":"10.8.0.5","transport":"quic"})", "bad_request",
         "transport 'quic'"},
        {"{\"command\":\"session.add\",\"sessions\":[\"\xff\xfe,dtls-mtu=1\"]}", "bad_request", "not valid JSON"},
    };
    for (const auto &c : cases) {
        json reply = request(c.request);
        EXPECT_EQ(reply["ok"], false) << c.request;
        EXPECT_EQ(reply["error"], c.error) << c.request << " -> " << reply;
        EXPECT_NE(reply["message"].get<std::string>().find(c.message), std::string::npos) << c.request << " -> " << reply;
    }
    EXPECT_EQ(requests(ControlResult::BadRequest), 12u);
    EXPECT_EQ(requests(ControlResult::UnknownCommand), 1u);
    EXPECT_EQ(requests(ControlResult::NotFound), 1u);
    EXPECT_EQ(agent->sessions().map_entries, 0u) << "nothing was added by any of them";
}

TEST_F(ControlProtocol, StatusAndStatsDescribeTheRunningAgent)
{
    json status = request(R"({"command":"status"})");
    ASSERT_EQ(status["ok"], true);
    ASSERT_EQ(status["interfaces"].size(), 1u);
    EXPECT_EQ(status["interfaces"][0]["name"], veth);
    EXPECT_EQ(status["interfaces"][0]["attached"], true);
    EXPECT_EQ(status["interfaces"][0]["icmp_source4"], "192.0.2.1");
    EXPECT_GT(status["interfaces"][0]["program_id"].get<uint32_t>(), 0u);
    EXPECT_EQ(status["sessions"]["capacity"], 4);

    request(R"({"command":"session.add","sessions":["10.8.0.5,dtls-mtu=1418,tls-mtu=1347"]})");
    verdict("10.8.0.5", 1418);
    json stats = request(R"({"command":"stats"})");
    EXPECT_EQ(stats["interfaces"][0]["counters"]["ipv4"]["icmp_sent"]["packets"], 1) << stats;
    EXPECT_EQ(stats["interfaces"][0]["counters"]["ipv4"]["icmp_sent"]["bytes"], 14 + 1418);
}

TEST_F(ControlProtocol, DetachAsksToStop)
{
    ControlServer::Reply reply = handle_control_request(*agent, R"({"command":"detach"})");
    EXPECT_TRUE(reply.stop);
    EXPECT_EQ(json::parse(reply.line)["detached"], true);
}

} // namespace
} // namespace mtuguard::test

namespace mtuguard::test {
namespace {

TEST_F(ControlProtocol, ListingIsLimited)
{
    request(R"({"command":"session.add","sessions":["10.8.0.1,dtls-mtu=1418,tls-mtu=1347",
        "10.8.0.2,dtls-mtu=1418,tls-mtu=1347","10.8.0.3,dtls-mtu=1418,tls-mtu=1347"]})");
    json all = request(R"({"command":"session.list"})");
    EXPECT_EQ(all["sessions"].size(), 3u);
    EXPECT_EQ(all["total"], 3);
    EXPECT_EQ(all["truncated"], false);
    json two = request(R"({"command":"session.list","limit":2})");
    EXPECT_EQ(two["sessions"].size(), 2u);
    EXPECT_EQ(two["total"], 3);
    EXPECT_EQ(two["truncated"], true);
    EXPECT_EQ(request(R"({"command":"session.list","limit":0})")["error"], "bad_request");
    EXPECT_EQ(request(R"({"command":"session.list","limit":"all"})")["error"], "bad_request");
}

} // namespace
} // namespace mtuguard::test
