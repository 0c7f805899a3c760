// Unit tests of the ocserv session source (userspace/sources/ocserv_source.cpp) over a recording
// SessionSink: how each list occtl gives becomes session operations, and what happens when the
// sink refuses one.
#include <gtest/gtest.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "recording_sink.hpp"
#include "sources/ocserv_source.hpp"

using namespace mtuguard;

namespace {

OcctlUser user(const std::string &id, const std::string &address, uint32_t mtu)
{
    OcctlUser u;
    u.id = id;
    u.username = "user" + id;
    u.ipv4 = parse_prefix(address);
    u.mtu = mtu;
    u.full_session = "session" + id;
    u.connected_at = "1700000000";
    return u;
}

OcctlUsers three_users()
{
    OcctlUsers list;
    for (int i = 1; i <= 3; ++i)
        list.users.push_back(user(std::to_string(i), "10.9.0." + std::to_string(i), 1434));
    return list;
}

} // namespace

// With the map full, every session of the list is tried, none is taken for made, and the next
// list after room was made adds them all; no session is deleted for having failed.
TEST(OcservSource, SessionsRefusedByAFullMapAreTriedAgainWithTheNextList)
{
    RecordingSink sink;
    Config config;
    OcservSource source(config, sink);
    sink.full = true;
    source.apply(three_users());
    EXPECT_EQ(sink.added, (std::vector<std::string>{"10.9.0.1", "10.9.0.2", "10.9.0.3"}));
    EXPECT_TRUE(sink.deleted.empty());

    sink.full = false;
    sink.added.clear();
    source.apply(three_users());
    EXPECT_EQ(sink.added, (std::vector<std::string>{"10.9.0.1", "10.9.0.2", "10.9.0.3"}));
    EXPECT_EQ(sink.held.size(), 3u);
}

// A session whose change is refused keeps what it had: not deleted, and tried again.
TEST(OcservSource, AChangeRefusedKeepsTheSessionAndIsTriedAgain)
{
    RecordingSink sink;
    Config config;
    OcservSource source(config, sink);
    source.apply(three_users());
    ASSERT_EQ(sink.held.size(), 3u);

    OcctlUsers smaller = three_users();
    smaller.users[1].mtu = 1234; // the outer path shrank: ocserv lowered the tun MTU
    sink.full = true;
    sink.added.clear();
    source.apply(smaller);
    EXPECT_EQ(sink.added, std::vector<std::string>{"10.9.0.2"});
    EXPECT_TRUE(sink.deleted.empty()) << "a refused change is not a session gone";

    sink.full = false;
    sink.added.clear();
    source.apply(smaller);
    EXPECT_EQ(sink.added, std::vector<std::string>{"10.9.0.2"}) << "tried again";
    EXPECT_TRUE(sink.deleted.empty());
}

// Each session keeps its user and group, and the MTU ocserv announced when the session was first
// seen: when ocserv lowers the tun's MTU later, the client keeps the first one (client_mtu), so
// the session reads as in mismatch.
TEST(OcservSource, SessionsKeepTheirOwnerAndTheMtuAtFirstSight)
{
    RecordingSink sink;
    Config config;
    OcservSource source(config, sink);
    OcctlUsers list = three_users();
    list.users[0].groupname = "engineering";
    list.users[1].groupname = "(none)";
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 3u);
    EXPECT_EQ(sink.specs[0].user, "user1");
    EXPECT_EQ(sink.specs[0].group, "engineering");
    EXPECT_EQ(sink.specs[1].group, "") << "ocserv's (none) is no group";
    EXPECT_EQ(sink.specs[0].client_mtu, 1434);

    list.users[0].mtu = 1234; // the outer path shrank: ocserv lowered the tun MTU
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 4u);
    EXPECT_EQ(sink.specs[3].session.dtls_mtu, 1234);
    EXPECT_EQ(sink.specs[3].client_mtu, 1434) << "the client keeps what it was given at connect";
    EXPECT_EQ(sink.specs[3].client_applies(), 1434);

    list.users[0].username = "renamed";
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 5u) << "a changed owner is written";
    EXPECT_EQ(sink.specs[4].user, "renamed");
    EXPECT_EQ(sink.specs[4].client_mtu, 1434);
}

