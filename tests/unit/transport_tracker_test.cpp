// The transport tracker's decisions on synthetic observations: what the observation program
// would have counted for a client at given times, and what the tracker makes of it.
#include <gtest/gtest.h>

#include <cstring>

#include "captured_log.hpp"
#include "tracking/transport_tracker.hpp"

namespace mtuguard {
namespace {

using Clock = TransportTracker::Clock;
using namespace std::chrono_literals;

// The tracker's clock starts at an arbitrary point; observations are stamped on the same clock.
const Clock::time_point t0 = Clock::time_point(1000s);

uint64_t ns(Clock::time_point at) { return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count()); }

class TrackerTest : public ::testing::Test {
protected:
    TrackerTest() : tracker(policy(), t0) { tracker.bind(session, client, MG_SOURCE_OCSERV, t0); }

    static TrackerPolicy policy()
    {
        TrackerPolicy p;
        p.dtls_idle_timeout = 10s;
        p.storm.storm_reconnects = 3;
        p.storm.storm_window = 120s;
        p.storm.debounce = 3s; // the daemon's with the default --ocserv-interval
        return p;
    }

    // Both DTLS directions (and TLS keepalives) at `at`.
    void dtls(Clock::time_point at) { obs.last_dtls_in_ns = obs.last_dtls_out_ns = ns(at), obs.dtls_in++, obs.dtls_out++; }
    void tls(Clock::time_point at) { obs.last_tls_ns = ns(at), obs.tls_packets++; }
    void syn(Clock::time_point at) { obs.last_syn_ns = ns(at), obs.tls_syns++, tls(at); }

    std::vector<TransportChange> tick(Clock::time_point now)
    {
        return tracker.tick(now, [&](const mg_addr &address) -> std::optional<mg_client_obs> {
            if (std::memcmp(address.bytes, client.addr.bytes, MG_ADDR_LEN) != 0 || !seen)
                return std::nullopt;
            return obs;
        });
    }

    Prefix session = parse_address("10.9.0.50");
    Prefix client = parse_address("198.51.100.7");
    mg_client_obs obs{};
    bool seen = true;
    TransportTracker tracker;
};

TEST_F(TrackerTest, DtlsBothWaysIsDtlsAtOnce)
{
    dtls(t0 + 1s);
    auto changes = tick(t0 + 1s);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_DTLS);
    EXPECT_EQ(changes[0].session, session);
    EXPECT_TRUE(tick(t0 + 2s).empty()) << "no change, no report";
}

TEST_F(TrackerTest, DtlsOneWayOnlyIsNotDtls)
{
    obs.last_dtls_in_ns = ns(t0 + 1s), obs.dtls_in = 5, obs.dtls_hellos = 5; // hellos, never answered
    tls(t0 + 1s);
    EXPECT_TRUE(tick(t0 + 1s).empty());
}

TEST_F(TrackerTest, TlsAfterTheTimeoutWithoutDtlsWhileTlsIsBusy)
{
    dtls(t0 + 1s);
    tick(t0 + 1s);
    for (auto t = t0 + 2s; t <= t0 + 11s; t += 1s) {
        tls(t);
        EXPECT_TRUE(tick(t).empty()) << "still within the timeout at +" << (t - t0).count() / 1e9;
    }
    tls(t0 + 12s);
    auto changes = tick(t0 + 12s);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_TLS);
    EXPECT_NE(changes[0].evidence.find("TLS busy"), std::string::npos) << changes[0].evidence;
    dtls(t0 + 13s);
    changes = tick(t0 + 13s);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_DTLS) << "DTLS back";
}

// Keepalives only, on both channels, every idle timeout (ocserv's dpd = 10 against
// --dtls-idle-timeout 10), a DTLS one now and then late by most of a second: for two minutes the
// session stays on DTLS. A TLS keepalive is not traffic.
TEST_F(TrackerTest, KeepalivesAtTheTimeoutDoNotFlipAnIdleSession)
{
    dtls(t0 + 1s);
    auto changes = tick(t0 + 1s);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_DTLS);
    for (int period = 1; period <= 12; ++period) {
        const auto at = t0 + 1s + period * 10s;
        tls(at); // the client's keepalive
        tls(at); // its answer to the headend's DPD
        for (auto t = at - 9s; t <= at + 1s; t += 500ms)
            EXPECT_TRUE(tick(t).empty()) << "period " << period << ", +" << (t - t0).count() / 1e9 << " s";
        dtls(at + (period % 3 == 0 ? 900ms : 0ms)); // now and then late
    }
}

