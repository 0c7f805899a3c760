// MSS clamping in tc through BPF_PROG_TEST_RUN (SCHED_CLS, a whole Ethernet frame in): exact
// bytes after clamping, the TCP checksum verified independently by the test, both programs
// (ingress: toward a session; egress: from one), IPv4 and IPv6, every outcome counted once
// under its direction, the model agreeing — and the XDP program leaving every option alone.
//
// BPF_PROG_TEST_RUN hands a SCHED_CLS program a CHECKSUM_NONE skb, so the checksum field is
// updated as a complete checksum here. A CHECKSUM_PARTIAL packet (from a socket of the same
// kernel, finished in software later) cannot be made through it: the e2e test
// "software checksums toward the client" in tests/e2e/blackhole_test.sh covers that case, with
// downloads through a clamped path whose checksums are finished in software.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace mtuguard::test {
namespace {

// Which tc program runs. Ingress on an --iface sees the servers' packets toward a session
// (its address the destination), egress the clients' own packets toward the servers (the
// session's address the source).
enum class Direction { Ingress, Egress };

std::string direction_name(const ::testing::TestParamInfo<Direction> &info)
{
    return info.param == Direction::Ingress ? "Ingress" : "Egress";
}

constexpr size_t options4 = 14 + 20 + 20; // first option byte of an IPv4 SYN without IP options
constexpr size_t options6 = 14 + 40 + 20;

class MssClamp : public ProgramTest, public ::testing::WithParamInterface<Direction> {
protected:
    void SetUp() override
    {
        ProgramTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        mg_settings s{};
        s.mss_clamp = 1;
        set_settings(s);
        add_sessions({"10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls",
                      "10.8.0.6,dtls-mtu=1418,tls-mtu=1347,transport=tls,mss-clamp=off",
                      "2001:db8::5,dtls-mtu=1418,tls-mtu=1347,transport=tls"});
    }

    bool ingress() const { return GetParam() == Direction::Ingress; }
    // The session address on the side this program looks it up on.
    bool from_client() const { return !ingress(); }

    // A SYN between the session 10.8.0.5 and a server, in this test's direction, with a valid
    // TCP checksum.
    Bytes syn4(const Bytes &options, uint8_t flags = 0x02, const std::string &session = "10.8.0.5") const
    {
        Ipv4Packet p;
        p.dst = session;
        p.protocol = 6;
        p.upper = tcp_syn(options, flags);
        p.total_length = uint16_t(20 + p.upper.size());
        if (from_client())
            std::swap(p.src, p.dst);
        Bytes frame = p.build();
        set_tcp_checksum(frame, 14);
        return frame;
    }

    Bytes syn6(const Bytes &options, uint8_t flags = 0x02) const
    {
        Ipv6Packet p;
        p.next_header = 6;
        p.upper = tcp_syn(options, flags);
        p.total_length = uint16_t(40 + p.upper.size());
        if (from_client())
            std::swap(p.src, p.dst);
        Bytes frame = p.build();
        set_tcp_checksum(frame, 14);
        return frame;
    }

    // Expects the MSS at `at` (offset in the frame) to become `mss`, nothing else to change
    // but the checksum, and the checksum to be right.
    void expect_clamped(const Bytes &in, const TcOutcome &out, size_t at, uint16_t mss, size_t l3 = 14)
    {
        EXPECT_EQ(out.mss_outcome, MG_MSS_CLAMPED);
        ASSERT_EQ(out.frame.size(), in.size());
        EXPECT_EQ(get16(out.frame, at), mss);
        EXPECT_TRUE(tcp_checksum_ok(out.frame, l3)) << "TCP checksum after clamping";
        Bytes masked = out.frame;
        const size_t l4 = in[l3] >> 4 == 6 ? l3 + 40 : l3 + 20;
        for (size_t i : {at, at + 1, l4 + 16, l4 + 17})
            masked[i] = in[i];
        EXPECT_EQ(masked, in) << "only the MSS and the checksum change";
    }

