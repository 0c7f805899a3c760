// The observation program (bpf/observe.bpf.c) in the kernel through BPF_PROG_TEST_RUN: which
// packets on the client-facing side count as what, for which client, and that nothing else
// makes an entry. Every packet must come back TC_ACT_UNSPEC: the observer never decides.
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "kernel/observer.hpp"
#include "packet.hpp"

namespace mtuguard::test {
namespace {

constexpr const char *client4 = "198.51.100.7";
constexpr const char *gateway4 = "203.0.113.1";
constexpr const char *client6 = "2001:db8:77::7";
constexpr const char *gateway6 = "2001:db8:ff::1";

Bytes udp(uint16_t sport, uint16_t dport, const Bytes &payload)
{
    Bytes h = {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport),
               uint8_t((8 + payload.size()) >> 8), uint8_t(8 + payload.size()), 0, 0};
    for (uint8_t byte : payload) // (insert() trips GCC 12's -Warray-bounds on an empty payload)
        h.push_back(byte);
    return h;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags)
{
    Bytes h = tcp_syn({}, flags);
    h[0] = uint8_t(sport >> 8), h[1] = uint8_t(sport);
    h[2] = uint8_t(dport >> 8), h[3] = uint8_t(dport);
    return h;
}

// A DTLS record header (RFC 6347 4.1) of `type` and `version`, then `first` as the first body byte.
Bytes dtls(uint8_t type, uint16_t version, uint8_t first)
{
    return {type, uint8_t(version >> 8), uint8_t(version), 0, 0, 0, 0, 0, 0, 0, 1, 0, 40, first, 0, 0, 0};
}

Bytes v4(const std::string &src, const std::string &dst, uint8_t protocol, const Bytes &upper,
         std::vector<uint16_t> vlans = {})
{
    Ipv4Packet p;
    p.l2.vlan_tpids = std::move(vlans);
    p.src = src, p.dst = dst, p.protocol = protocol, p.upper = upper, p.df = false;
    p.total_length = uint16_t(20 + upper.size() + 32);
    return p.build();
}

Bytes v6(const std::string &src, const std::string &dst, uint8_t next_header, const Bytes &upper)
{
    Ipv6Packet p;
    p.src = src, p.dst = dst, p.next_header = next_header, p.upper = upper;
    p.total_length = uint16_t(40 + upper.size() + 32);
    return p.build();
}

mg_addr mapped(const std::string &text) { return parse_address(text).addr; }

class ObserveTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        require_privileges();
        observer = std::make_unique<Observer>(ObserverSettings{443, 4443, 1024});
    }

    // Runs one direction's program; requires TC_ACT_UNSPEC.
    void run(bool inbound, const Bytes &frame, uint32_t gso_segs = 0)
    {
        __sk_buff ctx{};
        ctx.gso_segs = gso_segs;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = uint32_t(frame.size()),
                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
        ASSERT_EQ(bpf_prog_test_run_opts(observer->program_fd(inbound), &opts), 0) << strerror(errno);
        EXPECT_EQ(int(opts.retval), TC_ACT_UNSPEC);
    }

    mg_client_obs client(const std::string &address)
    {
        auto obs = observer->client(mapped(address));
        EXPECT_TRUE(obs.has_value()) << address << " has no entry";
        return obs.value_or(mg_client_obs{});
    }

    std::unique_ptr<Observer> observer;
};

TEST_F(ObserveTest, TlsSynsAndSegmentsToTheTlsPortFromTheClient)
{
    run(true, v4(client4, gateway4, 6, tcp(50000, 443, 0x02)));
    run(true, v4(client4, gateway4, 6, tcp(50000, 443, 0x10)));
    run(true, v4(client4, gateway4, 6, tcp(50000, 443, 0x12))); // SYN-ACK is not a new connection
    mg_client_obs obs = client(client4);
    EXPECT_EQ(obs.tls_syns, 1u);
    EXPECT_EQ(obs.tls_packets, 3u);
    EXPECT_NE(obs.last_syn_ns, 0u);
    EXPECT_GE(obs.last_tls_ns, obs.last_syn_ns);
    EXPECT_EQ(obs.dtls_in + obs.dtls_out + obs.other_udp, 0u);
    auto totals = observer->totals();
    EXPECT_EQ(totals[MG_OBSERVED_TLS_SYNS], 1u);
    EXPECT_EQ(totals[MG_OBSERVED_TLS_PACKETS], 3u);
}

