#include "packet.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <stdexcept>

namespace mtuguard::test {
namespace {

void put16(Bytes &b, size_t at, uint16_t v)
{
    b[at] = v >> 8;
    b[at + 1] = v & 0xff;
}

uint32_t sum16(std::span<const uint8_t> bytes)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes.size(); i += 2)
        sum += (bytes[i] << 8) | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
    return sum;
}

Bytes ethernet(const L2 &l2, uint16_t ethertype)
{
    Bytes b(l2.dst.begin(), l2.dst.end());
    b.insert(b.end(), l2.src.begin(), l2.src.end());
    uint16_t vid = 100;
    for (uint16_t tpid : l2.vlan_tpids) {
        b.insert(b.end(), {uint8_t(tpid >> 8), uint8_t(tpid), uint8_t(vid >> 8), uint8_t(vid)});
        ++vid;
    }
    b.insert(b.end(), {uint8_t(ethertype >> 8), uint8_t(ethertype)});
    return b;
}

// Byte i of the packet is i mod 251, or zero (as resize left it).
void fill_payload(Bytes &b, size_t from, size_t to, Payload payload)
{
    if (payload == Payload::Pattern)
        for (size_t i = from; i < to; ++i)
            b[i] = uint8_t(i % 251);
}

} // namespace

uint16_t get16(std::span<const uint8_t> b, size_t at) { return b[at] << 8 | b[at + 1]; }
uint32_t get32(std::span<const uint8_t> b, size_t at) { return uint32_t(get16(b, at)) << 16 | get16(b, at + 2); }

std::array<uint8_t, 4> ipv4(const std::string &text)
{
    std::array<uint8_t, 4> a;
    if (inet_pton(AF_INET, text.c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv4 " + text);
    return a;
}

std::array<uint8_t, 16> ipv6(const std::string &text)
{
    std::array<uint8_t, 16> a;
    if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv6 " + text);
    return a;
}

bool checksum_ok(std::span<const uint8_t> bytes, uint32_t seed)
{
    uint64_t sum = uint64_t(seed) + sum16(bytes);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

uint32_t ipv6_pseudo_sum(std::span<const uint8_t> ip6)
{
    uint32_t length = get16(ip6, 4);
    return sum16(ip6.subspan(8, 32)) + length + ip6[6];
}

Bytes Ipv4Packet::build() const
{
    Bytes b = ethernet(l2, 0x0800);
    const size_t ip = b.size();
    const size_t header = 20 + options.size();
    b.resize(ip + std::max<size_t>(total_length, header) + trailer);
    b[ip] = 0x40 | uint8_t(header / 4);
    put16(b, ip + 2, total_length);
    put16(b, ip + 4, 0x1234);
    put16(b, ip + 6, (df ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0) | fragment_offset);
    b[ip + 8] = ttl;
    b[ip + 9] = protocol;
    auto s = ipv4(src), d = ipv4(dst);
    std::copy(s.begin(), s.end(), b.begin() + ip + 12);
    std::copy(d.begin(), d.end(), b.begin() + ip + 16);
    std::copy(options.begin(), options.end(), b.begin() + ip + 20);
    fill_payload(b, ip + header, b.size(), payload);
    std::copy(upper.begin(), upper.end(), b.begin() + ip + header);
    uint32_t sum = sum16({&b[ip], header});
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(b, ip + 10, ~sum & 0xffff);
    return b;
}

Bytes Ipv6Packet::build() const
{
    Bytes b = ethernet(l2, 0x86dd);
    const size_t ip = b.size();
    b.resize(ip + std::max<size_t>(total_length, 40) + trailer);
    b[ip] = 0x60;
    put16(b, ip + 4, total_length - 40);
    b[ip + 6] = next_header;
    b[ip + 7] = hop_limit;
    auto s = ipv6(src), d = ipv6(dst);
    std::copy(s.begin(), s.end(), b.begin() + ip + 8);
    std::copy(d.begin(), d.end(), b.begin() + ip + 24);
    fill_payload(b, ip + 40, b.size(), payload);
    std::copy(extension_headers.begin(), extension_headers.end(), b.begin() + ip + 40);
    std::copy(upper.begin(), upper.end(), b.begin() + ip + 40 + extension_headers.size());
    return b;
}

namespace {

// The sum over the pseudo-header and the TCP segment of the packet at l3.
uint64_t tcp_sum(std::span<const uint8_t> f, size_t l3)
{
    const bool v6 = f[l3] >> 4 == 6;
    const size_t l4 = v6 ? l3 + 40 : l3 + (f[l3] & 0xf) * 4;
    const size_t length = v6 ? get16(f, l3 + 4) : get16(f, l3 + 2) - (l4 - l3);
    uint64_t sum = v6 ? sum16(f.subspan(l3 + 8, 32)) : sum16(f.subspan(l3 + 12, 8));
    sum += length + 6;
    sum += sum16(f.subspan(l4, length));
    return sum;
}

uint16_t fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(sum);
}

} // namespace

void set_tcp_checksum(Bytes &frame, size_t l3)
{
    const size_t l4 = frame[l3] >> 4 == 6 ? l3 + 40 : l3 + (frame[l3] & 0xf) * 4;
    put16(frame, l4 + 16, 0);
    put16(frame, l4 + 16, ~fold(tcp_sum(frame, l3)) & 0xffff);
}

bool tcp_checksum_ok(std::span<const uint8_t> frame, size_t l3) { return fold(tcp_sum(frame, l3)) == 0xffff; }

bool ipv4_checksum_ok(std::span<const uint8_t> frame, size_t l3)
{
    return checksum_ok(frame.subspan(l3, (frame[l3] & 0xf) * 4));
}

Bytes tcp_header(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint16_t window, const Bytes &options)
{
    Bytes padded = options;
    while (padded.size() % 4)
        padded.push_back(0);
    Bytes tcp(20 + padded.size(), 0);
    put16(tcp, 0, src_port);
    put16(tcp, 2, dst_port);
    tcp[12] = uint8_t((tcp.size() / 4) << 4);
    tcp[13] = flags;
    put16(tcp, 14, window);
    std::copy(padded.begin(), padded.end(), tcp.begin() + 20);
    return tcp;
}

Bytes tcp_syn(const Bytes &options, uint8_t flags) { return tcp_header(50000, 80, flags, 0xfa00, options); }

Bytes udp_header(uint16_t src_port, uint16_t dst_port, uint16_t length)
{
    Bytes udp(8, 0);
    put16(udp, 0, src_port);
    put16(udp, 2, dst_port);
    put16(udp, 4, length);
    return udp;
}

std::string hex(std::span<const uint8_t> bytes)
{
    std::string out;
    char buf[4];
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
        out += buf;
        if (i % 16 == 15)
            out += '\n';
        else if (i % 2 == 1)
            out += ' ';
    }
    return out;
}

} // namespace mtuguard::test