    // Expects the packet to leave as it came, with `outcome` counted (or nothing, -1).
    void expect_untouched(const Bytes &in, int outcome)
    {
        TcOutcome out = expect_tc(in, ingress());
        EXPECT_EQ(mss_outcome_name(out.mss_outcome), std::string(mss_outcome_name(outcome))) << hex(in);
        EXPECT_EQ(out.frame, in);
    }
};

TEST_P(MssClamp, SynMssLoweredToTheTunnelMtuMinus40)
{
    Bytes in = syn4({2, 4, 0x05, 0xb4}); // MSS 1460
    expect_clamped(in, expect_tc(in, ingress()), options4 + 2, 1347 - 40);
}

TEST_P(MssClamp, SynAckToo)
{
    Bytes in = syn4({2, 4, 0x05, 0xb4}, 0x12);
    expect_clamped(in, expect_tc(in, ingress()), options4 + 2, 1307);
    Bytes in6 = syn6({2, 4, 0x05, 0xa0}, 0x12);
    expect_clamped(in6, expect_tc(in6, ingress()), options6 + 2, 1287);
}

TEST_P(MssClamp, Ipv6MinusSixty)
{
    Bytes in = syn6({2, 4, 0x05, 0xa0}); // 1440
    expect_clamped(in, expect_tc(in, ingress()), options6 + 2, 1347 - 60);
}

// The MSS wherever a sender may put it: first, after NOP / window scale / SACK-permitted /
// timestamps in any mix, last, and at an odd offset (its value then straddles two checksum
// words), in both families.
TEST_P(MssClamp, OptionsInEveryOrder)
{
    const Bytes mss = {2, 4, 0x05, 0xb4};
    const Bytes nop = {1}, ws = {3, 3, 7}, sack_ok = {4, 2}, ts = {8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
    const std::vector<std::vector<Bytes>> orders = {
        {mss, sack_ok, ts, nop, ws},      // Linux
        {nop, ws, mss},                   // odd-aligned via NOP + window scale: MSS at 4
        {sack_ok, mss},                   // after SACK-permitted
        {ts, mss},                        // after timestamps
        {nop, mss, nop, nop, nop},        // at an odd offset
        {nop, ws, nop, nop, ts, sack_ok, mss}, // last of many, at an odd offset
        {ws, mss},                        // odd offset straight after window scale
    };
    for (const auto &order : orders) {
        Bytes options;
        size_t at = 0;
        for (const Bytes &option : order) {
            if (option == mss)
                at = options.size() + 2;
            options.insert(options.end(), option.begin(), option.end());
        }
        SCOPED_TRACE(hex(options));
        Bytes in4 = syn4(options);
        expect_clamped(in4, expect_tc(in4, ingress()), options4 + at, 1307);
        Bytes in6 = syn6(options);
        expect_clamped(in6, expect_tc(in6, ingress()), options6 + at, 1287);
    }
}

TEST_P(MssClamp, NeverRaisedNeverAdded)
{
    expect_untouched(syn4({2, 4, 0x04, 0xb0}), MG_MSS_ALREADY_SMALL); // 1200
    expect_untouched(syn4({2, 4, 0x05, 0x1b}), MG_MSS_ALREADY_SMALL); // 1307: already right
    expect_untouched(syn6({1, 1, 2, 4, 0x05, 0x07}), MG_MSS_ALREADY_SMALL); // 1287
    expect_untouched(syn4({1, 3, 3, 7}), MG_MSS_NO_OPTION);
    expect_untouched(syn4({}), MG_MSS_NO_OPTION);
    expect_untouched(syn6({4, 2, 1, 1}), MG_MSS_NO_OPTION);
    expect_untouched(syn4({0, 0, 0, 0, 2, 4, 0x05, 0xb4}), MG_MSS_NO_OPTION); // past EOL is not an option
}

TEST_P(MssClamp, MalformedOptionListsLeaveThePacketUntouched)
{
    const Bytes lists[] = {
        {3, 0, 0, 0},             // length 0 would loop forever
        {3, 1, 0, 0},             // length 1
        {8, 12, 0, 0},            // runs past the header
        {2, 3, 0x05, 0xb4},       // MSS of length 3
        {2, 6, 0x05, 0xb4, 0, 0}, // MSS of length 6
        {1, 1, 1, 2},             // MSS kind in the last byte, no length
    };
    for (const Bytes &options : lists) {
        expect_untouched(syn4(options), MG_MSS_MALFORMED);
        expect_untouched(syn6(options), MG_MSS_MALFORMED);
    }
    Bytes lying = syn4({2, 4, 0x05, 0xb4});
    lying[14 + 20 + 12] = 0xf0; // data offset 60 bytes: beyond the packet
    expect_untouched(lying, MG_MSS_MALFORMED);
}

TEST_P(MssClamp, OnlySessionSynsAreTouched)
{
    expect_untouched(syn4({2, 4, 0x05, 0xb4}, 0x10), -1); // an ACK
    expect_untouched(syn4({2, 4, 0x05, 0xb4}, 0x02, "10.7.0.1"), -1); // no session
    // The session on the other side than this program looks: the other program's business.
    Bytes reversed = syn4({2, 4, 0x05, 0xb4}, 0x02, "198.51.100.11");
    const std::string session = "10.8.0.5";
    auto v4 = ipv4(session);
    std::copy(v4.begin(), v4.end(), reversed.begin() + 14 + (from_client() ? 16 : 12));
    set_tcp_checksum(reversed, 14);
    expect_untouched(reversed, -1);
}

TEST_P(MssClamp, PerSessionAndGlobalSwitches)
{
    expect_untouched(syn4({2, 4, 0x05, 0xb4}, 0x02, "10.8.0.6"), MG_MSS_DISABLED); // mss-clamp=off
    set_settings(mg_settings{}); // --mss-clamp off
    expect_untouched(syn4({2, 4, 0x05, 0xb4}), MG_MSS_DISABLED);
    add_session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls,mss-clamp=on");
    Bytes in = syn4({2, 4, 0x05, 0xb4});
    expect_clamped(in, expect_tc(in, ingress()), options4 + 2, 1307);
}

TEST_P(MssClamp, TransportDecidesTheTarget)
{
    add_session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=dtls");
    Bytes in = syn4({2, 4, 0x05, 0xb4});
    expect_clamped(in, expect_tc(in, ingress()), options4 + 2, 1418 - 40);
}

// On a --client-iface the directions turn round: what comes in is from the clients.
TEST_P(MssClamp, OnAClientInterface)
{
    mg_iface iface = default_iface();
    iface.direction = MG_DIR_FROM_CLIENT;
    set_iface(iface);
    Ipv4Packet p;
    p.protocol = 6;
    p.upper = tcp_syn({2, 4, 0x05, 0xb4});
    p.total_length = uint16_t(20 + p.upper.size());
    if (ingress()) // from the client 10.8.0.5 to a server
        std::swap(p.src, p.dst);
    Bytes in = p.build();
    set_tcp_checksum(in, 14);
    TcOutcome out = expect_tc(in, ingress());
    expect_clamped(in, out, options4 + 2, 1307);
    EXPECT_EQ(out.mss_direction, ingress() ? MG_DIR_FROM_CLIENT : MG_DIR_TO_CLIENT);
}

TEST_P(MssClamp, BareIpOnATunDevice)
{
    mg_iface iface = default_iface();
    iface.direction = MG_DIR_FROM_CLIENT;
    iface.l3_only = 1;
    set_iface(iface);
    Ipv4Packet p;
    p.protocol = 6;
    p.upper = tcp_syn({2, 4, 0x05, 0xb4});
    p.total_length = uint16_t(20 + p.upper.size());
    if (ingress())
        std::swap(p.src, p.dst);
    Bytes in = p.build();
    in.erase(in.begin(), in.begin() + 14);
    set_tcp_checksum(in, 0);
    TcOutcome out = expect_tc(in, ingress());
    EXPECT_EQ(out.mss_outcome, MG_MSS_CLAMPED);
    EXPECT_EQ(get16(out.frame, 20 + 20 + 2), 1307);
    EXPECT_TRUE(tcp_checksum_ok(out.frame, 0));
}

INSTANTIATE_TEST_SUITE_P(Both, MssClamp, ::testing::Values(Direction::Ingress, Direction::Egress), direction_name);

// The XDP program decides size only: a session's SYN passes it with its options as they were
// and no MSS outcome counted (the tc programs clamp it).
class XdpLeavesOptions : public ProgramTest {};

TEST_F(XdpLeavesOptions, SynsToAndFromSessionsPassUnchanged)
{
    mg_settings s{};
    s.mss_clamp = 1;
    set_settings(s);
    add_session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls");
    Ipv4Packet p;
    p.protocol = 6;
    p.upper = tcp_syn({2, 4, 0x05, 0xb4});
    p.total_length = uint16_t(20 + p.upper.size());
    Bytes toward = p.build();
    set_tcp_checksum(toward, 14);
    EXPECT_EQ(expect(toward, MG_REASON_WITHIN_MTU).frame, toward);

    mg_iface iface = default_iface();
    iface.direction = MG_DIR_FROM_CLIENT;
    set_iface(iface);
    std::swap(p.src, p.dst);
    Bytes from = p.build();
    set_tcp_checksum(from, 14);
    EXPECT_EQ(expect(from, MG_REASON_FROM_CLIENT).frame, from);
}

} // namespace
} // namespace mtuguard::test