TEST_F(ObserveTest, OtherTcpAndTheGatewaysOwnTlsSegmentsAreNotCounted)
{
    run(true, v4(client4, gateway4, 6, tcp(50000, 22, 0x02)));
    run(false, v4(gateway4, client4, 6, tcp(443, 50000, 0x12)));
    EXPECT_FALSE(observer->client(mapped(client4)));
    auto totals = observer->totals();
    EXPECT_EQ(totals[MG_OBSERVED_TLS_SYNS] + totals[MG_OBSERVED_TLS_PACKETS], 0u);
}

TEST_F(ObserveTest, DtlsDatagramsBothWaysAndClientHellos)
{
    run(true, v4(client4, gateway4, 17, udp(40000, 4443, dtls(22, 0xfefd, 1)))); // ClientHello, DTLS 1.2
    run(true, v4(client4, gateway4, 17, udp(40000, 4443, dtls(22, 0x0100, 1)))); // Cisco's pre-standard DTLS
    run(true, v4(client4, gateway4, 17, udp(40000, 4443, dtls(22, 0xfefd, 2)))); // ServerHello type: not a hello
    run(true, v4(client4, gateway4, 17, udp(40000, 4443, dtls(23, 0xfefd, 1)))); // application data
    run(true, v4(client4, gateway4, 17, udp(40000, 4443, {22, 0xfe, 0xfd})));     // too short to tell
    run(false, v4(gateway4, client4, 17, udp(4443, 40000, dtls(23, 0xfefd, 0))));
    mg_client_obs obs = client(client4);
    EXPECT_EQ(obs.dtls_in, 5u);
    EXPECT_EQ(obs.dtls_hellos, 2u);
    EXPECT_EQ(obs.dtls_out, 1u);
    EXPECT_NE(obs.last_dtls_in_ns, 0u);
    EXPECT_NE(obs.last_dtls_out_ns, 0u);
    EXPECT_EQ(obs.tls_packets, 0u);
    auto totals = observer->totals();
    EXPECT_EQ(totals[MG_OBSERVED_DTLS_IN], 5u);
    EXPECT_EQ(totals[MG_OBSERVED_DTLS_OUT], 1u);
    EXPECT_EQ(totals[MG_OBSERVED_DTLS_HELLOS], 2u);
}

TEST_F(ObserveTest, UdpToOtherPortsCountsOnlyForKnownClients)
{
    run(true, v4("198.51.100.99", gateway4, 17, udp(40000, 443, {}))); // a stranger: no entry made
    EXPECT_FALSE(observer->client(mapped("198.51.100.99")));
    run(true, v4(client4, gateway4, 6, tcp(50000, 443, 0x02)));
    run(true, v4(client4, gateway4, 17, udp(40000, 443, dtls(22, 0xfefd, 1))));
    mg_client_obs obs = client(client4);
    EXPECT_EQ(obs.other_udp, 1u);
    EXPECT_EQ(obs.other_udp_port, 443u);
    EXPECT_EQ(obs.dtls_in, 0u);
    EXPECT_EQ(observer->totals()[MG_OBSERVED_OTHER_UDP], 1u);
}

TEST_F(ObserveTest, Ipv6AndVlanTaggedClients)
{
    run(true, v6(client6, gateway6, 6, tcp(50000, 443, 0x02)));
    run(true, v6(client6, gateway6, 17, udp(40000, 4443, dtls(22, 0xfeff, 1))));
    run(false, v6(gateway6, client6, 17, udp(4443, 40000, dtls(23, 0xfeff, 0))));
    mg_client_obs obs = client(client6);
    EXPECT_EQ(obs.tls_syns, 1u);
    EXPECT_EQ(obs.dtls_in, 1u);
    EXPECT_EQ(obs.dtls_hellos, 1u);
    EXPECT_EQ(obs.dtls_out, 1u);

    run(true, v4("198.51.100.8", gateway4, 6, tcp(50000, 443, 0x02), {0x88a8, 0x8100}));
    EXPECT_EQ(client("198.51.100.8").tls_syns, 1u);
}

TEST_F(ObserveTest, GsoPacketsCountTheirSegments)
{
    run(false, v4(gateway4, client4, 17, udp(4443, 40000, dtls(23, 0xfefd, 0))), 5);
    EXPECT_EQ(client(client4).dtls_out, 5u);
    EXPECT_EQ(observer->totals()[MG_OBSERVED_DTLS_OUT], 5u);
}

