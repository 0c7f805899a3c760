#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sources/asa_syslog.hpp"

using namespace std::string_literals;

namespace mtuguard {
namespace {

AsaMessage ok(const std::string &line)
{
    AsaParse parsed = parse_asa_line(line);
    EXPECT_EQ(parsed.status, AsaParseStatus::ok) << line << "\n -> " << parsed.error;
    EXPECT_EQ(parsed.error, "");
    return parsed.message;
}

void expect_malformed(const std::string &line, const std::string &error)
{
    AsaParse parsed = parse_asa_line(line);
    EXPECT_EQ(parsed.status, AsaParseStatus::malformed) << line;
    EXPECT_EQ(parsed.error, error) << line;
}

std::string addr(const std::optional<Prefix> &prefix)
{
    return prefix ? prefix->to_string() : "none";
}

const std::string kSession = "Group <GroupPolicy_VPN> User <alice> IP <198.51.100.7> ";

TEST(AsaSyslog, AddressAssigned)
{
    AsaMessage m = ok("%ASA-4-722051: Group <GroupPolicy_VPN> User <alice> IP <198.51.100.7> "
                      "IPv4 Address <10.8.0.5> IPv6 address <::> assigned to session");
    EXPECT_EQ(m.id, 722051u);
    EXPECT_EQ(m.severity, 4u);
    EXPECT_EQ(m.event, AsaEvent::address_assigned);
    EXPECT_EQ(m.group, "GroupPolicy_VPN");
    EXPECT_EQ(m.user, "alice");
    EXPECT_EQ(addr(m.public_ip), "198.51.100.7");
    EXPECT_EQ(addr(m.tunnel_v4), "10.8.0.5");
    EXPECT_TRUE(m.tunnel_v4->ipv4);
    EXPECT_EQ(addr(m.tunnel_v6), "none");
    EXPECT_EQ(m.channel, SvcChannel::none);

    m = ok("%ASA-4-722051: Group <g> User <bob> IP <2001:db8:100::9> IPv4 Address <0.0.0.0> "
           "IPv6 Address <2001:db8:8::5> assigned to session.");
    EXPECT_EQ(addr(m.public_ip), "2001:db8:100::9");
    EXPECT_EQ(addr(m.tunnel_v4), "none");
    EXPECT_EQ(addr(m.tunnel_v6), "2001:db8:8::5");

    m = ok("%ASA-4-722051: Group <g> User <u> IP <198.51.100.7> IPv4 Address <10.8.0.5> "
           "IPv6 address <fd00:8::5> assigned to session");
    EXPECT_EQ(addr(m.tunnel_v4), "10.8.0.5");
    EXPECT_EQ(addr(m.tunnel_v6), "fd00:8::5");

    // ASA 8.x: one address, of either family.
    m = ok("%ASA-6-722051: Group <DfltGrpPolicy> User <carol> IP <203.0.113.4> Address <10.8.0.9> "
           "assigned to session");
    EXPECT_EQ(addr(m.tunnel_v4), "10.8.0.9");
    EXPECT_EQ(addr(m.tunnel_v6), "none");
}

TEST(AsaSyslog, AddressAssignedMalformed)
{
    const std::string head = "%ASA-4-722051: " + kSession;
    expect_malformed(head + "IPv4 Address <10.8.0.500> IPv6 address <::> assigned to session",
                     "722051: IPv4 Address '10.8.0.500' is not an address");
    expect_malformed(head + "IPv4 Address <fd00::5> IPv6 address <::> assigned to session",
                     "722051: IPv4 Address 'fd00::5' is not IPv4");
    expect_malformed(head + "IPv4 Address <10.8.0.5> IPv6 address <10.8.0.6> assigned to session",
                     "722051: IPv6 Address '10.8.0.6' is not IPv6");
    expect_malformed(head + "IPv4 Address <0.0.0.0> IPv6 address <::> assigned to session",
                     "722051: assigns neither an IPv4 nor an IPv6 tunnel address");
    expect_malformed(head + "IPv4 Address <10.8.0.5 IPv6 address <::> assigned to session",
                     "722051: IPv4 Address '10.8.0.5 IPv6 address <::' is not an address");
    expect_malformed(head + "IPv4 Address <10.8.0.5> IPv6 address <::> assigned",
                     "722051: expected 'assigned to session' after the addresses, found 'assigned'");
    expect_malformed(head + "IPv4 Address <10.8.0.5> IPv6 addr",
                     "722051: expected 'IPv6 Address <' after the IPv4 address, found 'IPv6 addr'");
    expect_malformed(head + "IPv4 Address <10.8.0.5> IPv6 address <::> assigned to session now",
                     "722051: unexpected text after 'assigned to session': ' now'");
    expect_malformed("%ASA-4-722051: Group <g> User <u> IP <198.51.100.7",
                     "722051: IP <... is not closed by '>'");
    expect_malformed("%ASA-4-722051: Group <g> User <u>", "722051: User <...> is not closed by '> IP <'");
    expect_malformed("%ASA-4-722051: Group <g", "722051: Group <...> is not closed by '> User <'");
    expect_malformed("%ASA-4-722051:", "722051: expected 'Group <' at the start, found end of line");
    expect_malformed("%ASA-4-722051: Group <g> User <u> IP <host.example> Address <10.8.0.5> "
                     "assigned to session",
                     "722051: IP 'host.example' is not an address");
}

TEST(AsaSyslog, SvcChannels)
{
    AsaMessage m = ok("%ASA-6-722033: " + kSession + "First UDP SVC connection established for SVC session.");
    EXPECT_EQ(m.id, 722033u);
    EXPECT_EQ(m.severity, 6u);
    EXPECT_EQ(m.event, AsaEvent::svc_first);
    EXPECT_EQ(m.channel, SvcChannel::udp);
    EXPECT_EQ(m.user, "alice");
    EXPECT_EQ(addr(m.public_ip), "198.51.100.7");
    EXPECT_EQ(ok("%ASA-6-722033: " + kSession + "First TCP SVC connection established for SVC session.").channel,
              SvcChannel::tcp);

    m = ok("%ASA-6-722034: " + kSession + "New TCP SVC connection, no existing connection.");
    EXPECT_EQ(m.event, AsaEvent::svc_new);
    EXPECT_EQ(m.channel, SvcChannel::tcp);
    EXPECT_EQ(ok("%ASA-6-722034: " + kSession + "New UDP SVC connection, no existing connection").channel,
              SvcChannel::udp);

    m = ok("%ASA-6-722032: " + kSession + "New UDP SVC connection replacing old connection.");
    EXPECT_EQ(m.event, AsaEvent::svc_replacing);
    EXPECT_EQ(m.channel, SvcChannel::udp);
    EXPECT_EQ(ok("%ASA-6-722032: " + kSession + "New TCP SVC connection replacing old connection.").channel,
              SvcChannel::tcp);

    expect_malformed("%ASA-6-722033: " + kSession + "First SCTP SVC connection established for SVC session.",
                     "722033: channel 'SCTP' is not TCP or UDP");
    expect_malformed("%ASA-6-722033: " + kSession + "First UDP SVC connection",
                     "722033: expected ' SVC connection established for SVC session' after the channel, "
                     "found ' SVC connection'");
    expect_malformed("%ASA-6-722034: " + kSession + "New UDP SVC connection replacing old connection.",
                     "722034: expected ' SVC connection, no existing connection' after the channel, "
                     "found ' SVC connection replacing old connection.'");
    expect_malformed("%ASA-6-722032: " + kSession + "Old UDP SVC connection replacing old connection.",
                     "722032: expected 'New ' after the public IP, found 'Old UDP SVC connection "
                     "replacing old connection.'");
}

TEST(AsaSyslog, ClosingAndEnd)
{
    AsaMessage m = ok("%ASA-5-722037: " + kSession + "SVC closing connection: DPD failure.");
    EXPECT_EQ(m.event, AsaEvent::svc_closing);
    EXPECT_EQ(m.reason, "DPD failure");
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: Transport closing.").reason,
              "Transport closing");
    EXPECT_EQ(m.channel, SvcChannel::none) << "a reason that names no channel";
    // The channel, where the reason names it.
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: DPD failure for UDP.").channel,
              SvcChannel::udp);
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: DTLS idle timeout.").channel,
              SvcChannel::udp);
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: DPD failure for TCP.").channel,
              SvcChannel::tcp);
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: SSL error; UDP too.").channel,
              SvcChannel::udp)
        << "UDP named anywhere wins: the DTLS channel is gone";
    EXPECT_EQ(ok("%ASA-5-722037: " + kSession + "SVC closing connection: Client UDPX error.").channel,
              SvcChannel::none)
        << "whole words only";

    m = ok("%ASA-4-722038: " + kSession + "SVC terminating session: User Requested.");
    EXPECT_EQ(m.event, AsaEvent::session_end);
    EXPECT_EQ(m.reason, "User Requested");
    EXPECT_EQ(m.group, "GroupPolicy_VPN");

    expect_malformed("%ASA-5-722037: " + kSession + "SVC closing connection:",
                     "722037: SVC closing connection has no reason");
    expect_malformed("%ASA-5-722037: " + kSession + "SVC closing connection: .",
                     "722037: SVC closing connection has no reason");
    expect_malformed("%ASA-4-722038: " + kSession + "SVC terminating",
                     "722038: expected 'SVC terminating session:' after the public IP, found 'SVC terminating'");
}

