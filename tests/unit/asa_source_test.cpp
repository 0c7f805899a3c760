// Unit tests of the ASA syslog session source (userspace/sources/asa_source.cpp) over a recording
// SessionSink: what it keeps of the names a sender chooses, and what reaches the log.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "captured_log.hpp"
#include "recording_sink.hpp"
#include "sources/asa_source.hpp"

using namespace mtuguard;

namespace {

std::string assigned(const std::string &group, const std::string &user, const std::string &address)
{
    return "<166>Nov 22 2026 10:00:02: %ASA-vpn-4-722051: Group <" + group + "> User <" + user +
           "> IP <198.51.100.7> IPv4 Address <" + address + "> IPv6 address <::> assigned to session";
}

Config asa_config(uint32_t max_sessions)
{
    Config config;
    config.syslog_listen = "127.0.0.1:0"; // any free port: the test calls handle() itself
    config.max_sessions = max_sessions;
    config.asa_groups["vpn"] = parse_session_parameters("dtls-mtu=1418,tls-mtu=1347");
    return config;
}

std::string large_packet(const std::string &user, unsigned threshold)
{
    return "<166>Nov 22 2026 10:00:03: %ASA-6-722036: Group <vpn> User <" + user +
           "> IP <198.51.100.7> Transmitting large packet 1418 (threshold " + std::to_string(threshold) + ").";
}

} // namespace

// A group without --asa-group takes the MTUs of the --session pool prefix that covers the
// address (the longest), else the '*' group's, else no session is made.
TEST(AsaSource, AGroupWithoutMtusTakesThePoolPrefixThatCoversTheAddress)
{
    RecordingSink sink;
    Config config = asa_config(10);
    config.sessions = {parse_session_spec("10.1.0.0/16,dtls-mtu=1400,tls-mtu=1300"),
                       parse_session_spec("10.1.75.0/24,dtls-mtu=1418,tls-mtu=1347")};
    AsaSyslogSource source(config, sink);
    source.handle(assigned("guests", "bob", "10.1.75.9"));
    source.handle(assigned("guests", "carol", "10.1.2.3"));
    std::string log = captured_log([&] { source.handle(assigned("guests", "dave", "10.2.0.1")); });
    ASSERT_EQ(sink.added, (std::vector<std::string>{"10.1.75.9", "10.1.2.3"}));
    EXPECT_EQ(sink.specs[0].session.dtls_mtu, 1418) << "the /24, the longest prefix";
    EXPECT_EQ(sink.specs[0].session.tls_mtu, 1347);
    EXPECT_EQ(sink.specs[1].session.dtls_mtu, 1400) << "the /16";
    EXPECT_EQ(sink.specs[1].session.tls_mtu, 1300);
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogNoMtu)], 1u) << "10.2.0.1: no pool, no '*'";
    EXPECT_NE(log.find("group 'guests' has no --asa-group (nor '*'), and no --session pool prefix covers"),
              std::string::npos)
        << log;

    config.asa_groups["*"] = parse_session_parameters("dtls-mtu=1300,tls-mtu=1200");
    source.handle(assigned("guests", "dave", "10.2.0.1"));
    ASSERT_EQ(sink.added.back(), "10.2.0.1");
    EXPECT_EQ(sink.specs.back().session.dtls_mtu, 1300) << "outside every pool: the '*' group";
}

// 722036 names the MTU the headend enforces for the session: enforced at once on TLS; the same
// threshold again changes nothing; a later one replaces it; one not below the DTLS MTU is not
// applied; the session's end clears it (the next session starts from the group's MTUs).
TEST(AsaSource, TheHeadendsThresholdIsEnforcedForItsSession)
{
    RecordingSink sink;
    const Config config = asa_config(10);
    AsaSyslogSource source(config, sink);
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    ASSERT_EQ(sink.specs.size(), 1u);
    EXPECT_EQ(sink.specs[0].session.tls_mtu, 1347);

    std::string log = captured_log([&] { source.handle(large_packet("alice", 1300)); });
    ASSERT_EQ(sink.specs.size(), 2u);
    EXPECT_EQ(sink.specs[1].prefix.to_string(), "10.8.0.5");
    EXPECT_EQ(sink.specs[1].session.tls_mtu, 1300);
    EXPECT_EQ(sink.specs[1].session.dtls_mtu, 1418);
    EXPECT_EQ(sink.specs[0].headend_mtu, 0) << "no threshold before the headend reports one";
    EXPECT_EQ(sink.specs[1].headend_mtu, 1300) << "the threshold, kept with the session";
    EXPECT_EQ(sink.specs[1].user, "alice") << "the owner kept through the update";
    EXPECT_EQ(sink.transports, (std::vector<std::string>{"10.8.0.5 tls"})) << "switched to TLS after the update";
    EXPECT_NE(log.find("the headend enforces 1300 for 10.8.0.5 (user 'alice', group 'vpn')"), std::string::npos) << log;
    EXPECT_EQ(sink.counts[size_t(SourceEvent::HeadendOversizeOut)], 1u);

    source.handle(large_packet("alice", 1300));
    EXPECT_EQ(sink.specs.size(), 2u) << "the same threshold again";
    source.handle(large_packet("alice", 1250));
    ASSERT_EQ(sink.specs.size(), 3u);
    EXPECT_EQ(sink.specs[2].session.tls_mtu, 1250) << "a later threshold replaces it";
    EXPECT_EQ(sink.specs[2].headend_mtu, 1250);
    log = captured_log([&] { source.handle(large_packet("alice", 1418)); });
    EXPECT_EQ(sink.specs.size(), 3u);
    EXPECT_NE(log.find("not below its DTLS MTU 1418"), std::string::npos) << log;
    source.handle(large_packet("bob", 1200));
    EXPECT_EQ(sink.specs.size(), 3u) << "no session of bob's";
    EXPECT_EQ(sink.counts[size_t(SourceEvent::HeadendOversizeOut)], 5u) << "every report counted";

    source.handle("<166>Nov 22 2026 10:00:09: %ASA-4-722038: Group <vpn> User <alice> IP <198.51.100.7> SVC "
                  "terminating session: User Requested.");
    EXPECT_EQ(sink.deleted, (std::vector<std::string>{"10.8.0.5"}));
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    EXPECT_EQ(sink.specs.back().session.tls_mtu, 1347) << "the session's end cleared it";
    EXPECT_EQ(sink.specs.back().headend_mtu, 0);
}

