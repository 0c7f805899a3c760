// Differential test: random and mutated packets through the real programs (XDP, and one of the
// two tc MSS clamps) and the reference model; every verdict, reason and output byte must agree. The generator aims at the edges
// (lengths around each MTU, VLAN depths, IPv4 options and fragments, IPv6 header chains, ICMP
// types, group and non-unicast addresses) and then corrupts some packets on purpose.
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "harness.hpp"

namespace mtuguard::test {
namespace {

// What the generator made, by feature: every one must turn up in a run, so a change to the
// generator cannot quietly stop exercising one.
struct Mix {
    uint64_t ipv4 = 0, ipv6 = 0, other_ethertype = 0, vlan_tags[4]{}, ipv4_options = 0, ipv4_fragments = 0,
             ipv6_extension_chains = 0, ipv6_fragments = 0, tcp_syn = 0, tcp_odd_options = 0,
             tcp_lying_offset = 0, bytes_flipped = 0, truncated = 0;

    template <class F> void each(F &&f) const
    {
        f("ipv4", ipv4);
        f("ipv6", ipv6);
        f("other ethertype", other_ethertype);
        f("no vlan tag", vlan_tags[0]);
        f("1 vlan tag", vlan_tags[1]);
        f("2 vlan tags", vlan_tags[2]);
        f("3 vlan tags", vlan_tags[3]);
        f("ipv4 options", ipv4_options);
        f("ipv4 fragments", ipv4_fragments);
        f("ipv6 extension chains", ipv6_extension_chains);
        f("ipv6 fragment headers", ipv6_fragments);
        f("tcp syn / syn-ack", tcp_syn);
        f("tcp odd options", tcp_odd_options);
        f("tcp lying data offset", tcp_lying_offset);
        f("bytes flipped", bytes_flipped);
        f("truncated", truncated);
    }
};

class Generator {
public:
    explicit Generator(uint64_t seed) : rng_(seed) {}

    Bytes packet()
    {
        Bytes frame;
        int kind = pick(100);
        if (kind < 45) {
            frame = ipv4_packet().build();
            ++mix_.ipv4;
        } else if (kind < 90) {
            frame = ipv6_packet().build();
            ++mix_.ipv6;
        } else {
            frame = other_packet();
            ++mix_.other_ethertype;
        }
        mutate(frame);
        return frame;
    }

    const Mix &mix() const { return mix_; }

private:
    uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
    template <class T, size_t N> const T &one_of(const std::array<T, N> &items) { return items[pick(N)]; }

    L2 l2()
    {
        L2 l2;
        int tags = pick(100);
        int count = tags < 70 ? 0 : tags < 90 ? 1 : tags < 98 ? 2 : 3;
        for (int i = 0; i < count; ++i)
            l2.vlan_tpids.push_back(pick(2) ? 0x8100 : 0x88a8);
        ++mix_.vlan_tags[count];
        if (pick(20) == 0)
            l2.dst = pick(2) ? Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} : Mac{0x01, 0x00, 0x5e, 0, 0, 1};
        return l2;
    }

    // Lengths cluster around the thresholds in use; the rest spread up to BPF_PROG_TEST_RUN's
    // limit of one page minus head- and tailroom.
    uint16_t length(uint16_t minimum)
    {
        static constexpr std::array<int, 8> edges{1200, 1280, 1300, 1347, 1400, 1418, 3000, 576};
        int len = pick(3) ? one_of(edges) + int(pick(5)) - 2 : int(pick(3400));
        return uint16_t(std::max<int>(len, minimum));
    }