TEST(AsaSyslog, LargePackets)
{
    AsaMessage m = ok("%ASA-6-722036: " + kSession + "Transmitting large packet 1418 (threshold 1347).");
    EXPECT_EQ(m.event, AsaEvent::large_packet_out);
    EXPECT_EQ(m.packet_len, 1418u);
    EXPECT_EQ(m.threshold, 1347u);

    m = ok("%ASA-6-722035: " + kSession + "Received large packet 1420 (threshold 1347).");
    EXPECT_EQ(m.event, AsaEvent::large_packet_in);
    EXPECT_EQ(m.packet_len, 1420u);
    EXPECT_EQ(m.threshold, 1347u);

    expect_malformed("%ASA-6-722036: " + kSession + "Transmitting large packet abc (threshold 1347).",
                     "722036: packet length 'abc' is not a whole number from 1 to 65535");
    expect_malformed("%ASA-6-722036: " + kSession + "Transmitting large packet 99999 (threshold 1347).",
                     "722036: packet length '99999' is not a whole number from 1 to 65535");
    expect_malformed("%ASA-6-722036: " + kSession + "Transmitting large packet 1418 (threshold -1).",
                     "722036: threshold '-1' is not a whole number from 1 to 65535");
    expect_malformed("%ASA-6-722036: " + kSession + "Transmitting large packet 1418 (threshold 1347",
                     "722036: expected ')' after the threshold, found end of line");
    expect_malformed("%ASA-6-722035: " + kSession + "Received large packet 1418 (thresh 1347).",
                     "722035: expected ' (threshold ' after the packet length, found ' (thresh 1347).'");
    expect_malformed("%ASA-6-722035: " + kSession + "Received large packet",
                     "722035: expected 'Received large packet ' after the public IP, found 'Received large packet'");
    expect_malformed("%ASA-6-722035: " + kSession + "Transmitting large packet 1418 (threshold 1347).",
                     "722035: expected 'Received large packet ' after the public IP, found 'Transmitting large "
                     "packet 1418 (threshold 1347).'");
}

