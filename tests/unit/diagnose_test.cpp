// Unit tests of mtuguardctl diagnose's findings on sessions outside the client pools
// (userspace/ctl/diagnose.cpp), over status and session JSON as the daemon sends them.
#include <gtest/gtest.h>

#include "ctl/diagnose.hpp"

namespace mtuguard::ctl {
namespace {

using nlohmann::json;

json status_with(json client_pools)
{
    return {{"interfaces", json::array()},
            {"settings", {{"on_oversize", "icmp"}, {"mss_clamp", true}}},
            {"sessions", {{"exact", 0}, {"capacity", 65536}}},
            {"client_pools", std::move(client_pools)}};
}

json sessions_at(std::initializer_list<const char *> addresses)
{
    json list = json::array();
    for (const char *a : addresses)
        list.push_back({{"address", a}, {"kind", std::string(a).find('/') == std::string::npos ? "session" : "pool"}});
    return {{"sessions", list}};
}

std::vector<std::string> findings(const json &status, const json &sessions)
{
    const json stats = {{"interfaces", json::array()}};
    std::vector<std::string> out;
    for (const auto &f : diagnose(status, stats, json::object(), sessions, std::nullopt))
        out.push_back(f["severity"].get<std::string>() + ": " + f["finding"].get<std::string>());
    return out;
}

// Sessions outside every pool are named by the 2^20-address block they lie in, with the pool
// that would hold them: their common prefix, a /24 (IPv6 /120) at the most specific; where that
// overlaps a pool declared, one per /24, lengthened until apart. Pool prefixes are not sessions.
TEST(Diagnose, SessionsOutsideEveryClientPoolAreNamedWithAPoolToDeclare)
{
    const json pools = json::array({{{"prefix", "10.8.0.0/24"}, {"addresses", 256}, {"sessions", 1}}});
    EXPECT_EQ(findings(status_with(pools), sessions_at({"10.8.0.5", "10.9.0.0/16"})),
              std::vector<std::string>{"ok: nothing looks wrong: programs attached, no ICMP error withheld or lost, "
                                       "no silent drops"});
    const json low_half = json::array({{{"prefix", "10.8.0.0/25"}, {"addresses", 128}, {"sessions", 1}}});
    EXPECT_EQ(findings(status_with(low_half), sessions_at({"10.8.0.200", "10.8.0.5"})).front(),
              "info: 1 session(s) outside every client pool are hashed, the slower lookup: 1 in 10.0.0.0/12 "
              "(--client-pool 10.8.0.128/25)")
        << "the /24 would overlap 10.8.0.0/25";
    EXPECT_EQ(findings(status_with(pools), sessions_at({"10.8.0.5", "10.8.1.7", "10.8.3.9", "10.40.2.1",
                                                        "2001:db8::1:5"})),
              (std::vector<std::string>{
                  "info: 4 session(s) outside every client pool are hashed, the slower lookup: 2 in 10.0.0.0/12 "
                  "(--client-pool 10.8.1.0/24 --client-pool 10.8.3.0/24); 1 in 10.32.0.0/12 (--client-pool 10.40.2.0/24); 1 in "
                  "2001:db8::/108 (--client-pool 2001:db8::1:0/120)",
                  "ok: nothing looks wrong: programs attached, no ICMP error withheld or lost, no silent drops"}));
}

} // namespace
} // namespace mtuguard::ctl