// 722051 says whose the session is: user, group and public address go with it; a name is kept
// as session_name() cleans it, whatever the sender put in it.
TEST(AsaSource, ASessionKeepsItsUserGroupAndPublicAddress)
{
    RecordingSink sink;
    Config config = asa_config(10);
    config.asa_groups["*"] = parse_session_parameters("dtls-mtu=1300,tls-mtu=1200");
    AsaSyslogSource source(config, sink);
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    source.handle(assigned("eng\x01", "j\xc3\xa9r\xff" + std::string(80, 'x'), "10.8.0.6"));
    ASSERT_EQ(sink.specs.size(), 2u);
    EXPECT_EQ(sink.specs[0].user, "alice");
    EXPECT_EQ(sink.specs[0].group, "vpn");
    ASSERT_TRUE(sink.specs[0].public_address);
    EXPECT_EQ(sink.specs[0].public_address->to_string(), "198.51.100.7");
    EXPECT_EQ(sink.specs[0].client_mtu, 0) << "AnyConnect applies the DTLS MTU: no client_mtu of its own";
    EXPECT_EQ(sink.specs[0].client_applies(), 1418);
    EXPECT_EQ(sink.specs[1].group, "eng?");
    EXPECT_EQ(sink.specs[1].user, "j\xc3\xa9r?" + std::string(58, 'x')) << "cleaned and cut at 63 bytes";
}

// The transport follows the SVC channels: a UDP channel is DTLS; a client back over TCP alone
// (722034 / 722032 TCP) is on TLS and reconnected; the UDP channel closing (722037 naming it) is
// TLS; a 722037 that names no channel, or TCP, changes nothing.
TEST(AsaSource, TheTransportFollowsTheSvcChannels)
{
    RecordingSink sink;
    const Config config = asa_config(10);
    AsaSyslogSource source(config, sink);
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    const std::string who = "Group <vpn> User <alice> IP <198.51.100.7> ";
    auto svc = [&](const std::string &id, const std::string &text) {
        source.handle("<166>Nov 22 2026 10:00:04: %ASA-6-" + id + ": " + who + text);
    };
    svc("722033", "First UDP SVC connection established for SVC session.");
    EXPECT_EQ(sink.transports, (std::vector<std::string>{"10.8.0.5 dtls"}));
    svc("722037", "SVC closing connection: DPD failure for UDP.");
    EXPECT_EQ(sink.transports.back(), "10.8.0.5 tls") << "the DTLS channel went away";
    svc("722032", "New UDP SVC connection replacing old connection.");
    EXPECT_EQ(sink.transports.back(), "10.8.0.5 dtls");
    sink.transports.clear();
    svc("722037", "SVC closing connection: Transport closing.");
    svc("722037", "SVC closing connection: DPD failure for TCP.");
    EXPECT_TRUE(sink.transports.empty()) << "no channel named, or TCP: nothing changes yet";
    svc("722034", "New TCP SVC connection, no existing connection.");
    EXPECT_EQ(sink.transports, (std::vector<std::string>{"10.8.0.5 tls"})) << "back over TCP alone";
    svc("722032", "New TCP SVC connection replacing old connection.");
    EXPECT_EQ(sink.transports.back(), "10.8.0.5 tls");
    EXPECT_EQ(sink.reconnects, 2u) << "both TCP reconnects counted";
}