TEST(AsaSyslog, PmtudSent)
{
    AsaMessage m = ok("%ASA-6-602101: PMTU-D packet 1420 bytes greater than effective mtu 1347, "
                      "dest_addr=10.8.0.5, src_addr=192.0.2.10, prot=tcp");
    EXPECT_EQ(m.id, 602101u);
    EXPECT_EQ(m.event, AsaEvent::pmtud_sent);
    EXPECT_EQ(m.packet_len, 1420u);
    EXPECT_EQ(m.threshold, 1347u);
    EXPECT_EQ(addr(m.dest_addr), "10.8.0.5");
    EXPECT_EQ(addr(m.src_addr), "192.0.2.10");
    EXPECT_EQ(m.protocol, "tcp");
    EXPECT_EQ(m.group, "");
    EXPECT_FALSE(m.public_ip);

    // The guide's spacing, upper-case protocol, IPv6.
    m = ok("%ASA-6-602101: PMTU-D packet 1418 bytes greater than effective mtu 1347 "
           "dest_addr=2001:db8:8::5 , src_addr=2001:db8:1::10 , prot=TCP");
    EXPECT_EQ(addr(m.dest_addr), "2001:db8:8::5");
    EXPECT_EQ(addr(m.src_addr), "2001:db8:1::10");
    EXPECT_EQ(m.protocol, "tcp");

    const std::string head = "%ASA-6-602101: PMTU-D packet 1420 bytes greater than effective mtu 1347, ";
    expect_malformed(head + "dest_addr=10.8.0, src_addr=192.0.2.10, prot=tcp",
                     "602101: dest_addr '10.8.0' is not an address");
    expect_malformed(head + "src_addr=192.0.2.10, prot=tcp", "602101: dest_addr is missing");
    expect_malformed(head + "dest_addr=10.8.0.5, prot=tcp", "602101: src_addr is missing");
    expect_malformed(head + "dest_addr=10.8.0.5, src_addr=192.0.2.10", "602101: prot is missing");
    expect_malformed(head + "dest_addr=10.8.0.5, src_addr=192.0.2.10, prot=",
                     "602101: prot is empty");
    expect_malformed(head + "dest_addr=10.8.0.5 garbage",
                     "602101: expected key=value after the effective mtu, found 'garbage'");
    expect_malformed("%ASA-6-602101: PMTU-D packet 1420 bytes greater than effective mtu",
                     "602101: expected ' bytes greater than effective mtu ' after the packet length, "
                     "found ' bytes greater than effective mtu'");
    expect_malformed("%ASA-6-602101: PMTU-D packet big bytes greater than effective mtu 1347",
                     "602101: packet length 'big' is not a whole number from 1 to 65535");
}

