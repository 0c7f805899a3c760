// The enforcement program run on crafted packets through BPF_PROG_TEST_RUN: every case
// asserts the exact reason, verdict and counter delta, and that the reference model agrees byte
// for byte on the output. The ICMP errors are also checked field by field here, with checksums
// verified by the test's own code.
#include <bpf/bpf.h>
#include <time.h>

#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "kernel/settings.hpp"

namespace mtuguard::test {
namespace {

// Every case runs twice: with the sessions in the hash and the trie, and with most of them in
// client pools (harness.hpp), where the verdicts, bytes and counters must be the same.
class Enforcement : public ProgramTest, public ::testing::WithParamInterface<Lookup> {
protected:
    void SetUp() override
    {
        client_pools = suite_client_pools(GetParam());
        ProgramTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        add_sessions({"10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls",
                      "10.8.0.6,dtls-mtu=1418,tls-mtu=1347,transport=dtls",
                      "10.9.0.0/16,dtls-mtu=1400,tls-mtu=1300,transport=tls",
                      "10.9.0.7,dtls-mtu=1418,tls-mtu=1347,transport=tls",
                      "2001:db8::5,dtls-mtu=1418,tls-mtu=1347,transport=tls",
                      "2001:db8::6,dtls-mtu=1200,tls-mtu=1200,transport=tls",
                      "2001:db8:9::/48,dtls-mtu=1400,tls-mtu=1300,transport=tls"});
    }

    // The one flow the answered-flows table holds, and its slot.
    static void only_answered_flow(int flows, uint32_t &index, mg_answered_flow &flow)
    {
        for (index = 0; index < MG_ANSWERED_FLOWS; index++) {
            ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &flow), 0);
            if (flow.flow)
                return;
        }
        FAIL() << "the flow was not remembered";
    }

    void set_action(mg_action action)
    {
        mg_settings s = model.settings;
        s.action = action;
        set_settings(s);
    }

    static Ipv4Packet v4(uint16_t length, bool df = true)
    {
        Ipv4Packet p;
        p.total_length = length;
        p.df = df;
        return p;
    }

    static Ipv6Packet v6(uint16_t length)
    {
        Ipv6Packet p;
        p.total_length = length;
        return p;
    }

    static Ipv4Packet icmp4(uint8_t type, uint16_t length = 1348)
    {
        Ipv4Packet p = v4(length);
        p.protocol = 1;
        p.upper = {type, 0, 0, 0, 0, 0, 0, 0};
        return p;
    }

    static Ipv6Packet icmp6(uint8_t type, uint16_t length = 1348)
    {
        Ipv6Packet p = v6(length);
        p.next_header = 58;
        p.upper = {type, 0, 0, 0, 0, 0, 0, 0};
        return p;
    }

    // The frag-needed error, field by field.
    void check_frag_needed(const Bytes &in, const Bytes &out, size_t l3, uint16_t mtu)
    {
        ASSERT_EQ(out.size(), l3 + 576);
        EXPECT_TRUE(std::equal(in.begin(), in.begin() + 6, out.begin() + 6)) << "dst MAC = sender's";
        EXPECT_TRUE(std::equal(gateway_mac.begin(), gateway_mac.end(), out.begin() + 6)) << "src MAC = ours";
        EXPECT_TRUE(std::equal(in.begin() + 12, in.begin() + l3, out.begin() + 12)) << "tags, type kept";
        std::span<const uint8_t> ip(&out[l3], 576);
        EXPECT_EQ(ip[0], 0x45);
        EXPECT_EQ(ip[1], 0xc0);
        EXPECT_EQ(get16(ip, 2), 576);
        EXPECT_EQ(get16(ip, 6), 0) << "no DF, no fragment";
        EXPECT_EQ(ip[8], 64) << "TTL";
        EXPECT_EQ(ip[9], 1) << "ICMP";
        EXPECT_TRUE(checksum_ok(ip.subspan(0, 20))) << "IP header checksum";
        EXPECT_TRUE(std::equal(ip.begin() + 12, ip.begin() + 16, ipv4("192.0.2.1").begin()));
        EXPECT_TRUE(std::equal(ip.begin() + 16, ip.begin() + 20, in.begin() + l3 + 12)) << "to the sender";
        EXPECT_EQ(ip[20], 3);
        EXPECT_EQ(ip[21], 4);
        EXPECT_EQ(get16(ip, 24), 0) << "unused";
        EXPECT_EQ(get16(ip, 26), mtu) << "next-hop MTU";
        EXPECT_TRUE(checksum_ok(ip.subspan(20))) << "ICMP checksum";
        EXPECT_TRUE(std::equal(ip.begin() + 28, ip.end(), in.begin() + l3)) << "quote = original datagram";
    }

