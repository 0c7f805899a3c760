// The tc ingress program on unsegmented TSO/GSO packets (bpf/gso.bpf.h), through a SCHED_CLS
// BPF_PROG_TEST_RUN whose skb carries a gso_size: a packet whose segments exceed the session's
// MTU gets what XDP gives its first segment (the reference model says what that is, byte for
// byte), and its count moves from aggregated, where the XDP program put it, to that reason.
#include <linux/pkt_cls.h>
#include <sched.h>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace mtuguard::test {
namespace {

constexpr uint16_t gso4 = 1460; // 20 IPv4 + 20 TCP + 1460 = a 1500-byte segment
constexpr uint16_t gso6 = 1440; // 40 IPv6 + 20 TCP + 1440

class GsoJudge : public ProgramTest {
protected:
    void SetUp() override
    {
        ProgramTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        add_sessions({"10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls",
                      "2001:db8::5,dtls-mtu=1418,tls-mtu=1347,transport=tls"});
        mg_iface iface = default_iface();
        iface.mtu = 1500;
        set_iface(iface);
        // The XDP run and the tc run must count on the same CPU, as they do in the kernel's
        // softirq: the tc program moves the count on its own CPU's slot.
        ASSERT_EQ(sched_getaffinity(0, sizeof(saved_), &saved_), 0);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    }

    void TearDown() override { sched_setaffinity(0, sizeof(saved_), &saved_); }

    void set_action(mg_action action)
    {
        mg_settings s = model.settings;
        s.action = action;
        set_settings(s);
    }

    // An IPv4 TCP packet of `segments` segments of `payload` bytes.
    static Ipv4Packet tcp4(uint16_t payload, int segments, bool df = true)
    {
        Ipv4Packet p;
        p.total_length = uint16_t(40 + segments * payload);
        p.df = df;
        p.upper = tcp_header(8080, 40000, 0x10, 500, {});
        return p;
    }

    static Ipv6Packet tcp6(uint16_t payload, int segments)
    {
        Ipv6Packet p;
        p.total_length = uint16_t(60 + segments * payload);
        p.upper = tcp_header(8080, 40000, 0x10, 500, {});
        return p;
    }

    uint64_t count(mg_family family, mg_reason reason) const
    {
        return datapath->counters(mg_counter_index(test_slot, family, reason), 1)[0].packets;
    }

    // The tc run of `in` after the XDP program passed it as aggregated; checks the counts moved
    // from aggregated to `reason` and nothing else moved.
    TcOutcome judge(const Bytes &in, mg_family family, uint16_t gso_size, mg_reason reason)
    {
        expect(in, MG_REASON_AGGREGATED);
        const uint64_t aggregated = count(family, MG_REASON_AGGREGATED), moved = count(family, reason);
        TcOutcome outcome = run_tc(in, true, false, gso_size);
        EXPECT_EQ(count(family, MG_REASON_AGGREGATED), aggregated - 1) << "no longer counted as aggregated";
        EXPECT_EQ(count(family, reason), moved + 1) << "counted as " << reason_name(reason);
        EXPECT_EQ(outcome.counters_moved, 2) << "aggregated and " << reason_name(reason) << ", nothing else";
        EXPECT_EQ(outcome.mss_moved, 0);
        return outcome;
    }

    // Neither the packet nor a count changes: XDP's aggregated stands.
    void untouched(const Bytes &in, uint16_t gso_size)
    {
        TcOutcome outcome = run_tc(in, true, false, gso_size);
        EXPECT_EQ(outcome.tc_action, TC_ACT_UNSPEC);
        EXPECT_EQ(hex(outcome.frame), hex(in));
        EXPECT_EQ(outcome.counters_moved, 0);
    }