TEST(AsaSyslog, DtlsDisabledAndRoaming)
{
    AsaMessage m = ok("%ASA-3-722043: " + kSession + "DTLS disabled: unable to negotiate cipher.");
    EXPECT_EQ(m.event, AsaEvent::dtls_disabled);
    EXPECT_EQ(m.severity, 3u);
    EXPECT_EQ(m.reason, "unable to negotiate cipher");

    m = ok("%ASA-4-716058: " + kSession + "AnyConnect session lost connection. Waiting to resume.");
    EXPECT_EQ(m.event, AsaEvent::connection_lost);
    EXPECT_EQ(addr(m.public_ip), "198.51.100.7");
    EXPECT_EQ(ok("%ASA-6-716058: " + kSession + "Secure Client session lost connection. Waiting to resume.").event,
              AsaEvent::connection_lost);

    m = ok("%ASA-6-716059: " + kSession + "AnyConnect session resumed connection from IP <203.0.113.50>.");
    EXPECT_EQ(m.event, AsaEvent::connection_resumed);
    EXPECT_EQ(addr(m.public_ip), "198.51.100.7");
    EXPECT_EQ(addr(m.resumed_from), "203.0.113.50");

    expect_malformed("%ASA-3-722043: " + kSession + "DTLS disabled:", "722043: DTLS disabled has no reason");
    expect_malformed("%ASA-4-716058: " + kSession + "AnyConnect session lost",
                     "716058: connection lost message is not closed by 'session lost connection'");
    expect_malformed("%ASA-4-716058: " + kSession + "AnyConnect session lost connection. Giving up.",
                     "716058: expected 'Waiting to resume' after 'session lost connection', found 'Giving up.'");
    expect_malformed("%ASA-6-716059: " + kSession + "AnyConnect session resumed connection from IP <203.0.113.50",
                     "716059: from IP <... is not closed by '>'");
    expect_malformed("%ASA-6-716059: " + kSession + "AnyConnect session resumed connection from IP <nowhere>.",
                     "716059: resumed from IP 'nowhere' is not an address");
}

