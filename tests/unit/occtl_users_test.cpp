#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "sources/occtl_users.hpp"

namespace mtuguard {
namespace {

std::string sample(const std::string &name)
{
    std::ifstream in(std::string(MTUGUARD_TEST_DATA) + "/occtl/" + name, std::ios::binary);
    if (!in)
        throw std::runtime_error("missing sample " + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void expect_document_error(const std::string &json, const std::string &fragment)
{
    try {
        parse_occtl_users(json);
        ADD_FAILURE() << "accepted: " << json.substr(0, 80);
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

TEST(OcctlUsers, TwoUsersAsOcservPrintsThem)
{
    OcctlUsers parsed = parse_occtl_users(sample("two-users.json"));
    EXPECT_TRUE(parsed.rejected.empty());
    ASSERT_EQ(parsed.users.size(), 2u);

    const OcctlUser &alice = parsed.users[0];
    EXPECT_EQ(alice.id, "835235");
    EXPECT_EQ(alice.username, "alice");
    EXPECT_EQ(alice.groupname, "(none)");
    EXPECT_EQ(alice.device, "vpns0");
    ASSERT_TRUE(alice.remote_ip);
    EXPECT_EQ(alice.remote_ip->to_string(), "198.51.100.7");
    EXPECT_TRUE(alice.remote_ip->ipv4);
    ASSERT_TRUE(alice.ipv4);
    EXPECT_EQ(alice.ipv4->to_string(), "10.8.0.5");
    EXPECT_TRUE(alice.ipv4->is_host());
    ASSERT_TRUE(alice.ipv6);
    EXPECT_EQ(alice.ipv6->to_string(), "fd00:8::5");
    EXPECT_TRUE(alice.ipv6->is_host());
    EXPECT_EQ(alice.mtu, 1434u);
    EXPECT_EQ(alice.full_session, "DN4npevJ3uos1fsnrk544zTSH2Y=");
    EXPECT_EQ(alice.connected_at, "1795346400");
    EXPECT_EQ(alice.dtls_cipher, "(DTLS1.2)-(ECDHE-RSA)-(AES-256-GCM)");

    const OcctlUser &bob = parsed.users[1];
    EXPECT_EQ(bob.id, "835236");
    EXPECT_EQ(bob.username, "bob");
    EXPECT_EQ(bob.groupname, "engineering");
    EXPECT_EQ(bob.device, "vpns1");
    ASSERT_TRUE(bob.remote_ip);
    EXPECT_EQ(bob.remote_ip->to_string(), "2001:db8:ffff::42");
    EXPECT_FALSE(bob.remote_ip->ipv4);
    ASSERT_TRUE(bob.ipv4);
    EXPECT_EQ(bob.ipv4->to_string(), "10.8.0.6");
    EXPECT_FALSE(bob.ipv6);
    EXPECT_EQ(bob.mtu, 1406u);
    EXPECT_EQ(bob.full_session, "0/zuQ1RjBWv5J/hneJun8+sesWs=");
    EXPECT_EQ(bob.connected_at, "1795346460");
    EXPECT_EQ(bob.dtls_cipher, ""); // never negotiated DTLS: occtl leaves the key out
}

TEST(OcctlUsers, Ipv6OnlyUser)
{
    OcctlUsers parsed = parse_occtl_users(sample("ipv6-only.json"));
    EXPECT_TRUE(parsed.rejected.empty());
    ASSERT_EQ(parsed.users.size(), 1u);
    const OcctlUser &carol = parsed.users[0];
    EXPECT_EQ(carol.id, "41");
    EXPECT_EQ(carol.username, "carol");
    EXPECT_EQ(carol.device, "vpns3");
    EXPECT_FALSE(carol.ipv4);
    ASSERT_TRUE(carol.ipv6);
    EXPECT_EQ(carol.ipv6->to_string(), "fd00:8::c");
    EXPECT_EQ(carol.mtu, 1414u);
    EXPECT_EQ(carol.remote_ip->to_string(), "2001:db8:100::7");
    EXPECT_EQ(carol.dtls_cipher, "(DTLS1.2)-(ECDHE-ECDSA)-(CHACHA20-POLY1305)");
}

TEST(OcctlUsers, OddButUsableTypes)
{
    OcctlUsers parsed = parse_occtl_users(sample("odd-types.json"));
    EXPECT_TRUE(parsed.rejected.empty()) << parsed.rejected.front();
    ASSERT_EQ(parsed.users.size(), 3u);

    // ID and raw_connected_at as strings, MTU as a number, "/32" on the tunnel address, an
    // IPv4 client seen through a dual-stack socket, nested junk under keys we do not read.
    const OcctlUser &dave = parsed.users[0];
    EXPECT_EQ(dave.id, "17");
    EXPECT_EQ(dave.connected_at, "1795346600");
    EXPECT_EQ(dave.mtu, 1380u);
    ASSERT_TRUE(dave.ipv4);
    EXPECT_EQ(dave.ipv4->to_string(), "10.8.0.17");
    EXPECT_TRUE(dave.ipv4->is_host());
    EXPECT_FALSE(dave.ipv6); // "(none)"
    ASSERT_TRUE(dave.remote_ip);
    EXPECT_TRUE(dave.remote_ip->ipv4);
    EXPECT_EQ(dave.remote_ip->to_string(), "203.0.113.9");

    // "(none)" public address, an empty IPv4, "/128" on IPv6, no MTU, null DTLS cipher.
    const OcctlUser &erin = parsed.users[1];
    EXPECT_EQ(erin.id, "18");
    EXPECT_FALSE(erin.remote_ip);
    EXPECT_FALSE(erin.ipv4);
    ASSERT_TRUE(erin.ipv6);
    EXPECT_EQ(erin.ipv6->to_string(), "fd00:8::12");
    EXPECT_TRUE(erin.ipv6->is_host());
    EXPECT_FALSE(erin.mtu);
    EXPECT_EQ(erin.dtls_cipher, "");
    EXPECT_EQ(erin.full_session, "");
    EXPECT_EQ(erin.connected_at, "");

    // A routed /64: the network, host bits cleared.
    const OcctlUser &frank = parsed.users[2];
    ASSERT_TRUE(frank.ipv6);
    EXPECT_EQ(frank.ipv6->length, 64u);
    EXPECT_EQ(frank.ipv6->to_string(), "2001:db8:77:12::/64");
    EXPECT_EQ(frank.mtu, 1280u);
}

TEST(OcctlUsers, BadEntriesAreRejectedOneByOneWithTheReason)
{
    OcctlUsers parsed = parse_occtl_users(sample("bad-entries.json"));
    ASSERT_EQ(parsed.users.size(), 1u);
    EXPECT_EQ(parsed.users[0].username, "good");
    EXPECT_EQ(parsed.users[0].mtu, 1400u);

    const std::vector<std::string> expected = {
        "entry 0 (ID 1, user 'mtu-garbage'): MTU 'abc' is not a non-negative whole number",
        "entry 1 (ID 2, user 'mtu-small'): MTU '40' is not from 68 to 65535",
        "entry 2 (ID 3, user 'mtu-array'): MTU is an array, not a whole number",
        "entry 3 (ID 4, user 'no-address'): has neither an IPv4 nor an IPv6 tunnel address",
        "entry 4 (ID 5, user 'v6-in-v4'): IPv4 'fd00:8::5' is not an IPv4 address",
        "entry 5 is a number, not a user object",
        "entry 6 is an array, not a user object",
        "entry 7 (ID 8): Username is a number, not a string",
        "entry 8 (user 'bad-id'): ID 'abc' is not a non-negative whole number",
        "entry 9 (ID 10, user 'bad-remote'): Remote IP 'somewhere' is not an address: "
        "'somewhere' is not an IPv4 or IPv6 address",
        "entry 10 (ID 11, user 'mtu-fraction'): MTU is a fractional number, not a whole number",
    };
    EXPECT_EQ(parsed.rejected, expected);
}

TEST(OcctlUsers, EmptyArrayIsNoUsers)
{
    OcctlUsers parsed = parse_occtl_users(sample("empty.json"));
    EXPECT_TRUE(parsed.users.empty());
    EXPECT_TRUE(parsed.rejected.empty());
    EXPECT_TRUE(parse_occtl_users("[]").users.empty());
}

TEST(OcctlUsers, UnusableDocumentsThrowNamingWhy)
{
    expect_document_error(sample("not-json.txt"), "occtl output is not valid JSON: parse error at line 1");
    expect_document_error(sample("truncated.json"), "not valid JSON");
    expect_document_error(sample("truncated.json"), "parse error at line 27, column 35");
    expect_document_error("[{\"IPv4\": \"10.8.0.1\"}", "unexpected end of input");
    expect_document_error(sample("object.json"), "is a JSON object, not an array of users");
    expect_document_error("", "occtl output is empty");
    expect_document_error(" \n", "occtl output is empty");
    expect_document_error("42", "occtl output is a number, not an array of users");
    expect_document_error("\"users\"", "is a string, not an array");
    expect_document_error("null", "is null, not an array");
    expect_document_error("[] []", "not valid JSON");
    expect_document_error("[{\"ID\": 1,}]", "not valid JSON");
}

TEST(OcctlUsers, DuplicateKeysLastOneWins)
{
    OcctlUsers parsed = parse_occtl_users(
        R"([{"IPv4": "10.8.0.1", "MTU": "1300", "MTU": "1400", "Routes": [], "Routes": "defaultroute"}])");
    ASSERT_EQ(parsed.users.size(), 1u);
    EXPECT_EQ(parsed.users[0].mtu, 1400u);
}

TEST(OcctlUsers, TunnelAddressPrefixErrors)
{
    auto reason = [](const std::string &field, const std::string &value) {
        OcctlUsers parsed = parse_occtl_users("[{\"" + field + "\": \"" + value + "\"}]");
        EXPECT_TRUE(parsed.users.empty()) << value;
        return parsed.rejected.empty() ? std::string() : parsed.rejected[0];
    };
    EXPECT_EQ(reason("IPv4", "10.8.0.5/33"), "entry 0: IPv4 '10.8.0.5/33' has prefix length 33, not 1-32");
    EXPECT_EQ(reason("IPv4", "10.8.0.5/"), "entry 0: IPv4 '10.8.0.5/' has a bad prefix length");
    EXPECT_EQ(reason("IPv6", "fd00::5/x"), "entry 0: IPv6 'fd00::5/x' has a bad prefix length");
    EXPECT_EQ(reason("IPv6", "10.8.0.5"), "entry 0: IPv6 '10.8.0.5' is not an IPv6 address");
    EXPECT_EQ(reason("IPv6", "fd00::5/0"), "entry 0: IPv6 'fd00::5/0' has prefix length 0, not 1-128");
    EXPECT_EQ(reason("IPv4", "10.8.0.300"),
              "entry 0: IPv4 '10.8.0.300' is not an address: '10.8.0.300' is not an IPv4 or IPv6 address");
}

TEST(OcctlUsers, MtuBoundsAndSpellings)
{
    auto mtu = [](const std::string &value) -> std::optional<uint32_t> {
        OcctlUsers parsed = parse_occtl_users("[{\"IPv4\": \"10.8.0.1\", \"MTU\": " + value + "}]");
        return parsed.users.empty() ? std::nullopt : parsed.users[0].mtu;
    };
    EXPECT_EQ(mtu("\"68\""), 68u);
    EXPECT_EQ(mtu("65535"), 65535u);
    EXPECT_EQ(mtu("\"65536\""), std::nullopt);
    EXPECT_EQ(mtu("\"67\""), std::nullopt);
    EXPECT_EQ(mtu("\"99999999999999999999999\""), std::nullopt);
    EXPECT_EQ(mtu("-1400"), std::nullopt);
    EXPECT_EQ(mtu("\" 1400\""), std::nullopt);
    EXPECT_EQ(mtu("true"), std::nullopt);
    EXPECT_EQ(mtu("null"), std::nullopt); // absent: the entry is kept, without an MTU
    OcctlUsers parsed = parse_occtl_users("[{\"IPv4\": \"10.8.0.1\", \"MTU\": null}]");
    ASSERT_EQ(parsed.users.size(), 1u);
    EXPECT_FALSE(parsed.users[0].mtu);
}

TEST(OcctlUsers, LongJunkIsShortenedInMessages)
{
    std::string junk(10000, 'x');
    OcctlUsers parsed = parse_occtl_users("[{\"IPv4\": \"10.8.0.1\", \"MTU\": \"" + junk + "\"}]");
    ASSERT_EQ(parsed.rejected.size(), 1u);
    EXPECT_LT(parsed.rejected[0].size(), 200u);
    EXPECT_NE(parsed.rejected[0].find("(10000 bytes)"), std::string::npos) << parsed.rejected[0];
}

TEST(OcctlUsers, DeepNestingDoesNotRecurse)
{
    // Deep enough to overflow the stack of a recursive parser or destructor.
    const size_t depth = 1'000'000;
    std::string doc = "[{\"IPv4\": \"10.8.0.1\", \"junk\": ";
    doc += std::string(depth, '[') + std::string(depth, ']') + "}, ";
    doc += std::string(depth, '[') + std::string(depth, ']') + "]";
    OcctlUsers parsed = parse_occtl_users(doc);
    ASSERT_EQ(parsed.users.size(), 1u);
    EXPECT_EQ(parsed.rejected, std::vector<std::string>{"entry 1 is an array, not a user object"});

    expect_document_error(std::string(depth, '['), "not valid JSON");
    expect_document_error("[" + std::string(depth, '{'), "not valid JSON");
    expect_document_error(std::string(depth, '{'), "is a JSON object, not an array of users");
}

TEST(OcctlUsers, SizeAndEntryLimits)
{
    std::string huge(max_occtl_document_bytes + 1, ' ');
    expect_document_error(huge, "more than the 64 MiB limit");

    std::string many = "[";
    for (size_t i = 0; i <= max_occtl_entries; ++i)
        many += i ? ",0" : "0";
    many += "]";
    expect_document_error(many, "more than 262144 entries");
}

} // namespace
} // namespace mtuguard
