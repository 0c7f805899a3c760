// The MTU calculator: the TLS (CSTP over TCP) and the DTLS tunnel MTU of an AnyConnect-style
// session, computed from its cipher and the outer link MTU or TCP MSS, with the overhead broken
// down part by part (REFERENCE.md §2). Pure computation, no I/O: it serves `mtuguardctl mtu-calc`,
// `session add --cipher` and `--session ...,cipher=C,link-mtu=N` alike.
//
// A CBC cipher's padding is counted one of two ways, both in use by real headends:
//   conservative: a whole cipher block of padding is reserved (GnuTLS's estimate, what ocserv
//                 announces): AES-CBC-SHA1 over DTLS on a 1500-byte IPv4 path gives 1406;
//   exact:        the largest payload whose padded record still fits (what the Cisco ASA
//                 announces): the same cipher gives 1418.
// AEAD and stream ciphers have no padding, so both ways give the same MTU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mtuguard {

enum class Outer { Ipv4, Ipv6 };

enum class Padding { Conservative, Exact };

struct MtuRequest {
    std::string cipher;               // one of cipher_names() (case-insensitive)
    std::string tls_version = "1.2";  // "1.2" | "1.3"
    std::string dtls_version = "1.2"; // "1.0" | "1.2"
    // Exactly one of the two. The link MTU (path MTU of the outer network) gives both MTUs; the
    // TCP MSS of the TLS connection gives the TLS MTU the ASA's way (MSS − TLS record − 8 CSTP).
    std::optional<uint32_t> link_mtu;
    std::optional<uint32_t> tcp_mss;
    Outer outer = Outer::Ipv4;
    Padding padding = Padding::Conservative;
};

// One piece of the overhead, outermost first, e.g. {"IPv4 header", 20}, {"explicit IV", 16}.
struct OverheadPart {
    std::string name;
    uint32_t bytes;
};

struct TunnelMtu {
    std::string protocol; // "TLS 1.2", "DTLS 1.0", ...
    uint32_t mtu;
    // Sums exactly to (link MTU or TCP MSS) − mtu. Parts that are zero are left out.
    std::vector<OverheadPart> overhead;
};

struct MtuResult {
    std::string cipher; // canonical name
    std::optional<uint32_t> link_mtu;
    std::optional<uint32_t> tcp_mss;
    Padding padding;
    std::optional<TunnelMtu> tls;
    std::optional<TunnelMtu> dtls; // absent for TLS-only ciphers (rc4) and with a TCP MSS
    std::string note;               // why a channel is absent, empty otherwise
};

// Throws std::invalid_argument naming the bad value: an unknown cipher (listing the known ones),
// an unknown version, neither or both of link-mtu/tcp-mss, a value out of range, a cipher the
// protocol version does not have, or a result below the 576-byte minimum tunnel MTU.
MtuResult calculate_mtu(const MtuRequest &request);

std::vector<std::string> cipher_names();

const char *padding_name(Padding padding); // "conservative" | "exact"
const char *outer_name(Outer outer);       // "ipv4" | "ipv6"

// A readable multi-line breakdown for the CLI that says which padding way was used.
std::string format_result(const MtuResult &result);

// {"cipher", "padding", "link_mtu"|"tcp_mss", "tls", "dtls", "note"}; an absent channel is null,
// a present one {"protocol", "mtu", "overhead_bytes", "overhead": [{"name", "bytes"}, ...]}.
nlohmann::json to_json(const MtuResult &result);

} // namespace mtuguard
