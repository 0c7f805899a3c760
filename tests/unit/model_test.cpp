// The reference model on its own (no kernel): the checksum against RFC 1071's worked example
// and the seed scenario end to end. The model is compared with the real program in tests/bpf.
#include <gtest/gtest.h>

#include <cstring>

#include "model.hpp"
#include "packet.hpp"
#include "common/session_spec.hpp"

namespace mtuguard {
namespace {

TEST(Model, ChecksumMatchesRfc1071Example)
{
    // RFC 1071 1.3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(model::internet_checksum(bytes), 0x220d);
}

model::State seed_state()
{
    model::State state;
    SessionSpec spec = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls");
    state.add_session(spec.prefix.addr, spec.session);
    mg_iface iface{};
    iface.slot = 1;
    auto src = test::ipv4("192.0.2.1");
    std::memcpy(iface.icmp_src4, src.data(), 4);
    iface.has_src4 = 1;
    std::memcpy(iface.mac, test::gateway_mac.data(), sizeof(iface.mac));
    iface.has_mac = 1;
    state.iface = iface;
    return state;
}

TEST(Model, SeedCase1418BytesOnTlsGetsFragNeeded1347)
{
    test::Ipv4Packet p;
    p.total_length = 1418;
    model::Verdict v = model::decide(p.build(), seed_state());
    EXPECT_EQ(v.reason, MG_REASON_ICMP_SENT);
    EXPECT_EQ(v.xdp_action, 3u);
    ASSERT_EQ(v.frame.size(), 14u + 576);
    EXPECT_EQ(test::get16(v.frame, 14 + 20 + 6), 1347);
    EXPECT_TRUE(test::checksum_ok({&v.frame[14], 20}));
    EXPECT_TRUE(test::checksum_ok({&v.frame[34], 556}));
}

TEST(Model, TransportSwitchChangesTheThreshold)
{
    model::State state = seed_state();
    test::Ipv4Packet p;
    p.total_length = 1418;
    state.sessions.begin()->second.transport = MG_TRANSPORT_DTLS;
    EXPECT_EQ(model::decide(p.build(), state).reason, MG_REASON_WITHIN_MTU);
}

TEST(Model, UnregisteredInterfaceNeverAnswers)
{
    model::State state = seed_state();
    state.iface.reset();
    test::Ipv4Packet p;
    p.total_length = 1418;
    EXPECT_EQ(model::decide(p.build(), state).reason, MG_REASON_SUPPRESSED_NO_ADDRESS);
}

TEST(Model, ShortFramesAreNotIp)
{
    const uint8_t runt[10] = {};
    EXPECT_EQ(model::decide(runt, seed_state()).reason, MG_REASON_NOT_IP);
}

} // namespace
} // namespace mtuguard
