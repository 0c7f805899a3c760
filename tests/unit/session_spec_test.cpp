#include <gtest/gtest.h>

#include <stdexcept>

#include "common/address.hpp"
#include "common/session_spec.hpp"

namespace mtuguard {
namespace {

TEST(SessionSpec, FullIpv4Session)
{
    SessionSpec s = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=dtls");
    EXPECT_TRUE(s.prefix.ipv4);
    EXPECT_TRUE(s.prefix.is_host());
    EXPECT_EQ(s.prefix.to_string(), "10.8.0.5");
    EXPECT_EQ(s.session.dtls_mtu, 1418);
    EXPECT_EQ(s.session.tls_mtu, 1347);
    EXPECT_EQ(s.session.transport, MG_TRANSPORT_DTLS);
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 8, 0, 5};
    EXPECT_EQ(0, memcmp(s.prefix.addr.bytes, mapped, 16));
}

TEST(SessionSpec, TransportDefaultsToTlsAndKeysInAnyOrder)
{
    SessionSpec s = parse_session_spec("2001:db8::5,tls-mtu=1347,dtls-mtu=1418");
    EXPECT_FALSE(s.prefix.ipv4);
    EXPECT_EQ(s.session.transport, MG_TRANSPORT_TLS);
    EXPECT_EQ(s.prefix.to_string(), "2001:db8::5");
}

TEST(SessionSpec, PoolPrefixes)
{
    SessionSpec v4 = parse_session_spec("10.9.0.0/16,dtls-mtu=1400,tls-mtu=1300");
    EXPECT_FALSE(v4.prefix.is_host());
    EXPECT_EQ(v4.prefix.length, 16u);
    EXPECT_EQ(v4.prefix.mapped_length(), 112u);
    EXPECT_EQ(v4.prefix.to_string(), "10.9.0.0/16");
    SessionSpec v6 = parse_session_spec("2001:db8:9::/48,dtls-mtu=1400,tls-mtu=1300");
    EXPECT_EQ(v6.prefix.mapped_length(), 48u);
    EXPECT_TRUE(parse_session_spec("10.8.0.5/32,dtls-mtu=1400,tls-mtu=1300").prefix.is_host());
}

void expect_error(const std::string &spec, const std::string &fragment)
{
    try {
        parse_session_spec(spec);
        ADD_FAILURE() << spec << " was accepted";
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << spec << " -> " << e.what();
    }
}

TEST(SessionSpec, ErrorsNameWhatIsWrong)
{
    expect_error("", "not an IPv4 or IPv6 address");
    expect_error("10.8.0.256,dtls-mtu=1418,tls-mtu=1347", "'10.8.0.256' is not an IPv4 or IPv6");
    expect_error("vpn-user,dtls-mtu=1418,tls-mtu=1347", "'vpn-user' is not");
    expect_error("10.8.0.5", "missing dtls-mtu");
    expect_error("10.8.0.5,dtls-mtu=1418", "missing tls-mtu");
    expect_error("10.8.0.5,tls-mtu=1347", "missing dtls-mtu");
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,mtu=1300", "unknown key 'mtu'");
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=udp", "transport 'udp' is not dtls or tls");
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport", "'transport' is not KEY=VALUE");
    expect_error("10.8.0.5,dtls-mtu=1418,dtls-mtu=1400,tls-mtu=1347", "dtls-mtu given twice");
    expect_error("10.8.0.5,dtls-mtu=575,tls-mtu=1347", "dtls-mtu '575' is not a whole number from 576 to 65535");
    expect_error("10.8.0.5,dtls-mtu=65536,tls-mtu=1347", "65536");
    expect_error("10.8.0.5,dtls-mtu=-1,tls-mtu=1347", "'-1'");
    expect_error("10.8.0.5,dtls-mtu=14x8,tls-mtu=1347", "'14x8'");
    expect_error("10.8.0.5,dtls-mtu=,tls-mtu=1347", "dtls-mtu ''");
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,", "'' is not KEY=VALUE");
    expect_error("10.8.0.0/33,dtls-mtu=1418,tls-mtu=1347", "prefix length '33' is not 0-32");
    expect_error("10.8.0.0/,dtls-mtu=1418,tls-mtu=1347", "prefix length ''");
    expect_error("10.8.0.1/24,dtls-mtu=1418,tls-mtu=1347", "host bits set");
    expect_error("2001:db8::/129,dtls-mtu=1418,tls-mtu=1347", "0-128");
    expect_error("::ffff:10.8.0.5,dtls-mtu=1418,tls-mtu=1347", "IPv4-mapped");
    expect_error("::/0,dtls-mtu=1418,tls-mtu=1347", "IPv4-mapped");
}

TEST(SessionSpec, CipherComputesTheMtus)
{
    SessionSpec gcm = parse_session_spec("10.8.0.5,cipher=aes256-gcm");
    EXPECT_EQ(gcm.session.dtls_mtu, 1434) << "ocserv's AES-GCM MTU on a 1500 path";
    EXPECT_EQ(gcm.session.tls_mtu, 1423);
    SessionSpec asa = parse_session_spec("10.8.0.5,cipher=aes256-sha1,padding=exact,transport=dtls");
    EXPECT_EQ(asa.session.dtls_mtu, 1418) << "the seed's DTLS MTU";
    EXPECT_EQ(asa.session.transport, MG_TRANSPORT_DTLS);
    SessionSpec narrow = parse_session_spec("10.8.0.5,cipher=aes128-gcm,link-mtu=1406");
    EXPECT_EQ(narrow.session.dtls_mtu, 1340);
    SessionSpec overridden = parse_session_spec("10.8.0.5,cipher=aes256-gcm,tls-mtu=1347");
    EXPECT_EQ(overridden.session.tls_mtu, 1347) << "an explicit MTU wins";
    EXPECT_EQ(overridden.session.dtls_mtu, 1434);
    SessionSpec rc4 = parse_session_spec("10.8.0.5,cipher=rc4-sha1,dtls-mtu=1418");
    EXPECT_EQ(rc4.session.dtls_mtu, 1418);
}

TEST(SessionSpec, MssClampOverride)
{
    EXPECT_EQ(parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347").session.mss_clamp, MG_MSS_DEFAULT);
    EXPECT_EQ(parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,mss-clamp=off").session.mss_clamp, MG_MSS_OFF);
    EXPECT_EQ(parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,mss-clamp=on").session.mss_clamp, MG_MSS_ON);
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,mss-clamp=yes", "mss-clamp 'yes' is not on or off");
}

TEST(SessionSpec, CipherErrors)
{
    expect_error("10.8.0.5,cipher=rot13", "unknown cipher 'rot13'");
    expect_error("10.8.0.5,cipher=rc4-sha1", "gives no DTLS MTU");
    expect_error("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,link-mtu=1500", "link-mtu, tcp-mss and padding go with cipher=C");
    expect_error("10.8.0.5,cipher=aes256-sha1,padding=tight", "padding 'tight' is not exact or conservative");
}

// inet_pton reads a C string: whatever followed a NUL byte (which JSON's \u0000 and a config
// file can carry) used to be ignored, so "10.8.0.5\0junk" named 10.8.0.5. Found by fuzzing.
TEST(Address, ANulByteIsNotTheEndOfTheAddress)
{
    using namespace std::string_view_literals;
    EXPECT_THROW(parse_prefix("10.8.0.6\0\0\0,ciphe8-sh#1,mss-clamp=on"sv), std::invalid_argument);
    EXPECT_THROW(parse_prefix("2001:db8::5\0junk"sv), std::invalid_argument);
    EXPECT_THROW(parse_prefix("10.8.0.0\0/16"sv), std::invalid_argument);
    EXPECT_THROW(parse_prefix("10.8.0.0/16\0"sv), std::invalid_argument);
    EXPECT_THROW(parse_address("10.8.0.5\0"sv), std::invalid_argument);
    EXPECT_THROW(parse_session_spec("10.8.0.5\0junk,dtls-mtu=1418,tls-mtu=1347"sv), std::invalid_argument);
}

TEST(Address, ParseAddressRefusesPrefixes)
{
    EXPECT_EQ(parse_address("192.0.2.1").to_string(), "192.0.2.1");
    EXPECT_THROW(parse_address("192.0.2.0/24"), std::invalid_argument);
}

// user= and group= name one client; refused naming what is wrong.
TEST(SessionSpec, UserAndGroup)
{
    SessionSpec spec = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,user=alice@example.com,group=Eng Staff");
    EXPECT_EQ(spec.user, "alice@example.com");
    EXPECT_EQ(spec.group, "Eng Staff");
    EXPECT_EQ(parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,user=j\xc3\xa9r\xc3\xb4me").user,
              "j\xc3\xa9r\xc3\xb4me");
    auto error = [](const std::string &text) {
        try {
            parse_session_spec(text);
        } catch (const std::invalid_argument &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    const std::string base = "10.8.0.5,dtls-mtu=1418,tls-mtu=1347,";
    EXPECT_EQ(error(base + "user="), "user= is empty");
    EXPECT_EQ(error(base + "user=" + std::string(64, 'a')), "user '" + std::string(63, 'a') + "' is longer than 63 bytes");
    EXPECT_EQ(error(base + "group=a\tb"), "group 'a?b' holds a control character or bytes that are not UTF-8");
    EXPECT_EQ(error(base + "user=a\xff" "b"), "user 'a?b' holds a control character or bytes that are not UTF-8");
    EXPECT_EQ(error(base + "user=a,user=b"), "user given twice");
    EXPECT_EQ(error("10.8.0.0/24,dtls-mtu=1418,tls-mtu=1347,user=a"),
              "user= and group= name one client: they go with an address, not a pool");
    EXPECT_THROW(parse_session_parameters("dtls-mtu=1418,tls-mtu=1347,group=vpn"), std::invalid_argument);
}

// Whatever a source sends, a name is kept as valid UTF-8 without control characters, cut at a
// character boundary to 63 bytes.
TEST(SessionSpec, SessionNameCleansWhatSourcesSend)
{
    EXPECT_EQ(session_name("alice"), "alice");
    EXPECT_EQ(session_name("a\nb\x7f"), "a?b?");
    EXPECT_EQ(session_name("\xc3\xa9"), "\xc3\xa9") << "two-byte UTF-8 kept";
    EXPECT_EQ(session_name("\xc3"), "?") << "a sequence cut short";
    EXPECT_EQ(session_name("\xc0\xaf"), "??") << "an overlong form";
    EXPECT_EQ(session_name("\xed\xa0\x80"), "???") << "a surrogate";
    EXPECT_EQ(session_name("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80") << "four-byte UTF-8 kept";
    EXPECT_EQ(session_name(std::string(62, 'x') + "\xc3\xa9"), std::string(62, 'x'))
        << "a character that does not fit whole is left out";
    EXPECT_EQ(session_name(std::string(100, 'x')).size(), 63u);
}

} // namespace
} // namespace mtuguard
