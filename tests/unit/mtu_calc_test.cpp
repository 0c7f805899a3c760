#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/mtu_calc.hpp"

namespace mtuguard {
namespace {

MtuRequest at_link(const std::string &cipher, uint32_t link, Outer outer = Outer::Ipv4,
                   Padding padding = Padding::Conservative)
{
    MtuRequest r;
    r.cipher = cipher;
    r.link_mtu = link;
    r.outer = outer;
    r.padding = padding;
    return r;
}

MtuRequest at_mss(const std::string &cipher, uint32_t mss)
{
    MtuRequest r;
    r.cipher = cipher;
    r.tcp_mss = mss;
    return r;
}

uint32_t sum(const TunnelMtu &t)
{
    uint32_t total = 0;
    for (const auto &p : t.overhead)
        total += p.bytes;
    return total;
}

// The record overhead as REFERENCE.md §2 tabulates it: everything but IP, TCP/UDP and CSTP.
uint32_t record_overhead(const TunnelMtu &t)
{
    static const std::set<std::string> outside{"IPv4 header", "IPv6 header", "UDP header",
                                               "TCP header", "CSTP header"};
    uint32_t total = 0;
    for (const auto &p : t.overhead)
        if (!outside.count(p.name))
            total += p.bytes;
    return total;
}

uint32_t part(const TunnelMtu &t, const std::string &name)
{
    for (const auto &p : t.overhead)
        if (p.name == name)
            return p.bytes;
    return 0;
}

// The seed (Cisco tech note 116881): the ASA announces DTLS MTU 1418 for DTLS 1.0 AES-CBC-SHA1
// on a 1500-byte path: 1 CSTP + 1418 + 20 MAC + 1 pad length = 1440 = 90 AES blocks.
TEST(MtuCalc, SeedDtlsMtu1418IsTheExactFitOfAesCbcSha1)
{
    for (const char *cipher : {"aes128-sha1", "aes256-sha1"}) {
        MtuRequest r = at_link(cipher, 1500, Outer::Ipv4, Padding::Exact);
        r.dtls_version = "1.0";
        MtuResult result = calculate_mtu(r);
        ASSERT_TRUE(result.dtls);
        const TunnelMtu &d = *result.dtls;
        EXPECT_EQ(d.protocol, "DTLS 1.0");
        EXPECT_EQ(d.mtu, 1418u) << cipher;
        EXPECT_EQ((1 + d.mtu + 20 + 1) % 16, 0u);
        EXPECT_EQ(1 + d.mtu + 20 + 1, 1440u);
        std::vector<std::pair<std::string, uint32_t>> parts;
        for (const auto &p : d.overhead)
            parts.emplace_back(p.name, p.bytes);
        std::vector<std::pair<std::string, uint32_t>> expected{
            {"IPv4 header", 20}, {"UDP header", 8}, {"DTLS record header", 13},
            {"explicit IV", 16}, {"CSTP header", 1}, {"MAC", 20},
            {"padding", 1},      {"unused (short of a whole block)", 3}};
        EXPECT_EQ(parts, expected);
        // 1440 + 16 IV + 13 DTLS header + 8 UDP + 20 IP = 1497 on the wire.
        EXPECT_EQ(1500 - part(d, "unused (short of a whole block)"), 1497u);
    }
}

TEST(MtuCalc, SeedDtlsMtuIsTheSameInDtls12AndConservativeGives1406)
{
    MtuRequest r = at_link("aes256-sha1", 1500, Outer::Ipv4, Padding::Exact);
    EXPECT_EQ(calculate_mtu(r).dtls->mtu, 1418u);
    r.padding = Padding::Conservative;
    r.dtls_version = "1.0";
    EXPECT_EQ(calculate_mtu(r).dtls->mtu, 1406u);
}

// The seed's TLS MTU: 1380 − 5 (TLS header) − 8 (CSTP) − 0 (padding) − 20 (HASH) = 1347, and
// `sysopt conn tcpmss 1460` makes it 1427.
TEST(MtuCalc, SeedTlsMtu1347FromMss1380WithRc4Sha1)
{
    for (Padding padding : {Padding::Conservative, Padding::Exact}) {
        MtuRequest r = at_mss("rc4-sha1", 1380);
        r.padding = padding;
        MtuResult result = calculate_mtu(r);
        ASSERT_TRUE(result.tls);
        EXPECT_EQ(result.tls->mtu, 1347u);
        EXPECT_EQ(result.tls->protocol, "TLS 1.2");
        std::vector<std::pair<std::string, uint32_t>> parts;
        for (const auto &p : result.tls->overhead)
            parts.emplace_back(p.name, p.bytes);
        std::vector<std::pair<std::string, uint32_t>> expected{
            {"TLS record header", 5}, {"CSTP header", 8}, {"MAC", 20}};
        EXPECT_EQ(parts, expected);
        EXPECT_EQ(sum(*result.tls), 1380u - 1347u);
        EXPECT_FALSE(result.dtls);
        EXPECT_EQ(result.tcp_mss, 1380u);
        EXPECT_FALSE(result.link_mtu);
    }
    EXPECT_EQ(calculate_mtu(at_mss("rc4-sha1", 1460)).tls->mtu, 1427u);
}

TEST(MtuCalc, Rc4IsTlsOnly)
{
    MtuResult result = calculate_mtu(at_link("rc4-sha1", 1500));
    EXPECT_FALSE(result.dtls);
    ASSERT_TRUE(result.tls);
    EXPECT_EQ(result.tls->mtu, 1500u - 20 - 20 - 25 - 8);
    EXPECT_NE(result.note.find("TLS-only"), std::string::npos) << result.note;
}

// ocserv 1.1.6 with AES-256-GCM announces 1434 on a 1500 path, 1340 at 1406 and lowers vpns0 to
// 1234 when the outer path MTU drops to 1300 (REFERENCE.md §3, §7).
TEST(MtuCalc, OcservAesGcm)
{
    for (const char *cipher : {"aes128-gcm", "aes256-gcm"}) {
        EXPECT_EQ(calculate_mtu(at_link(cipher, 1500)).dtls->mtu, 1434u);
        EXPECT_EQ(calculate_mtu(at_link(cipher, 1406)).dtls->mtu, 1340u);
        EXPECT_EQ(calculate_mtu(at_link(cipher, 1300)).dtls->mtu, 1234u);
    }
}

struct TableRow {
    const char *cipher;
    uint32_t tls_record;
    uint32_t dtls_record;
    uint32_t dtls_mtu_v4;
    uint32_t dtls_mtu_v6;
};

// REFERENCE.md §2, every row, both outer families, conservative (GnuTLS/ocserv) padding.
const TableRow table[] = {
    {"aes128-gcm", 29, 37, 1434, 1414},        {"aes256-gcm", 29, 37, 1434, 1414},
    {"chacha20-poly1305", 21, 29, 1442, 1422}, {"aes128-sha1", 57, 65, 1406, 1386},
    {"aes256-sha1", 57, 65, 1406, 1386},       {"aes128-sha256", 69, 77, 1394, 1374},
    {"aes256-sha256", 69, 77, 1394, 1374},     {"aes256-sha384", 85, 93, 1378, 1358},
};

TEST(MtuCalc, ReferenceTable)
{
    for (const auto &row : table) {
        SCOPED_TRACE(row.cipher);
        MtuResult v4 = calculate_mtu(at_link(row.cipher, 1500, Outer::Ipv4));
        MtuResult v6 = calculate_mtu(at_link(row.cipher, 1500, Outer::Ipv6));
        ASSERT_TRUE(v4.dtls && v4.tls && v6.dtls && v6.tls);
        EXPECT_EQ(v4.dtls->mtu, row.dtls_mtu_v4);
        EXPECT_EQ(v6.dtls->mtu, row.dtls_mtu_v6);
        EXPECT_EQ(record_overhead(*v4.dtls), row.dtls_record);
        EXPECT_EQ(record_overhead(*v6.dtls), row.dtls_record);
        EXPECT_EQ(record_overhead(*v4.tls), row.tls_record);
        EXPECT_EQ(record_overhead(*v6.tls), row.tls_record);
        // DTLS data MTU = link − (IP + UDP 8) − (DTLS record + 1 CSTP type byte).
        EXPECT_EQ(v4.dtls->mtu, 1500 - (20 + 8) - (row.dtls_record + 1));
        EXPECT_EQ(v6.dtls->mtu, 1500 - (40 + 8) - (row.dtls_record + 1));
        // TLS = link − IP − TCP 20 − TLS record − 8 CSTP.
        EXPECT_EQ(v4.tls->mtu, 1500 - 20 - 20 - row.tls_record - 8);
        EXPECT_EQ(v6.tls->mtu, 1500 - 40 - 20 - row.tls_record - 8);
        EXPECT_EQ(part(*v4.dtls, "IPv4 header"), 20u);
        EXPECT_EQ(part(*v6.dtls, "IPv6 header"), 40u);
        EXPECT_EQ(part(*v6.tls, "TCP header"), 20u);
        // The ASA's way from the MSS agrees with the link's way when MSS = link − IP − TCP.
        EXPECT_EQ(calculate_mtu(at_mss(row.cipher, 1460)).tls->mtu, v4.tls->mtu);
    }
}

TEST(MtuCalc, ReferenceTableBreakdowns)
{
    MtuResult gcm = calculate_mtu(at_link("aes256-gcm", 1500));
    EXPECT_EQ(part(*gcm.tls, "TLS record header"), 5u);
    EXPECT_EQ(part(*gcm.tls, "explicit nonce"), 8u);
    EXPECT_EQ(part(*gcm.tls, "AEAD tag"), 16u);
    EXPECT_EQ(part(*gcm.dtls, "DTLS record header"), 13u);
    EXPECT_EQ(part(*gcm.dtls, "CSTP header"), 1u);
    EXPECT_EQ(part(*gcm.tls, "CSTP header"), 8u);
    MtuResult chacha = calculate_mtu(at_link("chacha20-poly1305", 1500));
    EXPECT_EQ(part(*chacha.dtls, "explicit nonce"), 0u); // RFC 7905: implicit
    MtuResult cbc = calculate_mtu(at_link("aes128-sha1", 1500));
    EXPECT_EQ(part(*cbc.tls, "explicit IV"), 16u);
    EXPECT_EQ(part(*cbc.tls, "MAC"), 20u);
    EXPECT_EQ(part(*cbc.tls, "padding"), 16u);
    EXPECT_EQ(part(*calculate_mtu(at_link("aes256-sha384", 1500)).dtls, "MAC"), 48u);
}

// TLS 1.3 AES-GCM record overhead: 5 header + 16 tag + 1 content type = 22.
TEST(MtuCalc, Tls13)
{
    for (const char *cipher : {"aes128-gcm", "aes256-gcm", "chacha20-poly1305"}) {
        SCOPED_TRACE(cipher);
        MtuRequest r = at_mss(cipher, 1380);
        r.tls_version = "1.3";
        MtuResult by_mss = calculate_mtu(r);
        EXPECT_EQ(by_mss.tls->protocol, "TLS 1.3");
        EXPECT_EQ(record_overhead(*by_mss.tls), 22u);
        EXPECT_EQ(by_mss.tls->mtu, 1380u - 22 - 8);
        EXPECT_EQ(part(*by_mss.tls, "TLS 1.3 content type"), 1u);
        EXPECT_EQ(part(*by_mss.tls, "explicit nonce"), 0u);

        MtuRequest l = at_link(cipher, 1500);
        l.tls_version = "1.3";
        MtuResult by_link = calculate_mtu(l);
        EXPECT_EQ(by_link.tls->mtu, 1500u - 20 - 20 - 22 - 8);
        // TLS 1.3 does not touch DTLS.
        EXPECT_EQ(by_link.dtls->protocol, "DTLS 1.2");
        EXPECT_EQ(by_link.dtls->mtu, calculate_mtu(at_link(cipher, 1500)).dtls->mtu);
    }
    MtuRequest gcm = at_link("aes256-gcm", 1500);
    gcm.tls_version = "1.3";
    EXPECT_EQ(calculate_mtu(gcm).tls->mtu, 1430u);
}

TEST(MtuCalc, ExactAndConservativeAgreeForAeadAndStreamCiphers)
{
    for (const char *cipher : {"aes128-gcm", "aes256-gcm", "chacha20-poly1305", "rc4-sha1"}) {
        for (Outer outer : {Outer::Ipv4, Outer::Ipv6}) {
            for (uint32_t link : {1280u, 1300u, 1406u, 1433u, 1500u, 9000u}) {
                SCOPED_TRACE(std::string(cipher) + " " + std::to_string(link));
                MtuResult c = calculate_mtu(at_link(cipher, link, outer, Padding::Conservative));
                MtuResult e = calculate_mtu(at_link(cipher, link, outer, Padding::Exact));
                EXPECT_EQ(c.tls->mtu, e.tls->mtu);
                EXPECT_EQ(c.dtls.has_value(), e.dtls.has_value());
                if (c.dtls) {
                    EXPECT_EQ(c.dtls->mtu, e.dtls->mtu);
                }
                EXPECT_EQ(e.padding, Padding::Exact);
                EXPECT_EQ(c.padding, Padding::Conservative);
            }
        }
    }
}

// Exact: the padded record of mtu bytes fits and one more byte does not. Conservative is never
// larger and is at most one block smaller.
TEST(MtuCalc, ExactIsTheLargestPayloadThatFits)
{
    struct Cbc {
        const char *cipher;
        uint32_t block, mac;
    };
    for (Cbc c : {Cbc{"aes128-sha1", 16, 20}, Cbc{"aes256-sha256", 16, 32},
                  Cbc{"aes256-sha384", 16, 48}, Cbc{"3des-sha1", 8, 20}}) {
        for (Outer outer : {Outer::Ipv4, Outer::Ipv6}) {
            for (uint32_t link = 1280; link <= 1500; ++link) {
                SCOPED_TRACE(std::string(c.cipher) + " " + std::to_string(link));
                uint32_t ip = outer == Outer::Ipv4 ? 20 : 40;
                auto wire = [&](uint32_t payload, uint32_t transport, uint32_t header,
                                uint32_t cstp) {
                    uint32_t plain = cstp + payload + c.mac + 1;
                    uint32_t padded = (plain + c.block - 1) / c.block * c.block;
                    return ip + transport + header + c.block + padded;
                };
                MtuResult e = calculate_mtu(at_link(c.cipher, link, outer, Padding::Exact));
                MtuResult k = calculate_mtu(at_link(c.cipher, link, outer, Padding::Conservative));
                EXPECT_LE(wire(e.dtls->mtu, 8, 13, 1), link);
                EXPECT_GT(wire(e.dtls->mtu + 1, 8, 13, 1), link);
                EXPECT_LE(wire(e.tls->mtu, 20, 5, 8), link);
                EXPECT_GT(wire(e.tls->mtu + 1, 20, 5, 8), link);
                EXPECT_LE(k.dtls->mtu, e.dtls->mtu);
                EXPECT_GT(k.dtls->mtu + c.block, e.dtls->mtu);
                EXPECT_LE(k.tls->mtu, e.tls->mtu);
            }
        }
    }
}

TEST(MtuCalc, TripleDesHasAnEightByteBlock)
{
    MtuResult k = calculate_mtu(at_link("3des-sha1", 1500));
    EXPECT_EQ(k.dtls->mtu, 1500u - 28 - 13 - 8 - 20 - 8 - 1);
    EXPECT_EQ(part(*k.dtls, "explicit IV"), 8u);
    EXPECT_EQ(part(*k.dtls, "padding"), 8u);
    MtuRequest r = at_link("3des-sha1", 1500, Outer::Ipv4, Padding::Exact);
    r.dtls_version = "1.0";
    EXPECT_EQ(calculate_mtu(r).dtls->mtu, 1426u); // 1 + 1426 + 20 + 1 = 1448 = 181 blocks
}

TEST(MtuCalc, OverheadSumsToBaseMinusMtu)
{
    for (const auto &cipher : cipher_names()) {
        for (Padding padding : {Padding::Conservative, Padding::Exact}) {
            for (const char *tls_version : {"1.2", "1.3"}) {
                if (std::string(tls_version) == "1.3" && cipher.find("gcm") == std::string::npos &&
                    cipher.find("chacha") == std::string::npos)
                    continue;
                for (Outer outer : {Outer::Ipv4, Outer::Ipv6}) {
                    for (uint32_t link : {1280u, 1341u, 1406u, 1500u, 9000u, 65535u}) {
                        SCOPED_TRACE(cipher + " " + tls_version + " " + std::to_string(link));
                        MtuRequest r = at_link(cipher, link, outer, padding);
                        r.tls_version = tls_version;
                        MtuResult result = calculate_mtu(r);
                        EXPECT_EQ(sum(*result.tls) + result.tls->mtu, link);
                        if (result.dtls) {
                            EXPECT_EQ(sum(*result.dtls) + result.dtls->mtu, link);
                        }
                        for (const auto &p : result.tls->overhead)
                            EXPECT_GT(p.bytes, 0u) << p.name;
                    }
                }
                for (uint32_t mss : {700u, 1220u, 1380u, 1460u, 65495u}) {
                    MtuRequest r = at_mss(cipher, mss);
                    r.padding = padding;
                    r.tls_version = tls_version;
                    MtuResult result = calculate_mtu(r);
                    EXPECT_EQ(sum(*result.tls) + result.tls->mtu, mss) << cipher << " " << mss;
                    EXPECT_FALSE(result.dtls);
                }
            }
        }
    }
}

TEST(MtuCalc, CipherNames)
{
    std::vector<std::string> names = cipher_names();
    for (const char *required : {"aes128-gcm", "aes256-gcm", "chacha20-poly1305", "aes128-sha1",
                                 "aes256-sha1", "aes256-sha256", "aes256-sha384", "rc4-sha1"})
        EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
    // Case does not matter; the result carries the canonical name.
    EXPECT_EQ(calculate_mtu(at_link("AES256-GCM", 1500)).cipher, "aes256-gcm");
}

TEST(MtuCalc, MssGivesNoDtlsMtuAndSaysWhy)
{
    MtuResult result = calculate_mtu(at_mss("aes256-gcm", 1380));
    EXPECT_FALSE(result.dtls);
    EXPECT_EQ(result.tls->mtu, 1380u - 29 - 8);
    EXPECT_NE(result.note.find("needs link-mtu"), std::string::npos) << result.note;
}

void expect_error(const MtuRequest &request, const std::string &fragment)
{
    try {
        calculate_mtu(request);
        ADD_FAILURE() << request.cipher << " was accepted";
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "'" << e.what() << "' lacks '" << fragment << "'";
    }
}

TEST(MtuCalc, ErrorsNameWhatIsWrong)
{
    expect_error(at_link("aes512-gcm", 1500),
                 "unknown cipher 'aes512-gcm' (known: aes128-gcm, aes256-gcm, chacha20-poly1305, "
                 "aes128-sha1, aes256-sha1, aes128-sha256, aes256-sha256, aes256-sha384, "
                 "3des-sha1, rc4-sha1)");
    expect_error(at_link("", 1500), "unknown cipher ''");

    MtuRequest tls11 = at_link("aes256-gcm", 1500);
    tls11.tls_version = "1.1";
    expect_error(tls11, "tls-version '1.1' is not 1.2 or 1.3");
    MtuRequest dtls13 = at_link("aes256-gcm", 1500);
    dtls13.dtls_version = "1.3";
    expect_error(dtls13, "dtls-version '1.3' is not 1.0 or 1.2");

    MtuRequest neither;
    neither.cipher = "aes256-gcm";
    expect_error(neither, "missing link-mtu or tcp-mss");
    MtuRequest both = at_link("aes256-gcm", 1500);
    both.tcp_mss = 1380;
    expect_error(both, "link-mtu and tcp-mss exclude each other");

    for (const char *cipher : {"rc4-sha1", "aes256-sha1", "aes256-sha384"}) {
        MtuRequest r = at_mss(cipher, 1380);
        r.tls_version = "1.3";
        expect_error(r, std::string("cipher ") + cipher +
                            " is not in TLS 1.3 (it has only aes128-gcm, aes256-gcm, "
                            "chacha20-poly1305)");
    }
    for (const char *cipher : {"aes256-gcm", "chacha20-poly1305", "aes256-sha256"}) {
        MtuRequest r = at_link(cipher, 1500);
        r.dtls_version = "1.0";
        expect_error(r, std::string("cipher ") + cipher +
                            " is not in DTLS 1.0 (it has only aes128-sha1, aes256-sha1, "
                            "3des-sha1); use dtls-version 1.2");
    }

    expect_error(at_link("aes256-gcm", 575), "link-mtu 575 is not from 576 to 65535 (IPv4 outer)");
    expect_error(at_link("aes256-gcm", 65536), "link-mtu 65536 is not from 576 to 65535");
    expect_error(at_link("aes256-gcm", 0), "link-mtu 0 is not from 576");
    expect_error(at_link("aes256-gcm", 1279, Outer::Ipv6),
                 "link-mtu 1279 is not from 1280 to 65535 (IPv6 outer)");
    expect_error(at_mss("rc4-sha1", 535), "tcp-mss 535 is not from 536 to 65495");
    expect_error(at_mss("rc4-sha1", 65496), "tcp-mss 65496 is not from 536 to 65495");

    // In range, but what is left for the tunnel is below the IPv4 minimum datagram.
    expect_error(at_link("aes256-gcm", 600),
                 "link-mtu 600 leaves a DTLS 1.2 MTU of 534 with aes256-gcm, below the 576-byte "
                 "minimum tunnel MTU");
    expect_error(at_mss("rc4-sha1", 600),
                 "tcp-mss 600 leaves a TLS 1.2 MTU of 567 with rc4-sha1, below the 576-byte "
                 "minimum tunnel MTU");
    expect_error(at_link("rc4-sha1", 600), "link-mtu 600 leaves a TLS 1.2 MTU of 527");
}

TEST(MtuCalc, FormatNamesThePaddingWay)
{
    MtuRequest seed = at_link("aes256-sha1", 1500, Outer::Ipv4, Padding::Exact);
    seed.dtls_version = "1.0";
    std::string exact = format_result(calculate_mtu(seed));
    EXPECT_NE(exact.find("cipher aes256-sha1 (AES-256-CBC, HMAC-SHA1)"), std::string::npos);
    EXPECT_NE(exact.find("padding exact: largest payload whose padded record fits (the Cisco "
                         "ASA's way)"),
              std::string::npos)
        << exact;
    EXPECT_NE(exact.find("DTLS 1.0 MTU 1418 = link MTU 1500 - 82\n"), std::string::npos) << exact;
    EXPECT_NE(exact.find("     20  IPv4 header\n"), std::string::npos) << exact;
    EXPECT_NE(exact.find("      3  unused (short of a whole block)\n"), std::string::npos);
    EXPECT_NE(exact.find("TLS 1.2 MTU 1395 = link MTU 1500 - 105\n"), std::string::npos) << exact;
    EXPECT_LT(exact.find("TLS 1.2 MTU"), exact.find("DTLS 1.0 MTU"));

    std::string conservative = format_result(calculate_mtu(at_link("aes256-sha1", 1500)));
    EXPECT_NE(conservative.find("padding conservative: a whole cipher block of padding reserved "
                                "(the GnuTLS/ocserv way)"),
              std::string::npos)
        << conservative;
    EXPECT_NE(conservative.find("DTLS 1.2 MTU 1406 = link MTU 1500 - 94\n"), std::string::npos);
    EXPECT_NE(conservative.find("     16  padding\n"), std::string::npos);

    std::string aead = format_result(calculate_mtu(at_link("aes256-gcm", 1500)));
    EXPECT_NE(aead.find("padding conservative: none with this cipher, so both ways agree\n"),
              std::string::npos)
        << aead;
    MtuRequest exact_rc4 = at_mss("rc4-sha1", 1380);
    exact_rc4.padding = Padding::Exact;
    EXPECT_NE(format_result(calculate_mtu(exact_rc4)).find("padding exact: none with this cipher"),
              std::string::npos);

    std::string rc4 = format_result(calculate_mtu(at_mss("rc4-sha1", 1380)));
    EXPECT_NE(rc4.find("TLS 1.2 MTU 1347 = TCP MSS 1380 - 33\n"), std::string::npos) << rc4;
    EXPECT_EQ(rc4.find("DTLS"), rc4.find("DTLS MTU needs")) << rc4;
    EXPECT_NE(rc4.find("\nnote: "), std::string::npos);
}

TEST(MtuCalc, Json)
{
    MtuRequest seed = at_link("aes256-sha1", 1500, Outer::Ipv4, Padding::Exact);
    seed.dtls_version = "1.0";
    nlohmann::json j = to_json(calculate_mtu(seed));
    EXPECT_EQ(j["cipher"], "aes256-sha1");
    EXPECT_EQ(j["padding"], "exact");
    EXPECT_EQ(j["link_mtu"], 1500);
    EXPECT_FALSE(j.contains("tcp_mss"));
    EXPECT_EQ(j["dtls"]["protocol"], "DTLS 1.0");
    EXPECT_EQ(j["dtls"]["mtu"], 1418);
    EXPECT_EQ(j["dtls"]["overhead_bytes"], 82);
    EXPECT_EQ(j["dtls"]["overhead"][0], (nlohmann::json{{"name", "IPv4 header"}, {"bytes", 20}}));
    EXPECT_EQ(j["dtls"]["overhead"].size(), 8u);
    EXPECT_EQ(j["tls"]["mtu"], 1395);
    EXPECT_EQ(j["note"], "");

    nlohmann::json rc4 = to_json(calculate_mtu(at_mss("rc4-sha1", 1380)));
    EXPECT_TRUE(rc4["dtls"].is_null());
    EXPECT_EQ(rc4["tcp_mss"], 1380);
    EXPECT_EQ(rc4["padding"], "conservative");
    EXPECT_EQ(rc4["tls"]["mtu"], 1347);
    EXPECT_FALSE(rc4["note"].get<std::string>().empty());
}

TEST(MtuCalc, Names)
{
    EXPECT_STREQ(padding_name(Padding::Conservative), "conservative");
    EXPECT_STREQ(padding_name(Padding::Exact), "exact");
    EXPECT_STREQ(outer_name(Outer::Ipv4), "ipv4");
    EXPECT_STREQ(outer_name(Outer::Ipv6), "ipv6");
}

} // namespace
} // namespace mtuguard