    void check_packet_too_big(const Bytes &in, const Bytes &out, size_t l3, uint32_t mtu)
    {
        ASSERT_EQ(out.size(), l3 + 1280);
        EXPECT_TRUE(std::equal(in.begin(), in.begin() + 6, out.begin() + 6));
        EXPECT_TRUE(std::equal(gateway_mac.begin(), gateway_mac.end(), out.begin() + 6));
        EXPECT_TRUE(std::equal(in.begin() + 12, in.begin() + l3, out.begin() + 12));
        std::span<const uint8_t> ip(&out[l3], 1280);
        EXPECT_EQ(get32(ip, 0), 0x60000000u);
        EXPECT_EQ(get16(ip, 4), 1240);
        EXPECT_EQ(ip[6], 58);
        EXPECT_EQ(ip[7], 64) << "hop limit";
        EXPECT_TRUE(std::equal(ip.begin() + 8, ip.begin() + 24, ipv6("2001:db8:ffff::1").begin()));
        EXPECT_TRUE(std::equal(ip.begin() + 24, ip.begin() + 40, in.begin() + l3 + 8));
        EXPECT_EQ(ip[40], 2);
        EXPECT_EQ(ip[41], 0);
        EXPECT_EQ(get32(ip, 44), mtu);
        EXPECT_TRUE(checksum_ok(ip.subspan(40), ipv6_pseudo_sum(ip))) << "ICMPv6 checksum";
        EXPECT_TRUE(std::equal(ip.begin() + 48, ip.end(), in.begin() + l3)) << "quote";
    }
};

TEST_P(Enforcement, Ipv4AtMtuExactlyPasses) { expect(v4(1347).build(), MG_REASON_WITHIN_MTU); }

TEST_P(Enforcement, Ipv4OneOverMtuGetsFragNeeded)
{
    Bytes in = v4(1348).build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1347);
}

TEST_P(Enforcement, TheSeedCase1418OnTlsGetsFragNeeded1347)
{
    Bytes in = v4(1418).build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1347);
}

// A TCP or UDP flow answered once and still oversize a second later never got its error:
// counted as unheeded (flows.bpf.h), per interface and in the flow's own entry. Sooner, another
// flow, or ICMP (ping repeats its size on purpose), is not. The entry's age is set through the map, so the test needs no waiting.
TEST_P(Enforcement, AFlowStillOversizeASecondAfterItsErrorIsUnheeded)
{
    auto tcp = [](uint8_t sport_low) {
        Ipv4Packet p = v4(1400);
        p.upper = {0x30, sport_low, 0x01, 0xbb, 0, 0, 0, 1};
        return p.build();
    };
    const int flows = datapath->map_fd("mg_answered_flows");
    auto entries = [&] { // the occupied slots, by index
        std::vector<std::pair<uint32_t, mg_answered_flow>> out;
        for (uint32_t index = 0; index < MG_ANSWERED_FLOWS; index++) {
            mg_answered_flow value{};
            EXPECT_EQ(bpf_map_lookup_elem(flows, &index, &value), 0);
            if (value.flow) {
                EXPECT_EQ(value.flow % MG_ANSWERED_FLOWS, index) << "a flow in another's slot";
                out.emplace_back(index, value);
            }
        }
        return out;
    };

    expect(icmp4(8, 1400).build(), MG_REASON_ICMP_SENT); // an echo request: not a flow that is tracked
    EXPECT_TRUE(entries().empty());
    EXPECT_EQ(expect(tcp(0x39), MG_REASON_ICMP_SENT).reason, MG_REASON_ICMP_SENT);
    EXPECT_EQ(expect(tcp(0x39), MG_REASON_ICMP_SENT).reason, MG_REASON_ICMP_SENT); // a retransmission, at once
    auto seen = entries();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].second.unheeded, 0u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 0u);

    // answered since a second and a half, the latest error just now
    ASSERT_GT(seen[0].second.first_answered_ns, 1'500'000'000ull);
    seen[0].second.first_answered_ns -= 1'500'000'000ull;
    ASSERT_EQ(bpf_map_update_elem(flows, &seen[0].first, &seen[0].second, BPF_ANY), 0);
    expect(tcp(0x39), MG_REASON_ICMP_SENT);
    expect(tcp(0x3a), MG_REASON_ICMP_SENT); // another source port: another flow, answered first now
    seen = entries();
    ASSERT_EQ(seen.size(), 2u);
    uint64_t unheeded = 0;
    for (const auto &[key, value] : seen)
        unheeded += value.unheeded;
    EXPECT_EQ(unheeded, 1u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 1u);
}