// DTLS cut in the middle of a session while the client keeps sending, now over TLS: the session
// is on TLS at the first look after the timeout, and the evidence counts what TLS carried.
TEST_F(TrackerTest, DtlsCutMidSessionIsTlsAfterTheTimeout)
{
    for (auto t = t0 + 1s; t <= t0 + 30s; t += 1s) {
        dtls(t);
        tls(t);
        tick(t);
    }
    for (auto t = t0 + 31s; t <= t0 + 40s; t += 500ms) {
        for (int i = 0; i < 5; ++i)
            tls(t);
        EXPECT_TRUE(tick(t).empty()) << "within the timeout at +" << (t - t0).count() / 1e9;
    }
    tls(t0 + 40500ms);
    auto changes = tick(t0 + 40500ms);
    ASSERT_EQ(changes.size(), 1u) << "DTLS last seen at +30 s, the timeout 10 s";
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_TLS);
    EXPECT_NE(changes[0].evidence.find("TLS busy (96 segments from the client since DTLS was last seen"),
              std::string::npos)
        << changes[0].evidence;
}

TEST_F(TrackerTest, AnIdleSessionKeepsItsTransport)
{
    dtls(t0 + 1s);
    tick(t0 + 1s);
    EXPECT_TRUE(tick(t0 + 60s).empty()) << "neither channel busy: nothing proves a fallback";
}

TEST_F(TrackerTest, AFreshTrackerDoesNotReadMissingHistoryAsAFallback)
{
    tls(t0 + 5s); // TLS busy, no DTLS seen yet: the daemon has only just started
    EXPECT_TRUE(tick(t0 + 5s).empty());
    for (int i = 0; i < 10; ++i)
        tls(t0 + 11s); // traffic on TLS, not only keepalives
    auto changes = tick(t0 + 11s);
    ASSERT_EQ(changes.size(), 1u) << "after a whole timeout of watching";
    EXPECT_EQ(changes[0].transport, MG_TRANSPORT_TLS);
}

TEST_F(TrackerTest, TrackingOffDecidesNothingButCountsReconnects)
{
    TrackerPolicy off = policy();
    off.transport_tracking = false;
    tracker.set_policy(off);
    syn(t0 + 1s);
    dtls(t0 + 1s);
    EXPECT_TRUE(tick(t0 + 1s).empty());
    syn(t0 + 20s);
    tick(t0 + 20s);
    EXPECT_EQ(tracker.summary(t0 + 20s).reconnects, 1u);
}

TEST_F(TrackerTest, NewTlsConnectionsAreReconnectsAfterTheFirstLook)
{
    syn(t0 + 1s); // the session's own connection, before the first look
    tick(t0 + 1s);
    EXPECT_EQ(tracker.summary(t0 + 1s).reconnects, 0u);
    syn(t0 + 30s);
    tick(t0 + 30s);
    syn(t0 + 31s); // a second SYN within the merge window: the same reconnect
    tick(t0 + 31s);
    EXPECT_EQ(tracker.summary(t0 + 31s).reconnects, 1u);
    tracker.reconnect(session, t0 + 32s); // occtl reports it a poll later: still the same
    EXPECT_EQ(tracker.summary(t0 + 32s).reconnects, 1u);
}

TEST_F(TrackerTest, AStormAndThePeriodicSignature)
{
    tick(t0);
    for (int i = 1; i <= 4; ++i) {
        syn(t0 + i * 30s);
        tick(t0 + i * 30s);
    }
    TrackerSummary summary = tracker.summary(t0 + 120s);
    EXPECT_EQ(summary.reconnects, 4u);
    EXPECT_EQ(summary.sessions_in_storm, 1u);
    EXPECT_EQ(summary.periodic_sessions, 1u);
    auto sessions = tracker.sessions(t0 + 120s);
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_TRUE(sessions[0].storm);
    ASSERT_TRUE(sessions[0].typical_interval_seconds);
    EXPECT_DOUBLE_EQ(*sessions[0].typical_interval_seconds, 30.0);
    EXPECT_EQ(sessions[0].recent_intervals_seconds, (std::vector<double>{30.0, 30.0, 30.0}));
    // Quiet for longer than the window: no longer a storm.
    EXPECT_EQ(tracker.summary(t0 + 400s).sessions_in_storm, 0u);
}