TEST(AsaSyslog, SyslogPrefixes)
{
    const std::string body = "%ASA-6-722036: " + kSession + "Transmitting large packet 1418 (threshold 1347).";
    const std::vector<std::string> prefixes = {
        "",
        "<166>Nov 22 10:00:00 asa1 : ",
        "<166>1 2026-11-22T10:00:00Z asa1 - - - ",
        "<166>1 2026-11-22T10:00:00.123+01:00 asa1.example.net - - - ",
        "<166>Nov 22 2026 10:00:00: ",
        "Nov 22 2026 10:00:00 asa1 : ",
        "<166>: 2026 Nov 22 10:00:00 UTC: ",
    };
    for (const auto &prefix : prefixes) {
        AsaMessage m = ok(prefix + body);
        EXPECT_EQ(m.id, 722036u) << prefix;
        EXPECT_EQ(m.packet_len, 1418u) << prefix;
        EXPECT_EQ(m.threshold, 1347u) << prefix;
        EXPECT_EQ(m.user, "alice") << prefix;
    }
    // Trailing line ends and a message class; FTD.
    EXPECT_EQ(ok(body + "\r\n").threshold, 1347u);
    EXPECT_EQ(ok("<166>%ASA-vpn-6-722036: " + kSession + "Transmitting large packet 1418 (threshold 1347).")
                  .packet_len,
              1418u);
    EXPECT_EQ(ok("<166>Nov 22 10:00:00 ftd1 : %FTD-6-722036: " + kSession +
                 "Transmitting large packet 1418 (threshold 1347).")
                  .packet_len,
              1418u);
}

TEST(AsaSyslog, NamesWithSpacesAndBrackets)
{
    AsaMessage m = ok("%ASA-6-722036: Group <Remote Staff> User <CN=Alice Liddell,OU=VPN> "
                      "IP <198.51.100.7> Transmitting large packet 1418 (threshold 1347).");
    EXPECT_EQ(m.group, "Remote Staff");
    EXPECT_EQ(m.user, "CN=Alice Liddell,OU=VPN");
    m = ok("%ASA-6-722036: Group <a<b> User <x>y> IP <198.51.100.7> Transmitting large packet 1418 "
           "(threshold 1347).");
    EXPECT_EQ(m.group, "a<b");
    EXPECT_EQ(m.user, "x>y");
    m = ok("%ASA-6-722036: Group <> User <> IP <::ffff:198.51.100.7> Transmitting large packet 1418 "
           "(threshold 1347).");
    EXPECT_EQ(m.group, "");
    EXPECT_EQ(m.user, "");
    ASSERT_TRUE(m.public_ip);
    EXPECT_TRUE(m.public_ip->ipv4);
}