// A flow whose sender heeded its error and was answered again a minute later (its MTU cache
// expired) is a new error, not an ignored one: the flow's window starts again, and only what it
// still sends a second into that window counts. So does one answered with another MTU (the
// session's fell) however soon.
TEST_P(Enforcement, AFlowAnsweredAgainAfterAQuietMinuteIsNotUnheeded)
{
    Ipv4Packet p = v4(1400);
    p.upper = {0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1};
    const Bytes tcp = p.build();
    const int flows = datapath->map_fd("mg_answered_flows");
    expect(tcp, MG_REASON_ICMP_SENT);
    uint32_t index = 0;
    mg_answered_flow mine{};
    ASSERT_NO_FATAL_FAILURE(only_answered_flow(flows, index, mine));
    const uint64_t answered = mine.first_answered_ns;
    ASSERT_GT(answered, 60'000'000'000ull);
    EXPECT_EQ(mine.last_answered_ns, answered);
    EXPECT_EQ(mine.mtu, 1347u);
    mine.first_answered_ns = mine.last_answered_ns = answered - 60'000'000'000ull; // once, a minute ago
    ASSERT_EQ(bpf_map_update_elem(flows, &index, &mine, BPF_ANY), 0);

    expect(tcp, MG_REASON_ICMP_SENT);
    mg_answered_flow now{};
    ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &now), 0);
    EXPECT_EQ(now.unheeded, 0u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 0u);
    EXPECT_GE(now.first_answered_ns, answered) << "a new window";
    EXPECT_EQ(now.last_answered_ns, now.first_answered_ns);

    // Answered without a pause since five seconds, but until now about another MTU.
    now.first_answered_ns -= 5'000'000'000ull;
    now.last_answered_ns -= 500'000'000ull;
    now.mtu = 1418;
    ASSERT_EQ(bpf_map_update_elem(flows, &index, &now, BPF_ANY), 0);
    expect(tcp, MG_REASON_ICMP_SENT);
    ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &now), 0);
    EXPECT_EQ(now.unheeded, 0u);
    EXPECT_EQ(now.mtu, 1347u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 0u);

    // The same, about the same MTU: a sender that ignores its errors.
    now.first_answered_ns -= 5'000'000'000ull;
    now.last_answered_ns -= 500'000'000ull;
    ASSERT_EQ(bpf_map_update_elem(flows, &index, &now, BPF_ANY), 0);
    expect(tcp, MG_REASON_ICMP_SENT);
    ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &now), 0);
    EXPECT_EQ(now.unheeded, 1u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 1u);
}

// The flow is found by its own ports wherever the header chain puts them: behind a kilobyte of
// IPv6 destination options, two flows that differ only in their ports are two flows.
TEST_P(Enforcement, FlowsBehindALongHeaderChainAreToldApartByTheirPorts)
{
    auto udp = [](uint16_t sport) {
        Ipv6Packet q = v6(1400);
        q.next_header = 60;
        q.extension_headers.assign(1048, 0); // 131 units of 8 bytes, Pad1 options
        q.extension_headers[0] = 17;
        q.extension_headers[1] = 130;
        q.upper = udp_header(sport, 4433, 1400 - 40 - 1048);
        return q.build();
    };
    expect(udp(40000), MG_REASON_ICMP_SENT);
    expect(udp(40001), MG_REASON_ICMP_SENT);
    const int flows = datapath->map_fd("mg_answered_flows");
    std::set<uint64_t> seen;
    for (uint32_t index = 0; index < MG_ANSWERED_FLOWS; index++) {
        mg_answered_flow value{};
        ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &value), 0);
        if (value.flow)
            seen.insert(value.flow);
    }
    EXPECT_EQ(seen.size(), 2u);
}