    cpu_set_t saved_{};
};

TEST_F(GsoJudge, Ipv4OversizeSegmentsGetTheFirstSegmentsFragNeeded)
{
    const Bytes in = tcp4(gso4, 2).build();
    const TcOutcome outcome = judge(in, MG_FAMILY_IPV4, gso4, MG_REASON_ICMP_SENT);
    EXPECT_EQ(outcome.tc_action, TC_ACT_REDIRECT) << "sent back out of the interface";

    const model::Verdict first = model::decide(tcp4(gso4, 1).build(), model);
    ASSERT_EQ(first.reason, MG_REASON_ICMP_SENT) << "the model on one segment";
    EXPECT_EQ(hex(outcome.frame), hex(first.frame)) << "the error XDP sends about the first segment";
    // And field by field, checksums summed here.
    ASSERT_EQ(outcome.frame.size(), 14u + 576);
    std::span<const uint8_t> ip(&outcome.frame[14], 576);
    EXPECT_TRUE(checksum_ok(ip.subspan(0, 20))) << "IP header checksum";
    EXPECT_EQ(ip[20], 3);
    EXPECT_EQ(ip[21], 4);
    EXPECT_EQ(get16(ip, 26), 1347) << "next-hop MTU";
    EXPECT_TRUE(checksum_ok(ip.subspan(20))) << "ICMP checksum";
    EXPECT_EQ(get16(ip, 28 + 2), 1500) << "the quote is one segment long";
    EXPECT_TRUE(checksum_ok(ip.subspan(28, 20))) << "the quoted header's checksum";
}

TEST_F(GsoJudge, Ipv6OversizeSegmentsGetTheFirstSegmentsPacketTooBig)
{
    const Bytes in = tcp6(gso6, 2).build();
    const TcOutcome outcome = judge(in, MG_FAMILY_IPV6, gso6, MG_REASON_ICMP_SENT);
    EXPECT_EQ(outcome.tc_action, TC_ACT_REDIRECT);

    const model::Verdict first = model::decide(tcp6(gso6, 1).build(), model);
    ASSERT_EQ(first.reason, MG_REASON_ICMP_SENT);
    EXPECT_EQ(hex(outcome.frame), hex(first.frame));
    ASSERT_EQ(outcome.frame.size(), 14u + 1280);
    std::span<const uint8_t> ip(&outcome.frame[14], 1280);
    EXPECT_EQ(ip[40], 2) << "Packet Too Big";
    EXPECT_EQ(get32(ip, 44), 1347u);
    EXPECT_TRUE(checksum_ok(ip.subspan(40), ipv6_pseudo_sum(ip))) << "ICMPv6 checksum";
    EXPECT_EQ(get16(ip, 48 + 4), 1460) << "the quote's payload length: one segment's";
}

TEST_F(GsoJudge, DropActionDrops)
{
    set_action(MG_ACTION_DROP);
    const Bytes in = tcp4(gso4, 2).build();
    EXPECT_EQ(judge(in, MG_FAMILY_IPV4, gso4, MG_REASON_DROPPED).tc_action, TC_ACT_SHOT);
}

TEST_F(GsoJudge, ClearDfClearsItOnTheWholePacket)
{
    set_action(MG_ACTION_CLEAR_DF);
    const Bytes in = tcp4(gso4, 2).build();
    const TcOutcome outcome = judge(in, MG_FAMILY_IPV4, gso4, MG_REASON_DF_CLEARED);
    EXPECT_EQ(outcome.tc_action, TC_ACT_UNSPEC);
    EXPECT_EQ(hex(outcome.frame), hex(tcp4(gso4, 2, false).build())) << "DF off, the checksum to match";
}

TEST_F(GsoJudge, Ipv6UnderClearDfIsAnswered)
{
    set_action(MG_ACTION_CLEAR_DF);
    const Bytes in = tcp6(gso6, 2).build();
    EXPECT_EQ(judge(in, MG_FAMILY_IPV6, gso6, MG_REASON_ICMP_SENT).tc_action, TC_ACT_REDIRECT);
}

TEST_F(GsoJudge, SegmentsWithinTheMtuPass)
{
    // 40 + 1307 = 1347: each segment fits exactly
    untouched(tcp4(1307, 2).build(), 1307);
    untouched(tcp6(1287, 2).build(), 1287);
}

TEST_F(GsoJudge, WithoutDfTheTunnelFragmentsThem) { untouched(tcp4(gso4, 2, false).build(), gso4); }

TEST_F(GsoJudge, MonitorLeavesThemToXdpsCount)
{
    set_action(MG_ACTION_MONITOR);
    untouched(tcp4(gso4, 2).build(), gso4);
}

TEST_F(GsoJudge, NotLongerThanTheInterfaceMtuWasJudgedByXdp)
{
    // Two segments of 680: 1400 bytes, which XDP judged as one packet.
    untouched(tcp4(680, 2).build(), 680);
}

TEST_F(GsoJudge, ToNoSessionPasses)
{
    Ipv4Packet p = tcp4(gso4, 2);
    p.dst = "10.20.0.1";
    untouched(p.build(), gso4);
}

TEST_F(GsoJudge, UnseenByXdpTheCountDoesNotWrap)
{
    const Bytes in = tcp4(gso4, 2).build();
    const TcOutcome outcome = run_tc(in, true, false, gso4);
    EXPECT_EQ(outcome.tc_action, TC_ACT_REDIRECT);
    EXPECT_EQ(count(MG_FAMILY_IPV4, MG_REASON_AGGREGATED), 0u);
    EXPECT_EQ(count(MG_FAMILY_IPV4, MG_REASON_ICMP_SENT), 1u);
    EXPECT_EQ(outcome.counters_moved, 1);
}

TEST_F(GsoJudge, EgressAndPlainPacketsAreNotJudged)
{
    const Bytes in = tcp4(gso4, 2).build();
    TcOutcome out = run_tc(in, false, false, gso4);
    EXPECT_EQ(out.tc_action, TC_ACT_UNSPEC) << "egress: the clients' packets";
    EXPECT_EQ(hex(out.frame), hex(in));
    untouched(in, 0); // no gso_size: XDP judged it
}

} // namespace
} // namespace mtuguard::test