TEST(AsaSyslog, IgnoredAndNotAsa)
{
    AsaParse parsed = parse_asa_line("<166>Nov 22 10:00:00 asa1 : %ASA-6-302013: Built inbound TCP "
                                     "connection 1 for outside:198.51.100.7/443");
    EXPECT_EQ(parsed.status, AsaParseStatus::ignored);
    EXPECT_EQ(parsed.message.id, 302013u);
    EXPECT_EQ(parsed.message.severity, 6u);
    EXPECT_EQ(parsed.error, "");

    EXPECT_EQ(parse_asa_line("%ASA-4-722041: TunnelGroup <t> GroupPolicy <g> User <u> IP <a> No IPv6 "
                             "address available for SVC connection")
                  .status,
              AsaParseStatus::ignored);

    for (const std::string line : {"", "hello world", "<13>Nov 22 10:00:00 host sshd[1]: Accepted",
                                   "%ASA", "%ASA-", "%ASA-6-", "%ASA-6-72203", "%ASA-6-722036",
                                   "%ASA-8-722036: x", "%ASA-6-7220361: x", "%ASA-x-722036: x",
                                   "%asa-6-722036: x", "%ASA-vpn6-722036: x", "%PIX-6-722036 x",
                                   "100%ASA-6-72203a: x"}) {
        AsaParse junk = parse_asa_line(line);
        EXPECT_EQ(junk.status, AsaParseStatus::not_asa) << line;
        EXPECT_EQ(junk.error, "no %ASA-<severity>-<id>: marker") << line;
    }
    // The first real marker counts, even after a false start.
    EXPECT_EQ(parse_asa_line("50% %ASA-x %ASA-6-722036: " + kSession +
                             "Transmitting large packet 1418 (threshold 1347).")
                  .status,
              AsaParseStatus::ok);
}

TEST(AsaSyslog, TruncatedLinesAreNeverOk)
{
    // A line cut anywhere gives not_asa or malformed with a reason, never a half-read ok. The
    // only cuts that still read fine are the final '.' and the tail of the last free-form value.
    struct Case {
        std::string line;
        size_t tolerated_tail; // bytes at the end whose loss leaves a valid message
    };
    const std::vector<Case> cases = {
        {"%ASA-4-722051: " + kSession + "IPv4 Address <10.8.0.5> IPv6 address <fd00::5> assigned to session", 0},
        {"%ASA-6-722036: " + kSession + "Transmitting large packet 1418 (threshold 1347).", 1},
        {"%ASA-6-716059: " + kSession + "AnyConnect session resumed connection from IP <203.0.113.50>.", 1},
        {"%ASA-6-602101: PMTU-D packet 1420 bytes greater than effective mtu 1347, dest_addr=10.8.0.5, "
         "src_addr=192.0.2.10, prot=tcp", 2},
    };
    for (const auto &c : cases) {
        for (size_t length = 0; length + c.tolerated_tail < c.line.size(); ++length) {
            AsaParse parsed = parse_asa_line(c.line.substr(0, length));
            EXPECT_NE(parsed.status, AsaParseStatus::ok) << c.line.substr(0, length);
            EXPECT_NE(parsed.error, "") << c.line.substr(0, length);
        }
    }
}

TEST(AsaSyslog, Names)
{
    EXPECT_STREQ(asa_event_name(AsaEvent::pmtud_sent), "pmtud_sent");
    EXPECT_STREQ(asa_event_name(AsaEvent::connection_resumed), "connection_resumed");
    EXPECT_STREQ(asa_status_name(AsaParseStatus::malformed), "malformed");
    EXPECT_STREQ(asa_status_name(AsaParseStatus::not_asa), "not_asa");
}

struct Framed {
    std::vector<std::string> messages;
    uint64_t oversize = 0, malformed = 0;
    size_t most_buffered = 0;

    bool operator==(const Framed &) const = default;
};

// Feeds `stream` in chunks of `chunk` bytes (0: all at once).
Framed frame(const std::string &stream, size_t chunk = 0, size_t max_message = 8192)
{
    SyslogFramer framer(max_message);
    Framed out;
    auto sink = [&](std::string_view message) { out.messages.emplace_back(message); };
    if (chunk == 0)
        chunk = stream.size() ? stream.size() : 1;
    for (size_t at = 0; at < stream.size(); at += chunk) {
        framer.feed(std::string_view(stream).substr(at, chunk), sink);
        out.most_buffered = std::max(out.most_buffered, framer.buffered());
    }
    out.oversize = framer.oversize();
    out.malformed = framer.malformed();
    EXPECT_EQ(framer.messages(), out.messages.size());
    return out;
}

