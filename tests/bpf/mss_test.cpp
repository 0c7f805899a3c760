// MSS clamping through BPF_PROG_TEST_RUN: exact bytes after clamping, the TCP checksum
// recomputed independently by the test, every outcome counted once, the model agreeing.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace mtuguard::test {
namespace {

class MssClamp : public ProgramTest {
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

    // A SYN toward (or, from_client, from) the session 10.8.0.5, with a valid TCP checksum.
    static Bytes syn4(const Bytes &options, uint8_t flags = 0x02, bool from_client = false)
    {
        Ipv4Packet p;
        p.protocol = 6;
        p.upper = tcp_syn(options, flags);
        p.total_length = uint16_t(20 + p.upper.size());
        if (from_client)
            std::swap(p.src, p.dst);
        Bytes frame = p.build();
        set_tcp_checksum(frame, 14);
        return frame;
    }

    static Bytes syn6(const Bytes &options)
    {
        Ipv6Packet p;
        p.next_header = 6;
        p.upper = tcp_syn(options);
        p.total_length = uint16_t(40 + p.upper.size());
        Bytes frame = p.build();
        set_tcp_checksum(frame, 14);
        return frame;
    }

    // Expects the MSS at `at` (offset in the frame) to become `mss`, nothing else to change
    // but the checksum, and the checksum to be right.
    void expect_clamped(const Bytes &in, const Outcome &out, size_t at, uint16_t mss, size_t l3 = 14)
    {
        ASSERT_EQ(out.frame.size(), in.size());
        EXPECT_EQ(get16(out.frame, at), mss);
        EXPECT_TRUE(tcp_checksum_ok(out.frame, l3)) << "TCP checksum after clamping";
        Bytes masked = out.frame;
        const size_t l4 = in[l3] >> 4 == 6 ? l3 + 40 : l3 + 20;
        for (size_t i : {at, at + 1, l4 + 16, l4 + 17})
            masked[i] = in[i];
        EXPECT_EQ(masked, in) << "only the MSS and the checksum change";
    }
};

constexpr size_t options4 = 14 + 20 + 20; // first option byte of an IPv4 SYN without IP options

TEST_F(MssClamp, SynMssLoweredToTheTunnelMtuMinus40)
{
    Bytes in = syn4({2, 4, 0x05, 0xb4}); // MSS 1460
    Outcome out = expect(in, MG_REASON_WITHIN_MTU);
    EXPECT_EQ(out.mss_outcome, MG_MSS_CLAMPED);
    expect_clamped(in, out, options4 + 2, 1347 - 40);
}

TEST_F(MssClamp, SynAckToo)
{
    Bytes in = syn4({2, 4, 0x05, 0xb4}, 0x12);
    Outcome out = expect(in, MG_REASON_WITHIN_MTU);
    expect_clamped(in, out, options4 + 2, 1307);
}

TEST_F(MssClamp, MssAfterOtherOptionsAndAtAnOddOffset)
{
    // NOP, window scale, then MSS at option offset 4; and NOP + MSS at odd offset 1
    Bytes in = syn4({1, 3, 3, 7, 2, 4, 0x05, 0x78, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0});
    expect_clamped(in, expect(in, MG_REASON_WITHIN_MTU), options4 + 6, 1307);
    Bytes odd = syn4({1, 2, 4, 0x05, 0xb4, 1, 1, 1});
    Outcome out = expect(odd, MG_REASON_WITHIN_MTU);
    expect_clamped(odd, out, options4 + 3, 1307);
}

TEST_F(MssClamp, TimestampsSackAndPaddingLikeLinux)
{
    // Linux's SYN: MSS, SACK-permitted, timestamps, NOP, window scale
    Bytes in = syn4({2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1, 2, 3, 0, 0, 0, 0, 1, 3, 3, 7});
    expect_clamped(in, expect(in, MG_REASON_WITHIN_MTU), options4 + 2, 1307);
}

TEST_F(MssClamp, NeverRaisedNeverAdded)
{
    Bytes small = syn4({2, 4, 0x04, 0xb0}); // 1200
    Outcome out = expect(small, MG_REASON_WITHIN_MTU);
    EXPECT_EQ(out.mss_outcome, MG_MSS_ALREADY_SMALL);
    EXPECT_EQ(out.frame, small);
    Bytes exact = syn4({2, 4, 0x05, 0x1b}); // 1307: already right
    EXPECT_EQ(expect(exact, MG_REASON_WITHIN_MTU).mss_outcome, MG_MSS_ALREADY_SMALL);
    Bytes none = syn4({1, 3, 3, 7});
    out = expect(none, MG_REASON_WITHIN_MTU);
    EXPECT_EQ(out.mss_outcome, MG_MSS_NO_OPTION);
    EXPECT_EQ(out.frame, none);
    Bytes after_eol = syn4({0, 0, 0, 0, 2, 4, 0x05, 0xb4}); // past EOL is not an option
    EXPECT_EQ(expect(after_eol, MG_REASON_WITHIN_MTU).mss_outcome, MG_MSS_NO_OPTION);
}

TEST_F(MssClamp, MalformedOptionListsLeaveThePacketUntouched)
{
    const Bytes lists[] = {
        {3, 0, 0, 0},                   // length 0 would loop forever
        {3, 1, 0, 0},                   // length 1
        {8, 12, 0, 0},                  // runs past the header
        {2, 3, 0x05, 0xb4},             // MSS of length 3
        {2, 6, 0x05, 0xb4, 0, 0},       // MSS of length 6
        {1, 1, 1, 2},                   // MSS kind in the last byte, no length
    };
    for (const Bytes &options : lists) {
        Bytes in = syn4(options);
        Outcome out = expect(in, MG_REASON_WITHIN_MTU);
        EXPECT_EQ(out.mss_outcome, MG_MSS_MALFORMED) << hex(options);
        EXPECT_EQ(out.frame, in);
    }
    Bytes lying = syn4({2, 4, 0x05, 0xb4});
    lying[14 + 20 + 12] = 0xf0; // data offset 60 bytes: beyond the packet
    EXPECT_EQ(expect(lying, MG_REASON_WITHIN_MTU).mss_outcome, MG_MSS_MALFORMED);
}

TEST_F(MssClamp, OnlySynsAreTouched)
{
    Bytes ack = syn4({2, 4, 0x05, 0xb4}, 0x10);
    Outcome out = expect(ack, MG_REASON_WITHIN_MTU);
    EXPECT_EQ(out.mss_outcome, -1);
    EXPECT_EQ(out.frame, ack);
}

TEST_F(MssClamp, Ipv6MinusSixty)
{
    Bytes in = syn6({2, 4, 0x05, 0xa0}); // 1440
    Outcome out = expect(in, MG_REASON_WITHIN_MTU);
    expect_clamped(in, out, 14 + 40 + 20 + 2, 1347 - 60);
}

TEST_F(MssClamp, PerSessionAndGlobalSwitches)
{
    Ipv4Packet p;
    p.dst = "10.8.0.6"; // mss-clamp=off
    p.protocol = 6;
    p.upper = tcp_syn({2, 4, 0x05, 0xb4});
    p.total_length = uint16_t(20 + p.upper.size());
    Bytes off = p.build();
    Outcome out = expect(off, MG_REASON_WITHIN_MTU);
    EXPECT_EQ(out.mss_outcome, MG_MSS_DISABLED);
    EXPECT_EQ(out.frame, off);

    set_settings(mg_settings{}); // --mss-clamp off
    EXPECT_EQ(expect(syn4({2, 4, 0x05, 0xb4}), MG_REASON_WITHIN_MTU).mss_outcome, MG_MSS_DISABLED);
    add_session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls,mss-clamp=on");
    EXPECT_EQ(expect(syn4({2, 4, 0x05, 0xb4}), MG_REASON_WITHIN_MTU).mss_outcome, MG_MSS_CLAMPED);
}

TEST_F(MssClamp, TransportDecidesTheTarget)
{
    add_session("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=dtls");
    Bytes in = syn4({2, 4, 0x05, 0xb4});
    expect_clamped(in, expect(in, MG_REASON_WITHIN_MTU), options4 + 2, 1418 - 40);
}

TEST_F(MssClamp, FromTheClientOnAClientInterface)
{
    mg_iface iface = default_iface();
    iface.direction = MG_DIR_FROM_CLIENT;
    set_iface(iface);
    Bytes in = syn4({2, 4, 0x05, 0xb4}, 0x02, true); // 10.8.0.5 -> server
    Outcome out = expect(in, MG_REASON_FROM_CLIENT);
    expect_clamped(in, out, options4 + 2, 1307);
    Bytes big = syn4({}, 0x10, true);
    big.resize(14 + 1500); // oversize from a client is the tunnel's business, not ours
    big[14 + 2] = 0x05;
    big[14 + 3] = 0xdc;
    big[14 + 10] = big[14 + 11] = 0;
    EXPECT_EQ(expect(big, MG_REASON_FROM_CLIENT).xdp_action, 2u);

    Ipv4Packet other;
    other.src = "10.7.0.1";
    other.dst = "198.51.100.10";
    EXPECT_EQ(expect(other.build(), MG_REASON_NO_SESSION).xdp_action, 2u);
}

TEST_F(MssClamp, BareIpOnATunDevice)
{
    mg_iface iface = default_iface();
    iface.direction = MG_DIR_FROM_CLIENT;
    iface.l3_only = 1;
    set_iface(iface);
    Bytes in = syn4({2, 4, 0x05, 0xb4}, 0x02, true);
    in.erase(in.begin(), in.begin() + 14);
    in.resize(std::max<size_t>(in.size(), 14)); // BPF_PROG_TEST_RUN needs 14 bytes at least
    Outcome out = expect(in, MG_REASON_FROM_CLIENT);
    EXPECT_EQ(out.mss_outcome, MG_MSS_CLAMPED);
    EXPECT_EQ(get16(out.frame, 20 + 20 + 2), 1307);
    EXPECT_TRUE(tcp_checksum_ok(out.frame, 0));
}

} // namespace
} // namespace mtuguard::test
