#include "common/mtu_calc.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "mtuguard_kern_user.h"

namespace mtuguard {
namespace {

enum class CipherKind { Aead, Cbc, Stream };

struct Cipher {
    const char *name;
    const char *description;
    CipherKind kind;
    uint32_t block;  // CBC: block size, which is also the explicit IV's size
    uint32_t mac;    // CBC/stream: HMAC length; AEAD: tag length
    uint32_t nonce;  // AEAD in (D)TLS 1.2: explicit per-record nonce (RFC 5288: 8 for GCM)
    bool in_tls13;   // TLS 1.3 has only AEAD ciphers (RFC 8446)
    bool in_dtls10;  // DTLS 1.0 is TLS 1.1: no AEAD, no SHA-2 HMAC suites
    bool in_dtls;    // RC4 MUST NOT be used with DTLS (RFC 6347 4.1.2.2)
};

// ChaCha20-Poly1305 derives its nonce from the sequence number (RFC 7905): nothing explicit.
constexpr std::array ciphers{
    Cipher{"aes128-gcm", "AES-128-GCM", CipherKind::Aead, 0, 16, 8, true, false, true},
    Cipher{"aes256-gcm", "AES-256-GCM", CipherKind::Aead, 0, 16, 8, true, false, true},
    Cipher{"chacha20-poly1305", "ChaCha20-Poly1305", CipherKind::Aead, 0, 16, 0, true, false, true},
    Cipher{"aes128-sha1", "AES-128-CBC, HMAC-SHA1", CipherKind::Cbc, 16, 20, 0, false, true, true},
    Cipher{"aes256-sha1", "AES-256-CBC, HMAC-SHA1", CipherKind::Cbc, 16, 20, 0, false, true, true},
    Cipher{"aes128-sha256", "AES-128-CBC, HMAC-SHA256", CipherKind::Cbc, 16, 32, 0, false, false,
           true},
    Cipher{"aes256-sha256", "AES-256-CBC, HMAC-SHA256", CipherKind::Cbc, 16, 32, 0, false, false,
           true},
    Cipher{"aes256-sha384", "AES-256-CBC, HMAC-SHA384", CipherKind::Cbc, 16, 48, 0, false, false,
           true},
    Cipher{"3des-sha1", "3DES-CBC, HMAC-SHA1", CipherKind::Cbc, 8, 20, 0, false, true, true},
    Cipher{"rc4-sha1", "RC4, HMAC-SHA1", CipherKind::Stream, 0, 20, 0, false, false, false},
};

constexpr uint32_t tls_record_header = 5;
constexpr uint32_t dtls_record_header = 13;
constexpr uint32_t tls13_content_type = 1;
constexpr uint32_t tcp_header = 20;
constexpr uint32_t udp_header = 8;
// CSTP frames data with an 8-byte header over TLS; over DTLS only its 1-byte type is sent.
constexpr uint32_t cstp_header_tls = 8;
constexpr uint32_t cstp_header_dtls = 1;
constexpr uint32_t max_link_mtu = 65535;
constexpr uint32_t min_tcp_mss = 536;   // RFC 879's default, what every host accepts
constexpr uint32_t max_tcp_mss = 65495; // 65535 − 20 IPv4 − 20 TCP

std::string join(const std::vector<std::string> &names, const char *separator = ", ")
{
    std::string out;
    for (const auto &name : names)
        out += (out.empty() ? "" : separator) + name;
    return out;
}

std::string names_where(bool Cipher::*has)
{
    std::vector<std::string> names;
    for (const auto &c : ciphers)
        if (c.*has)
            names.push_back(c.name);
    return join(names);
}

const Cipher &find_cipher(const std::string &name)
{
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    for (const auto &c : ciphers)
        if (lower == c.name)
            return c;
    throw std::invalid_argument("unknown cipher '" + name + "' (known: " + join(cipher_names()) +
                                ")");
}

uint64_t sum_of(const std::vector<OverheadPart> &parts)
{
    uint64_t sum = 0;
    for (const auto &p : parts)
        sum += p.bytes;
    return sum;
}

struct Channel {
    std::string protocol;
    bool tls13 = false;
    uint32_t record_header;
    uint32_t cstp_header;
};

// The record layout, outermost first: header, explicit IV or nonce, then the encrypted
// CSTP header + payload [+ TLS 1.3 content type] + MAC or tag [+ padding].
TunnelMtu compute(const Cipher &cipher, const Channel &channel, uint32_t base,
                  std::vector<OverheadPart> outer_parts, Padding padding, const char *base_name)
{
    TunnelMtu tunnel{channel.protocol, 0, std::move(outer_parts)};
    auto &parts = tunnel.overhead;
    auto add = [&](const char *name, uint32_t bytes) {
        if (bytes > 0)
            parts.push_back({name, bytes});
    };
    std::string header = channel.protocol.substr(0, channel.protocol.find(' ')) + " record header";
    add(header.c_str(), channel.record_header);

    switch (cipher.kind) {
    case CipherKind::Aead:
        // TLS 1.3 drops the explicit nonce and encrypts the real content type with the data.
        add("explicit nonce", channel.tls13 ? 0 : cipher.nonce);
        add("CSTP header", channel.cstp_header);
        add("TLS 1.3 content type", channel.tls13 ? tls13_content_type : 0);
        add("AEAD tag", cipher.mac);
        break;
    case CipherKind::Stream:
        add("CSTP header", channel.cstp_header);
        add("MAC", cipher.mac);
        break;
    case CipherKind::Cbc: {
        add("explicit IV", cipher.block);
        int64_t room = int64_t(base) - int64_t(sum_of(parts)); // for the encrypted part
        add("CSTP header", channel.cstp_header);
        add("MAC", cipher.mac);
        if (padding == Padding::Conservative) {
            // 1 to `block` bytes of padding (the pad-length byte included): reserve the most.
            add("padding", cipher.block);
        } else {
            // The encrypted part is whole blocks: fill as many as fit, pad with the pad-length
            // byte alone, and what is left short of one more block stays unused.
            add("padding", 1);
            add("unused (short of a whole block)", room > 0 ? uint32_t(room % cipher.block) : 0);
        }
        break;
    }
    }

    int64_t mtu = int64_t(base) - int64_t(sum_of(parts));
    if (mtu < MG_MIN_MTU)
        throw std::invalid_argument(std::string(base_name) + " " + std::to_string(base) +
                                    " leaves a " + channel.protocol + " MTU of " +
                                    std::to_string(mtu) + " with " + cipher.name +
                                    ", below the " + std::to_string(MG_MIN_MTU) +
                                    "-byte minimum tunnel MTU");
    tunnel.mtu = uint32_t(mtu);
    return tunnel;
}

uint32_t overhead_bytes(const TunnelMtu &tunnel)
{
    return uint32_t(sum_of(tunnel.overhead));
}

} // namespace

std::vector<std::string> cipher_names()
{
    std::vector<std::string> names;
    for (const auto &c : ciphers)
        names.emplace_back(c.name);
    return names;
}

const char *padding_name(Padding padding)
{
    return padding == Padding::Exact ? "exact" : "conservative";
}

const char *outer_name(Outer outer)
{
    return outer == Outer::Ipv6 ? "ipv6" : "ipv4";
}

MtuResult calculate_mtu(const MtuRequest &request)
{
    const Cipher &cipher = find_cipher(request.cipher);
    if (request.tls_version != "1.2" && request.tls_version != "1.3")
        throw std::invalid_argument("tls-version '" + request.tls_version + "' is not 1.2 or 1.3");
    if (request.dtls_version != "1.0" && request.dtls_version != "1.2")
        throw std::invalid_argument("dtls-version '" + request.dtls_version +
                                    "' is not 1.0 or 1.2");
    if (request.link_mtu.has_value() == request.tcp_mss.has_value())
        throw std::invalid_argument(request.link_mtu ? "link-mtu and tcp-mss exclude each other: "
                                                       "give one"
                                                     : "missing link-mtu or tcp-mss: give one");

    bool tls13 = request.tls_version == "1.3";
    if (tls13 && !cipher.in_tls13)
        throw std::invalid_argument(std::string("cipher ") + cipher.name +
                                    " is not in TLS 1.3 (it has only " +
                                    names_where(&Cipher::in_tls13) + ")");

    MtuResult result{cipher.name, request.link_mtu, request.tcp_mss, request.padding, {}, {}, {}};
    Channel tls{"TLS " + request.tls_version, tls13, tls_record_header, cstp_header_tls};

    if (request.tcp_mss) {
        uint32_t mss = *request.tcp_mss;
        if (mss < min_tcp_mss || mss > max_tcp_mss)
            throw std::invalid_argument("tcp-mss " + std::to_string(mss) + " is not from " +
                                        std::to_string(min_tcp_mss) + " to " +
                                        std::to_string(max_tcp_mss));
        result.tls = compute(cipher, tls, mss, {}, request.padding, "tcp-mss");
        result.note = "TLS MTU from the TCP MSS (the ASA's way); the DTLS MTU needs link-mtu";
        return result;
    }

    uint32_t link = *request.link_mtu;
    bool v6 = request.outer == Outer::Ipv6;
    // IPv6 links carry at least 1280 bytes (RFC 8200 5); for IPv4 take the 576 every host accepts.
    uint32_t min_link = v6 ? MG_IPV6_MIN_MTU : MG_MIN_MTU;
    if (link < min_link || link > max_link_mtu)
        throw std::invalid_argument("link-mtu " + std::to_string(link) + " is not from " +
                                    std::to_string(min_link) + " to " +
                                    std::to_string(max_link_mtu) + " (" +
                                    (v6 ? "IPv6" : "IPv4") + " outer)");
    OverheadPart ip{v6 ? "IPv6 header" : "IPv4 header", v6 ? 40u : 20u};

    if (cipher.in_dtls) {
        if (request.dtls_version == "1.0" && !cipher.in_dtls10)
            throw std::invalid_argument(std::string("cipher ") + cipher.name +
                                        " is not in DTLS 1.0 (it has only " +
                                        names_where(&Cipher::in_dtls10) +
                                        "); use dtls-version 1.2");
        Channel dtls{"DTLS " + request.dtls_version, false, dtls_record_header,
                     cstp_header_dtls};
        result.dtls = compute(cipher, dtls, link, {ip, {"UDP header", udp_header}},
                              request.padding, "link-mtu");
    } else {
        result.note = std::string(cipher.name) + " is TLS-only (RC4 must not be used with DTLS, "
                                                 "RFC 6347 4.1.2.2): no DTLS MTU";
    }
    result.tls = compute(cipher, tls, link, {ip, {"TCP header", tcp_header}}, request.padding,
                         "link-mtu");
    return result;
}

std::string format_result(const MtuResult &result)
{
    const Cipher &cipher = find_cipher(result.cipher);
    std::string out = "cipher " + result.cipher + " (" + cipher.description + ")\n";
    out += "padding " + std::string(padding_name(result.padding));
    if (cipher.kind != CipherKind::Cbc)
        out += ": none with this cipher, so both ways agree";
    else if (result.padding == Padding::Exact)
        out += ": largest payload whose padded record fits (the Cisco ASA's way)";
    else
        out += ": a whole cipher block of padding reserved (the GnuTLS/ocserv way)";
    out += "\n";

    std::string base_name = result.link_mtu ? "link MTU" : "TCP MSS";
    char line[128];
    for (const auto *tunnel : {&result.tls, &result.dtls}) {
        if (!*tunnel)
            continue;
        const TunnelMtu &t = **tunnel;
        uint32_t overhead = overhead_bytes(t);
        std::snprintf(line, sizeof line, "\n%s MTU %u = %s %u - %u\n", t.protocol.c_str(), t.mtu,
                      base_name.c_str(), t.mtu + overhead, overhead);
        out += line;
        for (const auto &part : t.overhead) {
            std::snprintf(line, sizeof line, "  %5u  %s\n", part.bytes, part.name.c_str());
            out += line;
        }
    }
    if (!result.note.empty())
        out += "\nnote: " + result.note + "\n";
    return out;
}

nlohmann::json to_json(const MtuResult &result)
{
    auto tunnel_json = [](const std::optional<TunnelMtu> &tunnel) -> nlohmann::json {
        if (!tunnel)
            return nullptr;
        nlohmann::json parts = nlohmann::json::array();
        for (const auto &p : tunnel->overhead)
            parts.push_back({{"name", p.name}, {"bytes", p.bytes}});
        return {{"protocol", tunnel->protocol},
                {"mtu", tunnel->mtu},
                {"overhead_bytes", overhead_bytes(*tunnel)},
                {"overhead", parts}};
    };
    nlohmann::json out = {{"cipher", result.cipher}, {"padding", padding_name(result.padding)}};
    if (result.link_mtu)
        out["link_mtu"] = *result.link_mtu;
    if (result.tcp_mss)
        out["tcp_mss"] = *result.tcp_mss;
    out["tls"] = tunnel_json(result.tls);
    out["dtls"] = tunnel_json(result.dtls);
    out["note"] = result.note;
    return out;
}

} // namespace mtuguard
