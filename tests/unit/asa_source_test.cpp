// Unit tests of the ASA syslog session source (userspace/sources/asa_source.cpp) over a recording
// SessionSink: what it keeps of the names a sender chooses, and what reaches the log.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

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

// What the source writes to stderr (the log) while `run` runs.
template <class Run> std::string captured_log(Run run)
{
    std::fflush(stderr);
    char path[] = "/tmp/mtuguard-log-XXXXXX";
    const int file = mkstemp(path);
    const int saved = dup(STDERR_FILENO);
    dup2(file, STDERR_FILENO);
    run();
    std::fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(file);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    return text.str();
}

} // namespace

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