// Each reconnect is logged, and a storm and the periodic signature once when they start and once
// when they end, naming the session and its client.
TEST_F(TrackerTest, ReconnectsStormsAndPeriodicReconnectsAreLogged)
{
    tick(t0);
    std::string log = captured_log([&] {
        for (int i = 1; i <= 4; ++i) {
            syn(t0 + i * 30s);
            tick(t0 + i * 30s);
        }
    });
    auto count = [](const std::string &text, const std::string &what) {
        size_t n = 0;
        for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count(log, "reconnect: 10.9.0.50 (client 198.51.100.7)"), 4u) << log;
    EXPECT_EQ(count(log, "reconnect storm started: 10.9.0.50 (client 198.51.100.7)"), 1u) << log;
    EXPECT_EQ(count(log, "periodic reconnects: 10.9.0.50 (client 198.51.100.7), every ~30 s"), 1u) << log;
    log = captured_log([&] { tick(t0 + 400s); });
    EXPECT_EQ(count(log, "reconnect storm ended: 10.9.0.50 (client 198.51.100.7)"), 1u) << log;
    EXPECT_EQ(count(log, "no longer reconnecting periodically: 10.9.0.50 (client 198.51.100.7)"), 1u) << log;
}

TEST_F(TrackerTest, ASessionBackAfterEndingIsAReconnectOfItsClient)
{
    tracker.unbind(session, t0 + 10s);
    EXPECT_FALSE(tracker.tracks(session));
    tracker.bind(session, client, MG_SOURCE_OCSERV, t0 + 15s);
    EXPECT_EQ(tracker.summary(t0 + 15s).reconnects, 1u);
    // Long after the window, the client is forgotten: a new session is a first connection.
    tracker.unbind(session, t0 + 20s);
    tick(t0 + 200s);
    tracker.bind(session, client, MG_SOURCE_OCSERV, t0 + 201s);
    EXPECT_EQ(tracker.summary(t0 + 201s).reconnects, 1u);
}

TEST_F(TrackerTest, RoamingMovesTheSessionToItsNewAddress)
{
    const Prefix moved = parse_address("203.0.113.9");
    tracker.bind(session, moved, MG_SOURCE_ASA, t0 + 5s);
    auto sessions = tracker.sessions(t0 + 5s);
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_EQ(sessions[0].public_address.to_string(), "203.0.113.9");
    EXPECT_EQ(sessions[0].source, MG_SOURCE_ASA);
}

// Connections and early reconnects: with early_reconnect 60 s, sessions are seen starting once
// the tracker has run for 60 s; before that they may have been up long before.
class EarlyReconnectTest : public TrackerTest {
protected:
    EarlyReconnectTest()
    {
        TrackerPolicy p = policy();
        p.storm.early_reconnect = 60s;
        tracker.set_policy(p);
        tick(t0); // the first look: the SYN baseline
    }
    TrackerSummary at(Clock::time_point now) { return tracker.summary(now); }
    const Prefix other_session = parse_address("10.9.0.51");
    const Prefix other_client = parse_address("198.51.100.8");
};

TEST_F(EarlyReconnectTest, ASessionFoundAtStartIsNoConnectionAndItsFirstReconnectIsNotJudged)
{
    // The fixture's session, bound at t0: its start is unknown.
    EXPECT_EQ(at(t0).connections, 0u);
    tracker.reconnect(session, t0 + 30s);
    EXPECT_EQ(at(t0 + 30s).reconnects, 1u);
    EXPECT_EQ(at(t0 + 30s).connections, 1u);
    EXPECT_EQ(at(t0 + 30s).early_reconnects, 0u);
    // The reconnect started a connection the tracker saw: the next one is judged against it.
    tracker.reconnect(session, t0 + 89s);
    EXPECT_EQ(at(t0 + 89s).early_reconnects, 1u);
    EXPECT_EQ(at(t0 + 89s).connections, 2u);
}