// The table is direct-mapped: a flow answered into a slot another flow holds takes it over and
// starts its own second, however long ago the other was answered.
TEST_P(Enforcement, AFlowAnsweredIntoAnotherFlowsSlotTakesItOverUncounted)
{
    Ipv4Packet p = v4(1400);
    p.upper = {0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1};
    const Bytes tcp = p.build();
    const int flows = datapath->map_fd("mg_answered_flows");
    expect(tcp, MG_REASON_ICMP_SENT);
    uint32_t index = 0;
    mg_answered_flow mine{};
    ASSERT_NO_FATAL_FAILURE(only_answered_flow(flows, index, mine));

    const mg_answered_flow other{.flow = mine.flow + MG_ANSWERED_FLOWS, // same slot, answered long ago
                                 .first_answered_ns = 1,
                                 .last_answered_ns = 1,
                                 .unheeded = 7,
                                 .mtu = 1347};
    ASSERT_EQ(bpf_map_update_elem(flows, &index, &other, BPF_ANY), 0);
    expect(tcp, MG_REASON_ICMP_SENT);
    mg_answered_flow now{};
    ASSERT_EQ(bpf_map_lookup_elem(flows, &index, &now), 0);
    EXPECT_EQ(now.flow, mine.flow);
    EXPECT_GT(now.first_answered_ns, 1u);
    EXPECT_EQ(now.unheeded, 0u);
    EXPECT_EQ(datapath->unheeded().at(test_slot), 0u);
}

// The program's clock (jiffies, bpf/clock.bpf.h) stamps on CLOCK_MONOTONIC's scale: the daemon
// shows the stamp as a time of day. Jiffies start with the tick, a fraction of a second after
// the monotonic clock, and a stamp is at most a tick old.
TEST_P(Enforcement, TheOversizeStampIsOnTheMonotonicClock)
{
    auto monotonic_ns = [] {
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC, &t);
        return uint64_t(t.tv_sec) * 1000000000 + uint64_t(t.tv_nsec);
    };
    const uint64_t before = monotonic_ns();
    expect(v4(1400).build(), MG_REASON_ICMP_SENT);
    const uint64_t after = monotonic_ns();
    const auto session = datapath->session(parse_prefix("10.8.0.5"));
    ASSERT_TRUE(session);
    const uint64_t stamp = session->stats.last_oversize_ns;
    const mg_clock clock = program_clock();
    EXPECT_GE(stamp + 2 * clock.tick_ns + 1000000000, before) << "more than a second early";
    EXPECT_LE(stamp, after + clock.tick_ns) << "later than the packet";
}

TEST_P(Enforcement, Ipv4WithoutDfPassesForTheTunnelToFragment)
{
    expect(v4(1418, false).build(), MG_REASON_FRAGMENTED);
}

TEST_P(Enforcement, DtlsTransportUsesTheDtlsMtu)
{
    Ipv4Packet p = v4(1418);
    p.dst = "10.8.0.6";
    expect(p.build(), MG_REASON_WITHIN_MTU);
    p.total_length = 1419;
    Bytes in = p.build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1418);
}

TEST_P(Enforcement, NotASessionPasses)
{
    Ipv4Packet p = v4(1500);
    p.dst = "10.7.0.1";
    expect(p.build(), MG_REASON_NO_SESSION);
    Ipv6Packet q = v6(1500);
    q.dst = "2001:db8:1::1";
    expect(q.build(), MG_REASON_NO_SESSION);
}

TEST_P(Enforcement, PoolPrefixGivesDefaultsAndExactSessionWins)
{
    Ipv4Packet p = v4(1300);
    p.dst = "10.9.1.1";
    expect(p.build(), MG_REASON_WITHIN_MTU);
    p.total_length = 1301;
    Bytes in = p.build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1300);
    p.dst = "10.9.0.7"; // inside the pool, but its own session says 1347
    p.total_length = 1347;
    expect(p.build(), MG_REASON_WITHIN_MTU);
    p.total_length = 1348;
    in = p.build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1347);
}

TEST_P(Enforcement, VlanAndQinqTagsAreParsedAndKeptInTheError)
{
    for (auto tags : {std::vector<uint16_t>{0x8100}, std::vector<uint16_t>{0x88a8, 0x8100}}) {
        Ipv4Packet p = v4(1347);
        p.l2.vlan_tpids = tags;
        expect(p.build(), MG_REASON_WITHIN_MTU);
        p.total_length = 1348;
        Bytes in = p.build();
        check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14 + 4 * tags.size(), 1347);
        Ipv6Packet q = v6(1348);
        q.l2.vlan_tpids = tags;
        in = q.build();
        check_packet_too_big(in, expect(in, MG_REASON_ICMP_SENT).frame, 14 + 4 * tags.size(), 1347);
    }
}

TEST_P(Enforcement, ThreeVlanTagsAreNotParsed)
{
    Ipv4Packet p = v4(1418);
    p.l2.vlan_tpids = {0x88a8, 0x8100, 0x8100};
    expect(p.build(), MG_REASON_NOT_IP);
}