std::string counted(const std::string &message)
{
    return std::to_string(message.size()) + " " + message;
}

const std::string kLine1 = "<166>Nov 22 10:00:00 asa1 : %ASA-6-722036: Group <g> User <alice> "
                           "IP <198.51.100.7> Transmitting large packet 1418 (threshold 1347).";
const std::string kLine2 = "<166>1 2026-11-22T10:00:01Z asa1 - - - %ASA-6-602101: PMTU-D packet 1418 "
                           "bytes greater than effective mtu 1347, dest_addr=10.8.0.5, "
                           "src_addr=192.0.2.10, prot=tcp";
const std::string kLine3 = "%ASA-6-722032: Group <g> User <bob> IP <203.0.113.4> New TCP SVC "
                           "connection replacing old connection.";

TEST(SyslogFramer, NewlineFraming)
{
    Framed f = frame(kLine1 + "\n" + kLine2 + "\r\n" + kLine3 + "\0\n"s + "\n\n");
    EXPECT_EQ(f.messages, (std::vector<std::string>{kLine1, kLine2, kLine3}));
    EXPECT_EQ(f.oversize, 0u);
    EXPECT_EQ(f.malformed, 0u);
    for (const auto &m : f.messages)
        EXPECT_EQ(parse_asa_line(m).status, AsaParseStatus::ok) << m;
}

TEST(SyslogFramer, OctetCounting)
{
    // A counted message may hold a newline; it is part of the message, not a frame end.
    const std::string with_newline = "<166>first line\nsecond line";
    Framed f = frame(counted(kLine1) + counted(kLine2) + counted(with_newline));
    EXPECT_EQ(f.messages, (std::vector<std::string>{kLine1, kLine2, with_newline}));
    EXPECT_EQ(f.malformed, 0u);
}

TEST(SyslogFramer, MixedFramingAndStrayLineEnds)
{
    // Some senders put a newline after an octet-counted message too.
    const std::string stream = counted(kLine1) + "\n" + kLine2 + "\n" + counted(kLine3 + "\n") +
                               "\r\n\0"s + kLine1 + "\n";
    Framed f = frame(stream);
    EXPECT_EQ(f.messages, (std::vector<std::string>{kLine1, kLine2, kLine3, kLine1}));
    EXPECT_EQ(f.malformed, 0u);
    EXPECT_EQ(f.oversize, 0u);
}

TEST(SyslogFramer, AnyChunkingGivesTheSameMessages)
{
    const std::string stream = counted(kLine1) + kLine2 + "\n" + "12x garbage\n" + counted(kLine3) +
                               std::string(300, 'z') + "\n" + counted(std::string(400, 'y')) +
                               kLine1 + "\r\n" + "0 zero count\n" + counted(kLine2);
    Framed whole = frame(stream, 0, 256);
    EXPECT_EQ(whole.messages, (std::vector<std::string>{kLine1, kLine2, kLine3, kLine1, kLine2}));
    EXPECT_EQ(whole.oversize, 2u);
    EXPECT_EQ(whole.malformed, 2u);
    for (size_t chunk : {1, 2, 3, 7, 64, 255, 1000}) {
        Framed split = frame(stream, chunk, 256);
        EXPECT_EQ(split.messages, whole.messages) << chunk;
        EXPECT_EQ(split.oversize, whole.oversize) << chunk;
        EXPECT_EQ(split.malformed, whole.malformed) << chunk;
    }
}