TEST_F(EarlyReconnectTest, OneReconnectASecondBeforeTheLimitIsEarlyOneASecondAfterIsNot)
{
    tracker.bind(other_session, other_client, MG_SOURCE_OCSERV, t0 + 100s);
    EXPECT_EQ(at(t0 + 100s).connections, 1u);
    tracker.reconnect(other_session, t0 + 159s); // 59 s after its start
    TrackerSummary s = at(t0 + 159s);
    EXPECT_EQ(s.reconnects, 1u);
    EXPECT_EQ(s.early_reconnects, 1u);
    EXPECT_EQ(s.connections, 2u);
    EXPECT_EQ(s.sessions_in_storm, 0u);
    EXPECT_EQ(s.periodic_sessions, 0u);
    tracker.reconnect(other_session, t0 + 220s); // 61 s after the reconnect's start
    s = at(t0 + 220s);
    EXPECT_EQ(s.reconnects, 2u);
    EXPECT_EQ(s.early_reconnects, 1u);
    EXPECT_EQ(s.connections, 3u);
    auto sessions = tracker.sessions(t0 + 220s);
    ASSERT_EQ(sessions.size(), 2u);
    EXPECT_EQ(sessions[0].session, session);
    EXPECT_EQ(sessions[0].early_reconnects, 0u);
    EXPECT_EQ(sessions[1].early_reconnects, 1u);
}

TEST_F(EarlyReconnectTest, ANewTlsConnectionSoonAfterTheStartIsEarly)
{
    const Prefix second = parse_address("10.9.0.52"); // the same client's IPv4 and IPv6: one connection
    tracker.unbind(session, t0 + 1s);
    tick(t0 + 200s); // the client is forgotten
    tracker.bind(session, client, MG_SOURCE_OCSERV, t0 + 201s);
    tracker.bind(second, client, MG_SOURCE_OCSERV, t0 + 201s);
    EXPECT_EQ(at(t0 + 201s).connections, 1u);
    tick(t0 + 201s);
    syn(t0 + 230s);
    tick(t0 + 231s);
    EXPECT_EQ(at(t0 + 231s).early_reconnects, 1u);
    EXPECT_EQ(at(t0 + 231s).connections, 2u);
}

TEST_F(EarlyReconnectTest, ASessionBackAfterEndingIsAnEarlyReconnectWhenSoon)
{
    tracker.bind(other_session, other_client, MG_SOURCE_OCSERV, t0 + 100s);
    tracker.unbind(other_session, t0 + 130s);
    tracker.bind(other_session, other_client, MG_SOURCE_OCSERV, t0 + 140s); // 40 s after its start
    const TrackerSummary s = at(t0 + 140s);
    EXPECT_EQ(s.reconnects, 1u);
    EXPECT_EQ(s.early_reconnects, 1u);
    EXPECT_EQ(s.connections, 2u);
}

TEST_F(EarlyReconnectTest, RoamingKeepsTheConnectionsStart)
{
    tracker.bind(other_session, other_client, MG_SOURCE_ASA, t0 + 100s);
    tracker.bind(other_session, parse_address("203.0.113.9"), MG_SOURCE_ASA, t0 + 110s);
    EXPECT_EQ(at(t0 + 110s).connections, 1u); // not a new connection
    tracker.reconnect(other_session, t0 + 150s);
    EXPECT_EQ(at(t0 + 150s).early_reconnects, 1u);
}

TEST_F(EarlyReconnectTest, AReloadedLimitAppliesToTheNextReconnect)
{
    tracker.bind(other_session, other_client, MG_SOURCE_OCSERV, t0 + 100s);
    TrackerPolicy longer = tracker.policy();
    longer.storm.early_reconnect = 120s;
    tracker.set_policy(longer);
    tracker.reconnect(other_session, t0 + 190s); // 90 s: early under 120 s, not under 60 s
    EXPECT_EQ(at(t0 + 190s).early_reconnects, 1u);
}

} // namespace
} // namespace mtuguard