TEST_P(Enforcement, Ipv4OptionsAreSkippedAndQuoted)
{
    Ipv4Packet p = v4(1347);
    p.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}; // router alert, NOPs, EOL
    expect(p.build(), MG_REASON_WITHIN_MTU);
    p.total_length = 1348;
    Bytes in = p.build();
    check_frag_needed(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1347);
    p.protocol = 1; // an ICMP error behind options is still recognised
    p.upper = {3, 4, 0, 0, 0, 0, 0, 0};
    expect(p.build(), MG_REASON_SUPPRESSED_ICMP_ERROR);
}

TEST_P(Enforcement, LengthIsTheL3LengthNotTheFrame)
{
    Ipv4Packet p = v4(1347);
    p.trailer = 200; // Ethernet padding or trailer: not carried by the tunnel
    expect(p.build(), MG_REASON_WITHIN_MTU);
    Ipv6Packet q = v6(1347);
    q.trailer = 200;
    expect(q.build(), MG_REASON_WITHIN_MTU);
}

TEST_P(Enforcement, ActionDrop)
{
    set_action(MG_ACTION_DROP);
    expect(v4(1348).build(), MG_REASON_DROPPED);
    expect(v6(1348).build(), MG_REASON_DROPPED);
    expect(v4(1348, false).build(), MG_REASON_FRAGMENTED);
}

TEST_P(Enforcement, ActionMonitor)
{
    set_action(MG_ACTION_MONITOR);
    expect(v4(1348).build(), MG_REASON_MONITORED);
    expect(v6(1348).build(), MG_REASON_MONITORED);
}

TEST_P(Enforcement, ActionClearDfClearsDfAndKeepsTheChecksumRight)
{
    set_action(MG_ACTION_CLEAR_DF);
    Bytes in = v4(1418).build();
    Bytes out = expect(in, MG_REASON_DF_CLEARED).frame;
    ASSERT_EQ(out.size(), in.size());
    EXPECT_EQ(get16(out, 14 + 6), 0) << "DF cleared";
    EXPECT_TRUE(checksum_ok({&out[14], 20}));
    out[14 + 6] = in[14 + 6];
    out[14 + 10] = in[14 + 10];
    out[14 + 11] = in[14 + 11];
    EXPECT_EQ(out, in) << "nothing else changed";
    // IPv6 has no DF: the sender must learn the MTU
    Bytes in6 = v6(1348).build();
    check_packet_too_big(in6, expect(in6, MG_REASON_ICMP_SENT).frame, 14, 1347);
}

TEST_P(Enforcement, Ipv6AtMtuPassesAndOverGetsPacketTooBig)
{
    expect(v6(1347).build(), MG_REASON_WITHIN_MTU);
    Bytes in = v6(1348).build();
    check_packet_too_big(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1347);
}

TEST_P(Enforcement, Ipv6PoolPrefix)
{
    Ipv6Packet q = v6(1301);
    q.dst = "2001:db8:9:1::1";
    Bytes in = q.build();
    check_packet_too_big(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1300);
}

TEST_P(Enforcement, Ipv6BelowTheMinimumMtu)
{
    Ipv6Packet q = v6(1200);
    q.dst = "2001:db8::6"; // MTU 1200
    expect(q.build(), MG_REASON_WITHIN_MTU);
    q.total_length = 1201;
    expect(q.build(), MG_REASON_IPV6_BELOW_MIN);
    q.total_length = 1280;
    expect(q.build(), MG_REASON_IPV6_BELOW_MIN);
    q.total_length = 1281;
    Bytes in = q.build();
    check_packet_too_big(in, expect(in, MG_REASON_ICMP_SENT).frame, 14, 1280);
}

TEST_P(Enforcement, NoErrorAboutIcmpv4Errors)
{
    for (uint8_t type : {3, 4, 5, 11, 12})
        expect(icmp4(type).build(), MG_REASON_SUPPRESSED_ICMP_ERROR);
    for (uint8_t type : {0, 8, 13})
        expect(icmp4(type).build(), MG_REASON_ICMP_SENT);
}

TEST_P(Enforcement, NoErrorAboutLaterIpv4Fragments)
{
    Ipv4Packet p = v4(1348);
    p.fragment_offset = 185;
    expect(p.build(), MG_REASON_SUPPRESSED_FRAGMENT);
    p.protocol = 1; // even when it looks like an ICMP error, the fragment rule decides
    p.upper = {3, 4};
    expect(p.build(), MG_REASON_SUPPRESSED_FRAGMENT);
    Ipv4Packet first = v4(1348);
    first.more_fragments = true; // the first fragment carries the upper layer: answered
    expect(first.build(), MG_REASON_ICMP_SENT);
}

