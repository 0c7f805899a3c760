#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tracking/reconnect_detector.hpp"

namespace mtuguard {
namespace {

using Time = ReconnectHistory::time_point;

// A synthetic clock: seconds since an arbitrary origin.
Time at(double seconds)
{
    return Time{} + std::chrono::duration_cast<Time::duration>(std::chrono::duration<double>(seconds));
}

const StormPolicy kPolicy; // the defaults: 5 in 300 s, 3 intervals within 15 %, 10-600 s

TEST(ReconnectHistory, EmptyHistory)
{
    ReconnectHistory h;
    EXPECT_EQ(h.count_total(), 0u);
    EXPECT_FALSE(h.last());
    EXPECT_EQ(h.in_window(at(1000), kPolicy), 0u);
    EXPECT_FALSE(h.storm(at(1000), kPolicy));
    EXPECT_FALSE(h.periodic(at(1000), kPolicy));
    EXPECT_FALSE(h.typical_interval_seconds(kPolicy));
    EXPECT_TRUE(h.recent_intervals_seconds().empty());
}

TEST(ReconnectHistory, MinuteClientWithJitterIsPeriodicAndAStorm)
{
    // A client reconnecting every ~60 s after its stuck flows time out, ±3 s of jitter.
    const std::vector<double> jitter = {0, 2.5, -3, 1, -1.5, 3, -2, 0.5};
    ReconnectHistory h;
    double t = 1000;
    for (size_t i = 0; i < jitter.size(); ++i) {
        t = 1000 + 60.0 * i + jitter[i];
        EXPECT_TRUE(h.record(at(t), kPolicy));
        // Periodic from the third interval on, which needs four reconnects.
        EXPECT_EQ(h.periodic(at(t), kPolicy), i >= 3) << i;
        // Five reconnects ~60 s apart fit in a 300 s window.
        EXPECT_EQ(h.storm(at(t), kPolicy), i >= 4) << i;
    }
    ASSERT_TRUE(h.typical_interval_seconds(kPolicy));
    EXPECT_NEAR(*h.typical_interval_seconds(kPolicy), 60.0, 3.5);
    EXPECT_EQ(h.in_window(at(t), kPolicy), 5u);
    EXPECT_EQ(h.count_total(), jitter.size());

    const std::vector<double> intervals = h.recent_intervals_seconds();
    ASSERT_EQ(intervals.size(), jitter.size() - 1);
    EXPECT_DOUBLE_EQ(intervals[0], 62.5);
    EXPECT_DOUBLE_EQ(intervals[1], 54.5);
    EXPECT_DOUBLE_EQ(intervals.back(), 62.5);
}

TEST(ReconnectHistory, StoppedClientStopsBeingPeriodicAfterTwiceItsInterval)
{
    ReconnectHistory h;
    for (int i = 0; i < 6; ++i)
        h.record(at(60.0 * i), kPolicy);
    const double last = 300;
    EXPECT_TRUE(h.periodic(at(last + 60), kPolicy));
    EXPECT_TRUE(h.periodic(at(last + 119), kPolicy));
    EXPECT_TRUE(h.periodic(at(last + 120), kPolicy));
    EXPECT_FALSE(h.periodic(at(last + 121), kPolicy));
    EXPECT_FALSE(h.periodic(at(last + 3600), kPolicy));
    // The period itself is still known; only "is it still happening" changed.
    EXPECT_DOUBLE_EQ(*h.typical_interval_seconds(kPolicy), 60.0);
}

TEST(ReconnectHistory, IrregularIntervalsAreNotPeriodic)
{
    // No three consecutive intervals within 15 % of their median.
    const std::vector<double> intervals = {45, 130, 20, 300, 75, 200, 33, 150, 90, 410, 61, 25, 140};
    ReconnectHistory h;
    double t = 0;
    h.record(at(t), kPolicy);
    for (double interval : intervals) {
        t += interval;
        h.record(at(t), kPolicy);
        EXPECT_FALSE(h.periodic(at(t), kPolicy)) << t;
        EXPECT_FALSE(h.typical_interval_seconds(kPolicy)) << t;
    }
    EXPECT_EQ(h.count_total(), intervals.size() + 1);
}

TEST(ReconnectHistory, RandomIntervalsAreRarelyPeriodic)
{
    // Log-uniform intervals from 10 s to 10 min: a chance regular stretch can happen, but far
    // from the always-on signal a black-holed client gives.
    std::mt19937 rng(20261122);
    std::uniform_real_distribution<double> exponent(std::log(10.0), std::log(600.0));
    ReconnectHistory h;
    double t = 0;
    int periodic = 0;
    const int rounds = 2000;
    for (int i = 0; i < rounds; ++i) {
        t += std::exp(exponent(rng));
        h.record(at(t), kPolicy);
        periodic += h.periodic(at(t), kPolicy);
    }
    EXPECT_LT(periodic, rounds / 50) << periodic;
}

TEST(ReconnectHistory, BurstIsAStormButNotPeriodic)
{
    // Five reconnects 2.5 s apart: regular, but a retry loop, not a period.
    ReconnectHistory h;
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(h.record(at(100 + 2.5 * i), kPolicy));
    EXPECT_TRUE(h.storm(at(110), kPolicy));
    EXPECT_EQ(h.in_window(at(110), kPolicy), 5u);
    EXPECT_FALSE(h.periodic(at(110), kPolicy));
    ASSERT_TRUE(h.typical_interval_seconds(kPolicy));
    EXPECT_DOUBLE_EQ(*h.typical_interval_seconds(kPolicy), 2.5);

    // An irregular burst inside 10 s, likewise.
    ReconnectHistory irregular;
    for (double s : {0.0, 2.1, 5.0, 7.2, 10.0})
        EXPECT_TRUE(irregular.record(at(s), kPolicy));
    EXPECT_TRUE(irregular.storm(at(10), kPolicy));
    EXPECT_FALSE(irregular.periodic(at(10), kPolicy));
}

TEST(ReconnectHistory, OldStormAgesOutOfTheWindow)
{
    ReconnectHistory h;
    for (int i = 0; i < 5; ++i)
        h.record(at(2.5 * i), kPolicy);
    EXPECT_TRUE(h.storm(at(10), kPolicy));
    EXPECT_TRUE(h.storm(at(299), kPolicy));
    EXPECT_EQ(h.in_window(at(301), kPolicy), 4u); // the first one left (t = 0 ≤ 301 − 300)
    EXPECT_FALSE(h.storm(at(301), kPolicy));
    EXPECT_EQ(h.in_window(at(311), kPolicy), 0u);
    EXPECT_FALSE(h.storm(at(311), kPolicy));
    // A new reconnect much later starts a fresh count.
    h.record(at(1000), kPolicy);
    EXPECT_EQ(h.in_window(at(1000), kPolicy), 1u);
    EXPECT_EQ(h.count_total(), 6u);
}

TEST(ReconnectHistory, DebounceMergesSimultaneousConnections)
{
    ReconnectHistory h;
    EXPECT_TRUE(h.record(at(100), kPolicy));
    EXPECT_FALSE(h.record(at(100.2), kPolicy)); // the DTLS channel of the same reconnect
    EXPECT_FALSE(h.record(at(101.9), kPolicy));
    EXPECT_TRUE(h.record(at(102), kPolicy));    // 2 s after the counted one: a new reconnect
    EXPECT_FALSE(h.record(at(50), kPolicy));    // late report of something already past
    EXPECT_EQ(h.count_total(), 2u);
    EXPECT_EQ(*h.last(), at(102));

    // A steady flood every second still counts one reconnect every two seconds.
    ReconnectHistory flood;
    for (int s = 0; s < 20; ++s)
        flood.record(at(s), kPolicy);
    EXPECT_EQ(flood.count_total(), 10u);
    EXPECT_TRUE(flood.storm(at(19), kPolicy));

    // Debounce is a policy knob; 0 counts everything in order.
    StormPolicy none = kPolicy;
    none.debounce = std::chrono::milliseconds(0);
    ReconnectHistory all;
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(all.record(at(5), none));
    EXPECT_EQ(all.count_total(), 3u);
}

TEST(ReconnectHistory, PolicyKnobsChangeTheVerdicts)
{
    ReconnectHistory h;
    for (int i = 0; i < 4; ++i)
        h.record(at(900.0 * i), kPolicy); // every 15 minutes
    EXPECT_FALSE(h.periodic(at(2700), kPolicy)); // beyond periodic_max_interval
    StormPolicy slow = kPolicy;
    slow.periodic_max_interval = std::chrono::seconds(3600);
    EXPECT_TRUE(h.periodic(at(2700), slow));

    StormPolicy strict = kPolicy;
    strict.periodic_min_intervals = 5; // needs six reconnects
    EXPECT_FALSE(h.typical_interval_seconds(strict));

    StormPolicy small = kPolicy;
    small.storm_reconnects = 2;
    small.storm_window = std::chrono::seconds(1000);
    EXPECT_TRUE(h.storm(at(2700), small));
    EXPECT_FALSE(h.storm(at(2700), kPolicy));
}

TEST(ReconnectHistory, MemoryStaysBounded)
{
    static_assert(sizeof(ReconnectHistory) <= 64 + ReconnectHistory::kept_reconnects * sizeof(ReconnectHistory::time_point));
    ReconnectHistory h;
    for (int i = 0; i < 1'000'000; ++i)
        h.record(at(60.0 * i), kPolicy);
    EXPECT_EQ(h.count_total(), 1'000'000u);
    EXPECT_EQ(h.recent_intervals_seconds().size(), ReconnectHistory::kept_reconnects - 1);
    EXPECT_EQ(h.in_window(at(60.0 * 999'999), kPolicy), 5u);
    EXPECT_TRUE(h.periodic(at(60.0 * 999'999), kPolicy));
    EXPECT_DOUBLE_EQ(h.recent_intervals_seconds().front(), 60.0);
    EXPECT_EQ(*h.last(), at(60.0 * 999'999));
}

TEST(ReconnectHistory, InWindowCapsAtWhatIsKept)
{
    StormPolicy wide = kPolicy;
    wide.storm_window = std::chrono::seconds(100000);
    ReconnectHistory h;
    for (int i = 0; i < 100; ++i)
        h.record(at(10.0 * i), wide);
    EXPECT_EQ(h.in_window(at(1000), wide), ReconnectHistory::kept_reconnects);
}

// The seed's symptom: connected, then one reconnect about a minute later. Counted against the
// connection's start with the default 120 s: 119 s is early, 120 s too, 121 s is not.
TEST(ReconnectHistory, EarlyReconnectsAreCountedUpToTheLimitInclusive)
{
    for (const auto &[after, early] : std::vector<std::pair<double, bool>>{{60, true}, {119, true}, {120, true}, {121, false}}) {
        ReconnectHistory h;
        h.connected(at(1000));
        const ReconnectHistory::Recorded r = h.record(at(1000 + after), kPolicy);
        EXPECT_TRUE(r.counted) << after;
        EXPECT_EQ(r.early, early) << after;
        EXPECT_EQ(h.count_early(), early ? 1u : 0u) << after;
        EXPECT_EQ(h.count_total(), 1u) << after;
        // One reconnect is neither a storm nor periodic: only the early count sees it.
        EXPECT_FALSE(h.storm(at(1000 + after), kPolicy));
        EXPECT_FALSE(h.periodic(at(1000 + after), kPolicy));
    }
}

TEST(ReconnectHistory, EveryReconnectStartsTheNextConnection)
{
    // Reconnects 100 s, 230 s, 310 s and 500 s after the first start: the connections they end
    // lasted 100, 130, 80 and 190 s.
    ReconnectHistory h;
    h.connected(at(0));
    std::vector<bool> early;
    for (double t : {100.0, 230.0, 310.0, 500.0})
        early.push_back(h.record(at(t), kPolicy).early);
    EXPECT_EQ(early, (std::vector<bool>{true, false, true, false}));
    EXPECT_EQ(h.count_early(), 2u);
    EXPECT_EQ(h.count_total(), 4u);
    ASSERT_TRUE(h.started());
    EXPECT_EQ(*h.started(), at(500));
}

TEST(ReconnectHistory, ARepeatedReportIsNoSecondEarlyReconnect)
{
    ReconnectHistory h;
    h.connected(at(0));
    EXPECT_TRUE(h.record(at(50), kPolicy).early);
    // The same reconnect reported again within the debounce: not counted, not early, and the
    // connection it started still starts at 50 s.
    const ReconnectHistory::Recorded again = h.record(at(51), kPolicy);
    EXPECT_FALSE(again.counted);
    EXPECT_FALSE(again.early);
    EXPECT_EQ(h.count_early(), 1u);
    EXPECT_EQ(*h.started(), at(50));
}

TEST(ReconnectHistory, AnUnseenStartJudgesTheFirstReconnectNeitherWay)
{
    ReconnectHistory h; // a session already up when the daemon started
    const ReconnectHistory::Recorded first = h.record(at(10), kPolicy);
    EXPECT_TRUE(first.counted);
    EXPECT_FALSE(first.early);
    EXPECT_TRUE(h.record(at(40), kPolicy).early); // 30 s after the first reconnect's start
    EXPECT_EQ(h.count_early(), 1u);
    EXPECT_EQ(h.count_total(), 2u);
}

TEST(ReconnectHistory, AReconnectStampedBeforeTheStartIsNotEarly)
{
    ReconnectHistory h;
    h.connected(at(100));
    const ReconnectHistory::Recorded r = h.record(at(90), kPolicy); // a SYN seen before the session
    EXPECT_TRUE(r.counted);
    EXPECT_FALSE(r.early);
    EXPECT_EQ(*h.started(), at(100));
}

TEST(ReconnectHistory, EarlyReconnectFollowsThePolicy)
{
    StormPolicy short_limit = kPolicy;
    short_limit.early_reconnect = std::chrono::seconds(5);
    ReconnectHistory h;
    h.connected(at(0));
    EXPECT_TRUE(h.record(at(4), short_limit).early);
    EXPECT_FALSE(h.record(at(10), short_limit).early);  // 6 s after the start at 4 s
    EXPECT_TRUE(h.record(at(15), short_limit).early);   // 5 s after 10 s
    EXPECT_EQ(h.count_early(), 2u);
}

void expect_invalid(const StormPolicy &policy, const std::string &fragment)
{
    try {
        validate(policy);
        ADD_FAILURE() << "accepted, expected: " << fragment;
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

TEST(StormPolicy, ValidateNamesTheField)
{
    EXPECT_NO_THROW(validate(kPolicy));
    StormPolicy p = kPolicy;
    p.storm_reconnects = 0;
    expect_invalid(p, "storm_reconnects 0 is not from 1 to 32");
    p = kPolicy;
    p.storm_reconnects = 33;
    expect_invalid(p, "storm_reconnects 33 is not from 1 to 32");
    p = kPolicy;
    p.storm_window = std::chrono::seconds(0);
    expect_invalid(p, "storm_window must be positive");
    p = kPolicy;
    p.periodic_min_intervals = 1;
    expect_invalid(p, "periodic_min_intervals 1 is not from 2 to 31");
    p = kPolicy;
    p.periodic_tolerance = 0;
    expect_invalid(p, "periodic_tolerance 0.000000 is not between 0 and 1");
    p = kPolicy;
    p.periodic_tolerance = 1.5;
    expect_invalid(p, "periodic_tolerance");
    p = kPolicy;
    p.periodic_min_interval = std::chrono::seconds(600);
    expect_invalid(p, "periodic_min_interval must be at least 0 and below periodic_max_interval");
    p = kPolicy;
    p.debounce = std::chrono::milliseconds(-1);
    expect_invalid(p, "debounce must not be negative");
    p = kPolicy;
    p.early_reconnect = std::chrono::seconds(0);
    expect_invalid(p, "early_reconnect must be positive");
}

} // namespace
} // namespace mtuguard