    Ipv4Packet ipv4_packet()
    {
        // 10.8.0.0 and 10.9.255.255 are the first slot of one client pool and the last of
        // the next, 10.7.255.255 and 10.10.0.0 their neighbours outside; 10.7.0.1 an empty slot
        // of a third
        static constexpr std::array<const char *, 11> dsts{
            "10.8.0.5", "10.8.0.6", "10.9.3.4", "10.9.0.7", "10.7.0.1", "224.1.2.3", "255.255.255.255", "10.9.255.255",
            "10.8.0.0", "10.7.255.255", "10.10.0.0"};
        static constexpr std::array<const char *, 8> srcs{
            "198.51.100.10", "10.8.0.5", "203.0.113.9", "0.0.0.0", "127.0.0.1", "224.0.0.5", "255.255.255.255",
            "198.51.100.11"};
        Ipv4Packet p;
        p.l2 = l2();
        p.dst = one_of(dsts);
        p.src = pick(4) ? srcs[pick(3)] : one_of(srcs);
        p.df = pick(4) != 0;
        p.more_fragments = pick(8) == 0;
        p.fragment_offset = pick(6) == 0 ? uint16_t(1 + pick(0x1fff)) : 0;
        p.options.resize(4 * pick(pick(4) ? 1 : 11));
        for (auto &b : p.options)
            b = uint8_t(pick(256));
        mix_.ipv4_options += !p.options.empty();
        mix_.ipv4_fragments += p.more_fragments || p.fragment_offset;
        static constexpr std::array<uint8_t, 6> protocols{1, 6, 6, 17, 47, 50};
        p.protocol = one_of(protocols);
        if (p.protocol == 1)
            p.upper = {uint8_t(pick(4) ? pick(20) : pick(256)), uint8_t(pick(16))};
        if (p.protocol == 6)
            p.upper = tcp_header();
        p.total_length = length(uint16_t(20 + p.options.size() + p.upper.size()));
        if (pick(10) == 0)
            p.trailer = pick(64);
        return p;
    }

    Ipv6Packet ipv6_packet()
    {
        // 2001:db8::5 is in one IPv6 client pool, 2001:db8::f:ffff the last slot of another,
        // 2001:db8:1::1 an empty slot of a third; 2001:db8::10:0 and 2001:db9::5 (the same last
        // 32 bits as a slot) lie outside them
        static constexpr std::array<const char *, 9> dsts{
            "2001:db8::5", "2001:db8::6", "2001:db8:9:1::1", "2001:db8:1::1", "ff0e::1", "2001:db8:9::",
            "2001:db8::f:ffff", "2001:db8::10:0", "2001:db9::5"};
        static constexpr std::array<const char *, 7> srcs{
            "2001:db8:100::10", "2001:db8::5", "2001:db8:200::1", "::", "::1", "ff02::1", "2001:db8:100::11"};
        Ipv6Packet p;
        p.l2 = l2();
        p.dst = one_of(dsts);
        p.src = pick(4) ? srcs[pick(3)] : one_of(srcs);

        static constexpr std::array<uint8_t, 5> extensions{0, 43, 60, 51, 44};
        static constexpr std::array<uint8_t, 7> finals{6, 6, 17, 58, 58, 59, 99};
        int chain = pick(3) ? 0 : int(pick(11));
        mix_.ipv6_extension_chains += chain > 0;
        uint8_t *next = &p.next_header;
        Bytes &ext = p.extension_headers;
        for (int i = 0; i < chain; ++i) {
            uint8_t type = one_of(extensions);
            *next = type;
            size_t at = ext.size();
            if (type == 44) {
                ++mix_.ipv6_fragments;
                uint16_t offset = pick(3) ? 0 : uint16_t(pick(0x2000) << 3);
                ext.insert(ext.end(), {0, 0, uint8_t(offset >> 8), uint8_t(offset | pick(2)), 1, 2, 3, 4});
            } else {
                uint8_t units = uint8_t(pick(4) ? pick(3) : pick(256));
                size_t size = type == 51 ? (units + 2) * 4 : (units + 1) * 8;
                ext.resize(ext.size() + std::min<size_t>(size, 64), 0);
                ext[at + 1] = units;
            }
            next = &ext[at];
        }
        *next = one_of(finals);
        if (*next == 58)
            p.upper = {uint8_t(pick(3) ? pick(256) : 128 + pick(10)), 0};
        if (*next == 6)
            p.upper = tcp_header();
        p.total_length = length(uint16_t(40 + ext.size() + p.upper.size()));
        if (pick(10) == 0)
            p.trailer = pick(64);
        return p;
    }