TEST_P(Enforcement, NoErrorAboutIpv4MulticastOrBroadcast)
{
    add_session("224.1.2.3,dtls-mtu=1418,tls-mtu=1347");
    add_session("255.255.255.255,dtls-mtu=1418,tls-mtu=1347");
    for (const char *dst : {"224.1.2.3", "255.255.255.255"}) {
        Ipv4Packet p = v4(1348);
        p.dst = dst;
        expect(p.build(), MG_REASON_SUPPRESSED_MULTICAST);
    }
    for (Mac mac : {Mac{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}, Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}) {
        Ipv4Packet p = v4(1348);
        p.l2.dst = mac;
        expect(p.build(), MG_REASON_SUPPRESSED_MULTICAST);
    }
}

TEST_P(Enforcement, NoErrorToSourcesThatAreNotUnicastHosts)
{
    for (const char *src : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.5", "240.0.0.1", "255.255.255.255"}) {
        Ipv4Packet p = v4(1348);
        p.src = src;
        expect(p.build(), MG_REASON_SUPPRESSED_BAD_SOURCE);
    }
    for (const char *src : {"::", "::1", "ff02::1"}) {
        Ipv6Packet q = v6(1348);
        q.src = src;
        expect(q.build(), MG_REASON_SUPPRESSED_BAD_SOURCE);
    }
}

TEST_P(Enforcement, NoErrorAboutIcmpv6ErrorsOrRedirects)
{
    for (uint8_t type : {1, 2, 3, 4, 127, 137})
        expect(icmp6(type).build(), MG_REASON_SUPPRESSED_ICMP_ERROR);
    for (uint8_t type : {128, 129, 135})
        expect(icmp6(type).build(), MG_REASON_ICMP_SENT);
}

TEST_P(Enforcement, Ipv6MulticastDestinationStillGetsPacketTooBig)
{
    add_session("ff0e::1,dtls-mtu=1418,tls-mtu=1347");
    Ipv6Packet q = v6(1348);
    q.dst = "ff0e::1";
    q.l2.dst = {0x33, 0x33, 0, 0, 0, 1};
    expect(q.build(), MG_REASON_ICMP_SENT); // RFC 4443 2.4(e.2)
}

// An error leaves from the interface's own MAC address, whatever the offending frame was sent
// to: a group address as a source would be refused by every receiver (IEEE 802.3 3.2.3).
TEST_P(Enforcement, AnErrorLeavesFromTheInterfacesOwnMac)
{
    add_session("ff0e::1,dtls-mtu=1418,tls-mtu=1347");
    Ipv6Packet q = v6(1348);
    q.dst = "ff0e::1";
    q.l2.dst = {0x33, 0x33, 0, 0, 0, 1};
    Bytes out = expect(q.build(), MG_REASON_ICMP_SENT).frame;
    ASSERT_GE(out.size(), 12u);
    EXPECT_EQ(hex({out.data() + 6, 6}), hex(gateway_mac)) << "src MAC = the interface's";
    EXPECT_EQ(hex({out.data(), 6}), hex(server_mac)) << "dst MAC = the sender's";

    // The interface's MAC, not the frame's destination: here they differ.
    mg_iface iface = default_iface();
    const Mac own = {0x02, 0x00, 0x00, 0x00, 0x00, 0xaa};
    std::memcpy(iface.mac, own.data(), sizeof(iface.mac));
    set_iface(iface);
    out = expect(v4(1348).build(), MG_REASON_ICMP_SENT).frame;
    EXPECT_EQ(hex({out.data() + 6, 6}), hex(own));
    out = expect(v6(1348).build(), MG_REASON_ICMP_SENT).frame;
    EXPECT_EQ(hex({out.data() + 6, 6}), hex(own));

    // Without a MAC address of its own, the interface has nothing to answer from.
    iface.has_mac = 0;
    set_iface(iface);
    expect(v4(1348).build(), MG_REASON_SUPPRESSED_NO_ADDRESS);
    expect(v6(1348).build(), MG_REASON_SUPPRESSED_NO_ADDRESS);
}

TEST_P(Enforcement, Ipv6FragmentsGetPacketTooBig)
{
    Ipv6Packet first = v6(1348);
    first.next_header = 44;
    first.extension_headers = {6, 0, 0x00, 0x01, 0, 0, 0, 7}; // offset 0, M set, then TCP
    expect(first.build(), MG_REASON_ICMP_SENT);
    Ipv6Packet later = v6(1348);
    later.next_header = 44;
    later.extension_headers = {58, 0, 0x05, 0x00, 0, 0, 0, 7}; // offset 160
    later.upper = {1, 0};                                   // not a header: payload bytes
    expect(later.build(), MG_REASON_ICMP_SENT);
}

