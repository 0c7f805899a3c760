// Packets built field by field, and an Internet checksum verifier written independently of
// both the BPF program and the reference model: the frames of the tests, of the test tools
// (tests/tools) and of the benchmarks (bench/).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mtuguard::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

constexpr Mac gateway_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr Mac server_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

struct L2 {
    Mac dst = gateway_mac;
    Mac src = server_mac;
    std::vector<uint16_t> vlan_tpids; // 0x8100 / 0x88a8, outermost first
};

// What fills the bytes after the headers given.
enum class Payload {
    Pattern, // byte i of the packet is i mod 251: recognisable in a quote
    Zero,
};

struct Ipv4Packet {
    L2 l2;
    std::string src = "198.51.100.10";
    std::string dst = "10.8.0.5";
    uint16_t total_length = 1418;
    bool df = true;
    bool more_fragments = false;
    uint16_t fragment_offset = 0; // in 8-byte units
    uint8_t protocol = 6;         // TCP
    uint8_t ttl = 61;
    Bytes options;                // a multiple of 4 bytes
    Bytes upper;                  // the first bytes of the payload (e.g. an ICMP header)
    size_t trailer = 0;           // bytes after the IP packet (Ethernet padding)
    Payload payload = Payload::Pattern;
    Bytes build() const;
};

struct Ipv6Packet {
    L2 l2;
    std::string src = "2001:db8:100::10";
    std::string dst = "2001:db8::5";
    uint16_t total_length = 1418; // payload length + 40
    uint8_t next_header = 6;
    uint8_t hop_limit = 61;
    Bytes extension_headers; // already chained; next_header names the first
    Bytes upper;
    size_t trailer = 0;
    Payload payload = Payload::Pattern;
    Bytes build() const;
};

// Ones' complement sum over `bytes` (plus a seed) equals 0xffff: the checksum in it is right.
bool checksum_ok(std::span<const uint8_t> bytes, uint32_t seed = 0);
// The IPv6 upper-layer pseudo-header sum (RFC 8200 8.1) for the packet at `ip6`.
uint32_t ipv6_pseudo_sum(std::span<const uint8_t> ip6);

// The TCP checksum of the IPv4 or IPv6 packet at `l3` (pseudo-header included, RFC 9293 3.1):
// set it, or check it.
void set_tcp_checksum(Bytes &frame, size_t l3);
bool tcp_checksum_ok(std::span<const uint8_t> frame, size_t l3);
// A TCP header with the given ports, flags, window and option bytes (padded with EOL to a
// 4-byte multiple), sequence numbers and checksum 0.
Bytes tcp_header(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint16_t window, const Bytes &options);
// A TCP SYN header from port 50000 to 80 with the given flags and option bytes.
Bytes tcp_syn(const Bytes &options, uint8_t flags = 0x02);
// A UDP header of `length` bytes (header included), checksum 0 (none, for IPv4).
Bytes udp_header(uint16_t src_port, uint16_t dst_port, uint16_t length);
// The IPv4 header checksum of the packet at `l3` is right.
bool ipv4_checksum_ok(std::span<const uint8_t> frame, size_t l3);

uint16_t get16(std::span<const uint8_t> bytes, size_t at);
uint32_t get32(std::span<const uint8_t> bytes, size_t at);
std::array<uint8_t, 4> ipv4(const std::string &text);
std::array<uint8_t, 16> ipv6(const std::string &text);
std::string hex(std::span<const uint8_t> bytes);

} // namespace mtuguard::test