// 602101 names no user, only the packet's destination: the session whose tunnel address it is
// takes the effective MTU as the headend's threshold; another address changes nothing; after the
// session's end its address is no longer known.
TEST(AsaSource, APmtudMessageForASessionsAddressIsItsThreshold)
{
    RecordingSink sink;
    const Config config = asa_config(10);
    AsaSyslogSource source(config, sink);
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    auto pmtud = [&](const std::string &dest, unsigned mtu) {
        source.handle("<166>Nov 22 2026 10:00:05: %ASA-6-602101: PMTU-D packet 1418 bytes greater than effective mtu " +
                      std::to_string(mtu) + ", dest_addr=" + dest + ", src_addr=192.0.2.10, prot=tcp");
    };
    pmtud("10.8.0.99", 1300);
    EXPECT_EQ(sink.specs.size(), 1u) << "not a session's address";
    pmtud("10.8.0.5", 1347);
    ASSERT_EQ(sink.specs.size(), 2u);
    EXPECT_EQ(sink.specs[1].session.tls_mtu, 1347);
    EXPECT_EQ(sink.specs[1].headend_mtu, 1347);
    EXPECT_EQ(sink.transports, (std::vector<std::string>{"10.8.0.5 tls"}));
    EXPECT_EQ(sink.counts[size_t(SourceEvent::HeadendPmtud)], 2u) << "both counted as headend reports";

    source.handle("<166>Nov 22 2026 10:00:09: %ASA-4-722038: Group <vpn> User <alice> IP <198.51.100.7> SVC "
                  "terminating session: User Requested.");
    pmtud("10.8.0.5", 1300);
    EXPECT_EQ(sink.specs.size(), 2u) << "the session ended: its address is no longer known";
}

// Users beyond --max-sessions are refused and counted, not remembered; a user whose session
// ends makes room again.
TEST(AsaSource, UsersBeyondMaxSessionsAreRefusedAndCounted)
{
    RecordingSink sink;
    const Config config = asa_config(2); // the source keeps a reference
    AsaSyslogSource source(config, sink);
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    source.handle(assigned("vpn", "bob", "10.8.0.6"));
    source.handle(assigned("vpn", "carol", "10.8.0.7"));
    EXPECT_EQ(sink.added, (std::vector<std::string>{"10.8.0.5", "10.8.0.6"}));
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogOverLimit)], 1u);
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogApplied)], 2u);

    source.handle(assigned("vpn", "alice", "10.8.0.8")); // a user already kept: not over the limit
    EXPECT_EQ(sink.added.back(), "10.8.0.8");
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogOverLimit)], 1u);
}

// A 722051 whose session the sink refuses leaves nothing behind: the next user still fits.
TEST(AsaSource, AUserWhoseSessionWasNotMadeIsNotKept)
{
    RecordingSink sink;
    const Config config = asa_config(1); // the source keeps a reference
    AsaSyslogSource source(config, sink);
    sink.full = true;
    source.handle(assigned("vpn", "mallory", "10.8.0.9"));
    sink.full = false;
    source.handle(assigned("vpn", "alice", "10.8.0.5"));
    EXPECT_EQ(sink.held, (std::set<std::string>{"10.8.0.5"}));
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogOverLimit)], 0u);
}

// Group names are the sender's: each is named in the log once, and only so many of them.
TEST(AsaSource, GroupsWithoutMtusAreNamedOnceAndBounded)
{
    RecordingSink sink;
    const Config config = asa_config(16); // the source keeps a reference
    AsaSyslogSource source(config, sink);
    const std::string log = captured_log([&] {
        for (int i = 0; i < 3000; ++i)
            source.handle(assigned("g" + std::to_string(i % 2000), "u", "10.8.0.5"));
    });
    size_t lines = 0;
    for (char c : log)
        lines += c == '\n';
    EXPECT_EQ(lines, 1024u);
    EXPECT_NE(log.find("further groups are not named"), std::string::npos);
    EXPECT_EQ(sink.counts[size_t(SourceEvent::SyslogNoMtu)], 3000u);
    EXPECT_TRUE(sink.added.empty());
}

// Control characters in a name never start a log line of their own.
TEST(AsaSource, ControlCharactersInNamesStayInsideTheirLine)
{
    RecordingSink sink;
    const Config config = asa_config(16);
    AsaSyslogSource source(config, sink);
    sink.full = true; // the refusal is logged with the user's name
    const std::string log = captured_log([&] {
        source.handle(assigned("evil\r\x0bmtuguardd: error: forged", "u", "10.8.0.5"));
        source.handle(assigned("vpn", "bob\x1b[2J\x7f\rmtuguardd: info: forged", "10.8.0.6"));
    });
    std::istringstream lines(log);
    std::string line;
    size_t count = 0;
    while (std::getline(lines, line)) {
        ++count;
        EXPECT_EQ(line.rfind("mtuguardd: ", 0), 0u) << line;
        for (char c : line)
            EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
    }
    EXPECT_EQ(count, 2u) << log;
    EXPECT_NE(log.find("evil\\x0d\\x0bmtuguardd: error: forged"), std::string::npos) << log;
    EXPECT_NE(log.find("bob\\x1b[2J\\x7f\\x0dmtuguardd: info: forged"), std::string::npos) << log;
}
