// The daemon rewrites what the program reads while packets are in flight: a client pool slot's
// policy, the runtime settings. Each case runs one packet a million times through
// BPF_PROG_TEST_RUN while another thread rewrites the state in a tight loop, and requires that
// every run got a verdict one of the states written allows: never a mix of two.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <thread>

#include "common/session_spec.hpp"
#include "harness.hpp"

namespace mtuguard::test {
namespace {

constexpr int racing_runs = 20;
constexpr int repeat_per_run = 50000;

class Races : public ProgramTest {
protected:
    using Counts = std::array<uint64_t, MG_REASON_COUNT>;

    // Runs `frame` racing_runs * repeat_per_run times while `write` loops on another thread;
    // returns how many runs ended in each reason (of the frame's family).
    Counts race(const Bytes &frame, mg_family family, const std::function<void(uint64_t)> &write)
    {
        const uint32_t first = mg_counter_index(test_slot, family, 0);
        const auto before = datapath->counters(first, MG_REASON_COUNT);
        std::atomic<bool> stop{false};
        std::thread writer([&] {
            for (uint64_t round = 0; !stop.load(std::memory_order_relaxed); ++round)
                write(round);
        });
        for (int i = 0; i < racing_runs; ++i) {
            Outcome out = run(frame, repeat_per_run);
            EXPECT_NE(out.xdp_action, 0u);
        }
        stop = true;
        writer.join();
        const auto after = datapath->counters(first, MG_REASON_COUNT);
        Counts counts{};
        for (uint32_t r = 0; r < MG_REASON_COUNT; ++r)
            counts[r] = after[r].packets - before[r].packets;
        return counts;
    }

    static std::string describe(const Counts &counts)
    {
        std::string out;
        for (uint32_t r = 0; r < MG_REASON_COUNT; ++r)
            if (counts[r])
                out += std::string(reason_name(int(r))) + "=" + std::to_string(counts[r]) + " ";
        return out;
    }
};

class SlotRace : public Races {
protected:
    void SetUp() override
    {
        client_pools = {"10.8.0.0/16", "2001:db8::/108"};
        Races::SetUp();
    }
};

// A packet that fits the session is within its MTU while the slot holds the session and no
// session while it is empty; judged on a policy read after the slot was emptied, it would be
// oversize against an MTU of 0 and answered with an error announcing it.
TEST_F(SlotRace, ASlotEmptiedUnderAPacketIsNeverReadAsAZeroPolicy)
{
    const Prefix v4 = parse_prefix("10.8.0.5"), v6 = parse_prefix("2001:db8::5");
    const SessionSpec s4 = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls");
    const SessionSpec s6 = parse_session_spec("2001:db8::5,dtls-mtu=1418,tls-mtu=1347,transport=tls");
    for (const auto &[frame, family, prefix, spec] :
         {std::tuple{[] { Ipv4Packet p; p.total_length = 1000; return p.build(); }(), MG_FAMILY_IPV4, v4, s4},
          std::tuple{[] { Ipv6Packet p; p.total_length = 1000; return p.build(); }(), MG_FAMILY_IPV6, v6, s6}}) {
        const Counts counts = race(frame, family, [&](uint64_t) {
            datapath->set_session(prefix, spec.session);
            datapath->delete_session(prefix);
        });
        EXPECT_EQ(counts[MG_REASON_WITHIN_MTU] + counts[MG_REASON_NO_SESSION],
                  uint64_t(racing_runs) * repeat_per_run)
            << mg_family_name(family) << ": " << describe(counts);
    }
}

// Settings rewritten over and over (rates, actions) while a packet to an address that only a
// pool prefix covers runs: it is always that pool's, never passed as no session.
TEST_F(Races, SettingsRewrittenUnderAPacketNeverHideThePools)
{
    add_sessions({"10.9.0.0/16,dtls-mtu=1400,tls-mtu=1300,transport=tls",
                  "2001:db8:9::/48,dtls-mtu=1400,tls-mtu=1300,transport=tls"});
    for (const auto &[frame, family] :
         {std::pair{[] { Ipv4Packet p; p.dst = "10.9.0.7"; p.total_length = 1000; return p.build(); }(),
                    MG_FAMILY_IPV4},
          std::pair{[] { Ipv6Packet p; p.dst = "2001:db8:9::7"; p.total_length = 1000; return p.build(); }(),
                    MG_FAMILY_IPV6}}) {
        const Counts counts = race(frame, family, [&](uint64_t round) {
            mg_settings s{};
            s.action = uint32_t(round % MG_ACTION_COUNT);
            s.icmp_per_source = {round % 100, 10, 1000000000ull * 10 / (round % 100 + 1)};
            datapath->set_settings(s);
        });
        EXPECT_EQ(counts[MG_REASON_WITHIN_MTU], uint64_t(racing_runs) * repeat_per_run)
            << mg_family_name(family) << ": " << describe(counts);
    }
}

} // namespace
} // namespace mtuguard::test