// A new session starts on DTLS only when occtl lists a DTLS cipher for it: without one, DTLS
// never came up and the client rides TLS.
TEST(OcservSource, ANewSessionStartsOnTheTransportOcctlKnows)
{
    RecordingSink sink;
    Config config;
    OcservSource source(config, sink);
    OcctlUsers list = three_users();
    list.users[0].dtls_cipher = "(DTLS1.2)-(ECDHE-RSA)-(AES-256-GCM)";
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 3u);
    EXPECT_EQ(sink.specs[0].session.transport, MG_TRANSPORT_DTLS) << "a DTLS cipher: DTLS came up";
    EXPECT_EQ(sink.specs[1].session.transport, MG_TRANSPORT_TLS) << "no DTLS cipher: on TLS";
    EXPECT_TRUE(sink.transports.empty());

    list.users[1].dtls_cipher = "(DTLS1.2)-(ECDHE-RSA)-(AES-256-GCM)";
    source.apply(list);
    EXPECT_EQ(sink.transports, (std::vector<std::string>{"10.9.0.2 dtls"})) << "DTLS came up later: switched once";
    source.apply(list);
    EXPECT_EQ(sink.transports.size(), 1u) << "the cipher stays listed after a fallback: no switch again";
}

// The MTU at first sight belongs to one ocserv session (its "Full session"): a reconnect of it
// keeps it (vpnc-script leaves the client's tun device as connect set it up), another session
// given the same address between two lists has its own, and a session adopted from the pins keeps
// the pinned one.
TEST(OcservSource, TheMtuAtFirstSightBelongsToTheOcservSessionNotTheAddress)
{
    RecordingSink sink;
    Config config;
    OcservSource source(config, sink);
    OcctlUsers list;
    list.users.push_back(user("1", "10.9.0.1", 1434));
    source.apply(list);
    list.users[0].mtu = 1234; // ocserv lowered the tun MTU
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 2u);
    EXPECT_EQ(sink.specs[1].client_mtu, 1434);

    list.users[0].id = "2"; // the same session reconnected
    list.users[0].connected_at = "1700000100";
    list.users[0].mtu = 1300;
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 3u);
    EXPECT_EQ(sink.specs[2].client_mtu, 1434) << "a reconnect keeps the tun device the client set up at connect";

    list.users[0].id = "3"; // openconnect started again: a new session, given the same address and MTU
    list.users[0].full_session = "session3";
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 4u) << "only the client's MTU changed, and it is written";
    EXPECT_EQ(sink.specs[3].client_mtu, 1300);

    list.users[0] = user("4", "10.9.0.1", 1400); // she left, bob took her address
    list.users[0].username = "bob";
    source.apply(list);
    ASSERT_EQ(sink.specs.size(), 5u);
    EXPECT_EQ(sink.specs[4].user, "bob");
    EXPECT_EQ(sink.specs[4].client_mtu, 1400) << "another session's client applies what it was given";
    EXPECT_EQ(sink.specs[4].client_applies(), 1400);

    // A restarted daemon: the session comes from the pins, with no ocserv session of its own.
    RecordingSink restarted;
    SessionSpec pinned = sink.specs[4];
    pinned.session.dtls_mtu = pinned.session.tls_mtu = 1234;
    pinned.client_mtu = 1434;
    restarted.pinned.push_back(pinned);
    OcservSource again(config, restarted);
    list.users[0].mtu = 1300;
    again.apply(list);
    ASSERT_EQ(restarted.specs.size(), 1u);
    EXPECT_EQ(restarted.specs[0].client_mtu, 1434) << "the pinned MTU at first sight is kept";
}

// The daemon blocks its stop and reload signals in every thread (signalfd); occtl must not
// inherit that mask, or a SIGTERM sent to a hung occtl would never end it.
TEST(OcservSource, OcctlRunsWithNoSignalBlocked)
{
    char dir_template[] = "/tmp/mtuguard-occtl-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template, script = dir + "/occtl", mask = dir + "/mask";
    {
        std::ofstream out(script);
        // Python, not sh: dash clears its signal mask when it starts.
        out << "#!/usr/bin/python3\n"
            << "status = [l for l in open('/proc/self/status') if l.startswith('SigBlk')]\n"
            << "open('" << mask << "', 'w').write(status[0])\n"
            << "print('[]')\n";
    }
    ASSERT_EQ(chmod(script.c_str(), 0755), 0);

    sigset_t blocked, previous;
    sigemptyset(&blocked);
    for (int signal : {SIGINT, SIGTERM, SIGHUP})
        sigaddset(&blocked, signal);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &previous), 0);

    RecordingSink sink;
    Config config;
    config.occtl = script;
    OcservSource source(config, sink);
    source.on_tick(SteadyClock::now());
    ASSERT_GE(source.fd(), 0) << "occtl started";
    for (int i = 0; i < 100 && source.fd() >= 0; ++i) {
        pollfd p{source.fd(), POLLIN, 0};
        poll(&p, 1, 100);
        source.on_readable();
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    EXPECT_EQ(source.fd(), -1) << "occtl finished";

    std::ifstream in(mask);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "SigBlk:\t0000000000000000");
    std::filesystem::remove_all(dir);
}