    // A TCP header, often a SYN or SYN-ACK, with an option list built from the options real
    // stacks send (MSS anywhere, NOP and EOL padding, window scale, SACK, timestamps) and, now
    // and then, broken on purpose.
    Bytes tcp_header()
    {
        Bytes options;
        bool odd = false;
        int count = pick(6);
        for (int i = 0; i < count; ++i) {
            switch (pick(7)) {
            case 0: {
                uint16_t mss = uint16_t(pick(3) ? 1200 + pick(300) : pick(65536));
                options.insert(options.end(), {2, 4, uint8_t(mss >> 8), uint8_t(mss)});
                break;
            }
            case 1: options.push_back(1); break;
            case 2: options.insert(options.end(), {3, 3, uint8_t(pick(15))}); break;
            case 3: options.insert(options.end(), {4, 2}); break;
            case 4: options.insert(options.end(), {8, 10, 1, 2, 3, 4, 5, 6, 7, 8}); break;
            case 5: options.push_back(0); odd |= i + 1 < count; break; // EOL before more options
            default: options.insert(options.end(), {uint8_t(pick(256)), uint8_t(pick(12))}); odd = true; break;
            }
        }
        while (options.size() % 4)
            options.push_back(pick(2) ? 0 : 1);
        options.resize(std::min<size_t>(options.size(), 40));
        Bytes tcp(20 + options.size(), 0);
        tcp[0] = 0x30;
        tcp[1] = 0x39;
        tcp[12] = uint8_t(((20 + options.size()) / 4) << 4);
        if (pick(12) == 0) {
            tcp[12] = uint8_t(pick(16) << 4); // a data offset that lies
            ++mix_.tcp_lying_offset;
        }
        tcp[13] = pick(4) ? (pick(2) ? 0x02 : 0x12) : uint8_t(pick(256));
        if (tcp[13] & 0x02) {
            ++mix_.tcp_syn;
            mix_.tcp_odd_options += odd;
        }
        tcp[16] = uint8_t(pick(256));
        tcp[17] = uint8_t(pick(256));
        std::copy(options.begin(), options.end(), tcp.begin() + 20);
        return tcp;
    }

    Bytes other_packet()
    {
        Ipv4Packet p;
        p.total_length = length(20);
        Bytes frame = p.build();
        frame[12] = uint8_t(pick(256));
        frame[13] = uint8_t(pick(256));
        return frame;
    }

    void mutate(Bytes &frame)
    {
        int kind = pick(10);
        if (kind < 2) {
            int flips = 1 + pick(4);
            for (int i = 0; i < flips; ++i)
                frame[pick(std::min<uint32_t>(frame.size(), 120))] ^= uint8_t(1 + pick(255));
            ++mix_.bytes_flipped;
        } else if (kind == 2) {
            frame.resize(14 + pick(frame.size() - 13));
            ++mix_.truncated;
        }
        frame.resize(std::min<size_t>(frame.size(), 3400));
    }

    std::mt19937_64 rng_;
    Mix mix_;
};

// Run against both session tables (harness.hpp): the hashes alone, and several client pools of
// each family holding 10.8.0.5, 10.8.0.6, 10.9.0.7, the 10.9.0.0/16 pool's addresses and
// 2001:db8::5, ::6.
class Differential : public ProgramTest, public ::testing::WithParamInterface<Lookup> {
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
                      "10.9.0.7,dtls-mtu=1418,tls-mtu=1347,transport=tls,mss-clamp=off",
                      "198.51.100.10,dtls-mtu=1400,tls-mtu=1300,transport=tls,mss-clamp=on",
                      "224.1.2.3,dtls-mtu=1418,tls-mtu=1347",
                      "255.255.255.255,dtls-mtu=1418,tls-mtu=1347",
                      "2001:db8::5,dtls-mtu=1418,tls-mtu=1347,transport=tls,mss-clamp=on",
                      "2001:db8::6,dtls-mtu=1200,tls-mtu=1200,transport=tls",
                      "2001:db8:9::/48,dtls-mtu=1400,tls-mtu=1300,transport=tls",
                      "2001:db8:100::10,dtls-mtu=1418,tls-mtu=1347,transport=dtls",
                      "ff0e::1,dtls-mtu=1418,tls-mtu=1347"});
    }
};