TEST(SyslogFramer, OversizeCountedMessageIsSkippedExactly)
{
    const std::string big(9000, 'x');
    Framed f = frame(counted(big) + counted(kLine1), 0, 8192);
    EXPECT_EQ(f.messages, std::vector<std::string>{kLine1});
    EXPECT_EQ(f.oversize, 1u);
    EXPECT_EQ(f.malformed, 0u);
    EXPECT_LE(f.most_buffered, 8192u);

    // Exactly max_message is not over it.
    Framed edge = frame(counted(std::string(8192, 'e')), 0, 8192);
    ASSERT_EQ(edge.messages.size(), 1u);
    EXPECT_EQ(edge.messages[0].size(), 8192u);
}

TEST(SyslogFramer, GarbageCountsResyncAtTheNextNewline)
{
    Framed f = frame("12x not a count " + kLine2 + "\n" + kLine1 + "\n" + "0 leading zero\n" +
                     "01 leading zero\n" + "12345678901 eleven digits\n" + "123\n" + counted(kLine3));
    EXPECT_EQ(f.messages, (std::vector<std::string>{kLine1, kLine3}));
    EXPECT_EQ(f.malformed, 5u);
    EXPECT_EQ(f.oversize, 0u);
}

TEST(SyslogFramer, HugeLineWithoutNewlineStaysBounded)
{
    SyslogFramer framer(8192);
    size_t delivered = 0;
    auto sink = [&](std::string_view) { ++delivered; };
    const std::string block(64 * 1024, 'a');
    size_t most = 0;
    for (int i = 0; i < 160; ++i) { // 10 MiB
        framer.feed(block, sink);
        most = std::max(most, framer.buffered());
    }
    EXPECT_LE(most, 8192u);
    EXPECT_EQ(delivered, 0u);
    EXPECT_EQ(framer.oversize(), 1u);
    framer.feed("\n" + kLine1 + "\n", sink);
    EXPECT_EQ(delivered, 1u);
    EXPECT_EQ(framer.buffered(), 0u);

    // A 10-digit count skips without holding anything.
    SyslogFramer counting(8192);
    counting.feed("9999999999 ", sink);
    for (int i = 0; i < 16; ++i)
        counting.feed(block, sink);
    EXPECT_EQ(counting.buffered(), 0u);
    EXPECT_EQ(counting.oversize(), 1u);
}

TEST(SyslogFramer, StreamFromRsyslog)
{
    // Captured from rsyslog 8.2302 running deploy/rsyslog/mtuguard-asa.conf: three ASA datagrams
    // sent to it, 302013 filtered out, the other two forwarded octet-counted and unchanged.
    std::ifstream in(std::string(MTUGUARD_TEST_DATA) + "/asa/rsyslog-8.2302-octet-counted.bin",
                     std::ios::binary);
    ASSERT_TRUE(in);
    std::ostringstream stream;
    stream << in.rdbuf();
    Framed f = frame(stream.str());
    ASSERT_EQ(f.messages.size(), 2u);
    EXPECT_EQ(f.malformed, 0u);
    AsaMessage large = ok(f.messages[0]);
    EXPECT_EQ(large.event, AsaEvent::large_packet_out);
    EXPECT_EQ(large.packet_len, 1418u);
    EXPECT_EQ(large.threshold, 1347u);
    AsaMessage assigned = ok(f.messages[1]);
    EXPECT_EQ(assigned.event, AsaEvent::address_assigned);
    EXPECT_EQ(assigned.severity, 4u);
    EXPECT_EQ(addr(assigned.tunnel_v4), "10.8.0.5");
    EXPECT_EQ(addr(assigned.public_ip), "198.51.100.7");
}

TEST(SyslogFramer, DatagramsLoseTheirLineEnd)
{
    EXPECT_EQ(syslog_datagram(kLine1 + "\n"), kLine1);
    EXPECT_EQ(syslog_datagram(kLine1 + "\r\n\0"s), kLine1);
    EXPECT_EQ(syslog_datagram(kLine1), kLine1);
    EXPECT_EQ(syslog_datagram("\n"), "");
    EXPECT_EQ(syslog_datagram(""), "");
}

} // namespace
} // namespace mtuguard