TEST_F(ObserveTest, FragmentsTruncatedAndForeignPacketsLeaveNoTrace)
{
    Ipv4Packet later;
    later.src = client4, later.dst = gateway4, later.protocol = 17, later.df = false;
    later.fragment_offset = 185, later.upper = udp(40000, 4443, dtls(22, 0xfefd, 1)), later.total_length = 100;
    run(true, later.build()); // bytes that look like ports are payload in a later fragment

    Bytes cut = v4(client4, gateway4, 6, tcp(50000, 443, 0x02));
    cut.resize(14 + 20 + 10); // the TCP header is cut short
    run(true, cut);
    run(true, Bytes(14, 0xff)); // an Ethernet header of no known type (tc runs need one at least)
    run(true, v4(client4, gateway4, 1, {8, 0, 0, 0, 0, 0, 0, 0})); // ICMP

    EXPECT_FALSE(observer->client(mapped(client4)));
    for (uint64_t total : observer->totals())
        EXPECT_EQ(total, 0u);
}

// Attachments on a real interface (a veth pair made for the test): the tcx link this kernel
// has, and the classic filter of kernels without tcx, each gone with its object; a clsact qdisc
// the classic filter made goes with it, one that was there stays.
class TcAttachTest : public ObserveTest {
protected:
    void SetUp() override
    {
        ObserveTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        ASSERT_EQ(std::system("ip link add mgobs0 type veth peer name mgobs1 && ip link set mgobs0 up"), 0);
        ifindex = if_nametoindex("mgobs0");
        ASSERT_NE(ifindex, 0u);
    }
    void TearDown() override { std::system("ip link del mgobs0 2>/dev/null"); }

    static std::string run_text(const std::string &command)
    {
        std::string out;
        FILE *pipe = popen(command.c_str(), "r");
        char buffer[4096];
        while (pipe && fgets(buffer, sizeof(buffer), pipe))
            out += buffer;
        if (pipe)
            pclose(pipe);
        return out;
    }
    static std::string qdiscs() { return run_text("tc qdisc show dev mgobs0"); }
    // The kernel's id of a program, as `bpftool link show` and `tc filter show` print it.
    static std::string prog_id(int fd)
    {
        bpf_prog_info info{};
        uint32_t length = sizeof(info);
        EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &length), 0);
        return "id " + std::to_string(info.id);
    }
    static std::string filters() { return run_text("tc filter show dev mgobs0 ingress"); }

    uint32_t ifindex = 0;
};

TEST_F(TcAttachTest, TcxLinksComeOffWithTheirObject)
{
    std::string in_id, out_id;
    {
        Observer attached(ObserverSettings{443, 443, 1024});
        attached.attach(ifindex, "mgobs0");
        EXPECT_FALSE(attached.needs_net_admin_to_detach()) << "this kernel has tcx";
        in_id = "prog " + prog_id(attached.program_fd(true)).substr(3);
        out_id = "prog " + prog_id(attached.program_fd(false)).substr(3);
        const std::string links = run_text("bpftool link show");
        EXPECT_NE(links.find(in_id + " "), std::string::npos) << links;
        EXPECT_NE(links.find(out_id + " "), std::string::npos) << links;
    }
    const std::string links = run_text("bpftool link show");
    EXPECT_EQ(links.find(in_id + " "), std::string::npos) << links;
    EXPECT_EQ(links.find(out_id + " "), std::string::npos) << links;
    EXPECT_EQ(qdiscs().find("clsact"), std::string::npos);
}

TEST_F(TcAttachTest, ClassicFiltersRemoveTheQdiscTheyMadeOnly)
{
    const std::string id = prog_id(observer->program_fd(true));
    {
        TcFilter filter = TcFilter::attach_netlink(observer->program_fd(true), ifindex, true, "mgobs0");
        EXPECT_FALSE(filter.is_link());
        EXPECT_NE(qdiscs().find("clsact"), std::string::npos);
        EXPECT_NE(filters().find(id), std::string::npos) << filters();
    }
    EXPECT_EQ(qdiscs().find("clsact"), std::string::npos) << "made for the filter, gone with it";

    ASSERT_EQ(std::system("tc qdisc add dev mgobs0 clsact && "
                          "tc filter add dev mgobs0 ingress pref 100 protocol ip u32 match u32 0 0"), 0);
    {
        TcFilter filter = TcFilter::attach_netlink(observer->program_fd(true), ifindex, true, "mgobs0");
        EXPECT_NE(filters().find(id), std::string::npos) << filters();
    }
    EXPECT_EQ(filters().find(id), std::string::npos) << filters();
    EXPECT_NE(filters().find("u32"), std::string::npos) << "the operator's filter stays";
    EXPECT_NE(qdiscs().find("clsact"), std::string::npos) << "the operator's qdisc stays";
}

} // namespace
} // namespace mtuguard::test