TEST_P(Enforcement, Ipv6ExtensionHeaderChain)
{
    Ipv6Packet q = v6(1348);
    q.next_header = 0; // hop-by-hop (8) -> destination options (16) -> AH (16) -> ICMPv6
    q.extension_headers = {60, 0, 1, 4, 0, 0, 0, 0,
                           51, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                           58, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    q.upper = {128, 0};
    expect(q.build(), MG_REASON_ICMP_SENT);
    q.upper = {1, 0}; // an ICMPv6 error behind the same chain
    expect(q.build(), MG_REASON_SUPPRESSED_ICMP_ERROR);

    Ipv6Packet deep = v6(1348); // nine destination options headers: beyond the walk
    deep.next_header = 60;
    for (int i = 0; i < 9; ++i)
        deep.extension_headers.insert(deep.extension_headers.end(),
                                      {uint8_t(i < 8 ? 60 : 6), 0, 1, 4, 0, 0, 0, 0});
    expect(deep.build(), MG_REASON_SUPPRESSED_UNPARSED);

    Ipv6Packet overrun = v6(1348); // a header claiming to run past the packet
    overrun.next_header = 60;
    overrun.extension_headers = {60, 255};
    expect(overrun.build(), MG_REASON_SUPPRESSED_UNPARSED);
}

TEST_P(Enforcement, NoAddressToAnswerFrom)
{
    mg_iface iface = default_iface();
    iface.has_src4 = 0;
    set_iface(iface);
    expect(v4(1348).build(), MG_REASON_SUPPRESSED_NO_ADDRESS);
    expect(v6(1348).build(), MG_REASON_ICMP_SENT);
    iface.has_src6 = 0;
    set_iface(iface);
    expect(v6(1348).build(), MG_REASON_SUPPRESSED_NO_ADDRESS);
}

TEST_P(Enforcement, LongerThanTheInterfaceMtuIsAnAggregate)
{
    expect(v4(3000).build(), MG_REASON_ICMP_SENT);
    expect(v4(3001).build(), MG_REASON_AGGREGATED);
    expect(v6(3001).build(), MG_REASON_AGGREGATED);
}

TEST_P(Enforcement, MalformedHeadersPassUntouched)
{
    Bytes bare = v4(1348).build();
    bare.resize(14 + 19); // IPv4 header cut short
    expect(bare, MG_REASON_MALFORMED);

    Bytes ihl = v4(1348).build();
    ihl[14] = 0x44; // IHL 4
    expect(ihl, MG_REASON_MALFORMED);

    Bytes version = v4(1348).build();
    version[14] = 0x65; // version 6 behind an IPv4 ethertype
    expect(version, MG_REASON_MALFORMED);

    Bytes truncated = v4(1418).build();
    truncated.resize(14 + 1000); // total length says 1418
    expect(truncated, MG_REASON_MALFORMED);

    Bytes short_total = v4(1348).build();
    short_total[14 + 2] = 0;
    short_total[14 + 3] = 16; // shorter than its own header
    expect(short_total, MG_REASON_MALFORMED);

    Bytes v6_bare = v6(1348).build();
    v6_bare.resize(14 + 39);
    expect(v6_bare, MG_REASON_MALFORMED);

    Bytes v6_payload = v6(1418).build();
    v6_payload.resize(14 + 1000);
    expect(v6_payload, MG_REASON_MALFORMED);
}

TEST_P(Enforcement, NonIpAndTruncatedL2Pass)
{
    Bytes arp = v4(100).build();
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(arp, MG_REASON_NOT_IP);
    Bytes tag = v4(100).build();
    tag[12] = 0x81;
    tag[13] = 0x00;
    tag.resize(16); // the tag itself cut short
    expect(tag, MG_REASON_NOT_IP);
    Bytes ethernet_only = v4(100).build();
    ethernet_only.resize(14);
    expect(ethernet_only, MG_REASON_MALFORMED);
}

TEST_P(Enforcement, OversizePacketsAreCountedBySize)
{
    auto before = datapath->oversize_sizes();
    expect(v4(1347).build(), MG_REASON_WITHIN_MTU);    // not oversize: not counted
    expect(v4(1348).build(), MG_REASON_ICMP_SENT);     // bucket <= 1380
    expect(v4(1418).build(), MG_REASON_ICMP_SENT);     // bucket <= 1418
    expect(v4(1419, false).build(), MG_REASON_FRAGMENTED); // bucket <= 1450
    expect(v4(2000).build(), MG_REASON_ICMP_SENT);     // bucket <= 9000
    expect(v6(1500).build(), MG_REASON_ICMP_SENT);     // IPv6, bucket <= 1500
    expect(v4(3001).build(), MG_REASON_AGGREGATED);    // an aggregate is not an oversize packet
    auto after = datapath->oversize_sizes();

    auto delta = [&](int family, int bucket) {
        uint32_t i = test_slot * MG_FAMILY_COUNT + family;
        return after[i].buckets[bucket] - before[i].buckets[bucket];
    };
    const uint64_t v4_expected[MG_SIZE_BUCKETS] = {0, 0, 0, 1, 0, 1, 1, 0, 1, 0};
    for (int b = 0; b < MG_SIZE_BUCKETS; ++b) {
        EXPECT_EQ(delta(MG_FAMILY_IPV4, b), v4_expected[b]) << "IPv4 bucket " << b;
        EXPECT_EQ(delta(MG_FAMILY_IPV6, b), b == 7 ? 1u : 0u) << "IPv6 bucket " << b;
    }
    uint32_t v4_index = test_slot * MG_FAMILY_COUNT + MG_FAMILY_IPV4;
    EXPECT_EQ(after[v4_index].sum - before[v4_index].sum, 1348u + 1418 + 1419 + 2000);
}

class RateLimit : public Enforcement {
protected:
    void limit(uint64_t global_rate, uint64_t global_burst, uint64_t source_rate, uint64_t source_burst)
    {
        Config config;
        config.icmp_global = {global_rate, global_burst};
        config.icmp_per_source = {source_rate, source_burst};
        set_settings(make_settings(config));
    }

    // Runs `count` oversize packets from `src`; returns how many were answered. The model's
    // limiter is told the program's answer: the point here is the program's own buckets.
    int answered(const std::string &src, int count)
    {
        int sent = 0;
        for (int i = 0; i < count; ++i) {
            Ipv4Packet p = v4(1348);
            p.src = src;
            Outcome o = run(p.build());
            EXPECT_TRUE(o.reason == MG_REASON_ICMP_SENT || o.reason == MG_REASON_ICMP_RATELIMITED)
                << reason_name(o.reason);
            EXPECT_EQ(o.xdp_action, mg_reason_xdp_action(o.reason));
            sent += o.reason == MG_REASON_ICMP_SENT;
        }
        return sent;
    }
};

// Rates of 1 per second: no token comes back within the few milliseconds a test takes.
TEST_P(RateLimit, PerSourceBurstThenLimited)
{
    limit(0, 1, 1, 3);
    EXPECT_EQ(answered("198.51.100.10", 5), 3);
    EXPECT_EQ(answered("198.51.100.11", 5), 3) << "another source has its own bucket";
}

TEST_P(RateLimit, GlobalBurstBoundsAllSources)
{
    limit(1, 4, 0, 1);
    EXPECT_EQ(answered("198.51.100.10", 3), 3);
    EXPECT_EQ(answered("198.51.100.11", 3), 1);
    EXPECT_EQ(answered("198.51.100.12", 3), 0);
}

TEST_P(RateLimit, ANoisySourceDoesNotSpendTheGlobalBudget)
{
    limit(1, 5, 1, 2);
    EXPECT_EQ(answered("198.51.100.10", 20), 2);
    EXPECT_EQ(answered("198.51.100.11", 20), 2);
    EXPECT_EQ(answered("198.51.100.12", 20), 1) << "global burst 5 = 2 + 2 + 1";
}

TEST_P(RateLimit, LimitedPacketsAreStillDropped)
{
    limit(1, 1, 0, 1);
    Outcome first = run(v4(1348).build());
    Outcome second = run(v4(1348).build());
    EXPECT_EQ(first.reason, MG_REASON_ICMP_SENT);
    EXPECT_EQ(second.reason, MG_REASON_ICMP_RATELIMITED);
    EXPECT_EQ(second.xdp_action, 1u) << "XDP_DROP";
}

} // namespace
INSTANTIATE_TEST_SUITE_P(Lookups, Enforcement, ::testing::Values(Lookup::Hashed, Lookup::ClientPools), lookup_name);
INSTANTIATE_TEST_SUITE_P(Lookups, RateLimit, ::testing::Values(Lookup::Hashed, Lookup::ClientPools), lookup_name);

} // namespace mtuguard::test