// The VLAN tags in front of a generated frame's IP header.
size_t pick_tags(const Bytes &frame)
{
    size_t tags = 0;
    while (tags < 2 && frame.size() >= 14 + 4 * (tags + 1) &&
           (get16(frame, 12 + 4 * tags) == 0x8100 || get16(frame, 12 + 4 * tags) == 0x88a8))
        ++tags;
    return tags;
}

uint64_t seed()
{
    const char *text = std::getenv("MTUGUARD_DIFF_SEED");
    return text ? std::strtoull(text, nullptr, 0) : 0x6d747567756172ull;
}

// How many packets to run per session table, over all setups: MTUGUARD_DIFFERENTIAL_PACKETS,
// else 120000 (the default tier's share; the `long` label runs 5 million per table).
uint64_t packet_count()
{
    const char *text = std::getenv("MTUGUARD_DIFFERENTIAL_PACKETS");
    return text ? std::strtoull(text, nullptr, 0) : 120000;
}

TEST_P(Differential, ProgramAndModelAgreeOnRandomAndMutatedPackets)
{
    Generator generator(seed());
    std::array<uint64_t, MG_REASON_COUNT> seen{};
    uint64_t disagreements = 0, packets = 0, compared = 0, tc_compared = 0, tc_refused = 0;

    // The four oversize actions toward clients, then the client side on Ethernet and on a tun
    // device; MSS clamping on and off by default (sessions .7 and 2001:db8::5 override it).
    // Each packet runs through the XDP program and through one of the two tc programs.
    struct Setup {
        int action;
        bool mss_clamp;
        uint8_t direction;
        bool l3_only;
    };
    const Setup setups[] = {{MG_ACTION_ICMP, true, MG_DIR_TO_CLIENT, false},
                            {MG_ACTION_DROP, false, MG_DIR_TO_CLIENT, false},
                            {MG_ACTION_CLEAR_DF, true, MG_DIR_TO_CLIENT, false},
                            {MG_ACTION_MONITOR, true, MG_DIR_TO_CLIENT, false},
                            {MG_ACTION_ICMP, true, MG_DIR_FROM_CLIENT, false},
                            {MG_ACTION_ICMP, false, MG_DIR_FROM_CLIENT, true}};
    const uint64_t per_setup = (packet_count() + std::size(setups) - 1) / std::size(setups); // at least asked
    ASSERT_GT(per_setup, 0u) << "MTUGUARD_DIFFERENTIAL_PACKETS must be at least " << std::size(setups);
    std::array<uint64_t, MG_MSS_OUTCOME_COUNT> mss_seen{};
    const auto started = std::chrono::steady_clock::now();
    for (const Setup &setup : setups) {
        mg_settings settings{};
        settings.action = setup.action;
        settings.mss_clamp = setup.mss_clamp;
        set_settings(settings);
        mg_iface iface = default_iface();
        iface.direction = setup.direction;
        iface.l3_only = setup.l3_only;
        set_iface(iface);
        for (uint64_t i = 0; i < per_setup && disagreements < 5; ++i, ++packets) {
            Bytes frame = generator.packet();
            if (setup.l3_only) // a tun device: the same packets without their L2 header
                frame.erase(frame.begin(), frame.begin() + std::min<size_t>(frame.size() - 1, 14 + 4 * pick_tags(frame)));
            if (frame.size() < 14)
                continue; // BPF_PROG_TEST_RUN takes no frame shorter than an Ethernet header
            model::Verdict oracle = model::decide(frame, model);
            Outcome got = run(frame);
            ++compared;
            seen[oracle.reason]++;
            if (got.reason != oracle.reason || got.xdp_action != oracle.xdp_action ||
                got.frame != oracle.frame || got.moved != 1 || got.family != oracle.family ||
                got.mss_moved != 0) {
                ++disagreements;
                ADD_FAILURE() << "setup " << (&setup - setups) << " packet " << i << ": program "
                              << reason_name(got.reason) << " (xdp " << got.xdp_action << ", " << got.moved
                              << " counters moved, mss " << mss_outcome_name(got.mss_outcome) << "), model "
                              << reason_name(oracle.reason) << " (xdp " << oracle.xdp_action << ")"
                              << (got.frame != oracle.frame ? ", output bytes differ" : "")
                              << "\ninput:\n" << hex(frame);
            }
            // The same packet through one of the tc programs (the two take turns) and the
            // model's clamp: the session looked up on the side that direction names.
            const bool ingress = i & 1;
            const bool from_client = ingress == (setup.direction == MG_DIR_FROM_CLIENT);
            model::MssVerdict clamp_oracle = model::clamp(frame, model, from_client);
            TcOutcome clamped = run_tc(frame, ingress, frame.size() < 14 + 8 + 40);
            if (clamped.error == -EINVAL && frame.size() < 14 + 8 + 40) {
                ++tc_refused; // no skb that short reaches tc with these headers' ethertype
                continue;
            }
            ++tc_compared;
            if (clamp_oracle.mss_outcome >= 0)
                mss_seen[clamp_oracle.mss_outcome]++;
            if (clamped.tc_action != -1 || clamped.frame != clamp_oracle.frame ||
                clamped.mss_outcome != clamp_oracle.mss_outcome ||
                clamped.mss_moved != (clamp_oracle.mss_outcome >= 0 ? 1 : 0) || clamped.counters_moved != 0 ||
                (clamped.mss_moved && clamped.mss_direction != int(from_client))) {
                ++disagreements;
                ADD_FAILURE() << "setup " << (&setup - setups) << " packet " << i << " in tc "
                              << (ingress ? "ingress" : "egress") << ": program mss "
                              << mss_outcome_name(clamped.mss_outcome) << " (" << clamped.mss_moved
                              << " counted, action " << clamped.tc_action << "), model "
                              << mss_outcome_name(clamp_oracle.mss_outcome)
                              << (clamped.frame != clamp_oracle.frame ? ", output bytes differ" : "")
                              << "\ninput:\n" << hex(frame);
            }
        }
    }
    for (int o = 0; o < MG_MSS_OUTCOME_COUNT; ++o) {
        EXPECT_GT(mss_seen[o], 0u) << "MSS outcome " << mss_outcome_name(o) << " never reached";
        std::printf("mss %-20s %8lu\n", mss_outcome_name(o), (unsigned long)mss_seen[o]);
    }
    std::printf("tc runs compared %lu, refused by BPF_PROG_TEST_RUN as too short %lu\n", (unsigned long)tc_compared,
                (unsigned long)tc_refused);
    EXPECT_GT(tc_compared, compared / 2);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("packets %lu (%lu compared, the rest shorter than an Ethernet header), disagreements %lu, "
                "seed %#lx, %.1f s\n",
                (unsigned long)packets, (unsigned long)compared, (unsigned long)disagreements,
                (unsigned long)seed(), seconds);
    generator.mix().each([](const char *feature, uint64_t count) {
        EXPECT_GT(count, 0u) << "the generator made no packet with " << feature;
        std::printf("made %-22s %10lu\n", feature, (unsigned long)count);
    });
    EXPECT_EQ(disagreements, 0u);
    EXPECT_GE(packets, per_setup * std::size(setups));
    // The generator must reach every verdict that does not need a rate limit or a failure.
    for (int reason = 0; reason < MG_REASON_COUNT; ++reason) {
        if (reason == MG_REASON_ICMP_RATELIMITED || reason == MG_REASON_ICMP_FAILED ||
            reason == MG_REASON_SUPPRESSED_NO_ADDRESS)
            continue;
        EXPECT_GT(seen[reason], 0u) << reason_name(reason) << " never reached";
    }
    for (int reason = 0; reason < MG_REASON_COUNT; ++reason)
        std::printf("%-24s %8lu\n", reason_name(reason), (unsigned long)seen[reason]);
}

} // namespace
INSTANTIATE_TEST_SUITE_P(Lookups, Differential, ::testing::Values(Lookup::Hashed, Lookup::ClientPools),
                         lookup_name);

} // namespace mtuguard::test
