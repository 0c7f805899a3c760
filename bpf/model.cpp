#include "model.hpp"

#include <cstring>
#include <optional>

namespace mtuguard::model {
namespace {

enum Ethertype : uint16_t { ethertype_ipv4 = 0x0800, ethertype_ipv6 = 0x86dd, ethertype_vlan = 0x8100, ethertype_qinq = 0x88a8 };
enum Protocol : uint8_t { proto_icmp = 1, proto_icmpv6 = 58 };

uint16_t be16(std::span<const uint8_t> f, size_t at) { return f[at] << 8 | f[at + 1]; }

void put16(std::vector<uint8_t> &f, size_t at, uint16_t v)
{
    f[at] = v >> 8;
    f[at + 1] = v & 0xff;
}

void put32(std::vector<uint8_t> &f, size_t at, uint32_t v)
{
    put16(f, at, v >> 16);
    put16(f, at + 2, v & 0xffff);
}

bool prefix_matches(const mg_pool_key &key, const uint8_t *addr)
{
    for (unsigned bit = 0; bit < key.prefixlen; ++bit) {
        uint8_t mask = 0x80 >> (bit % 8);
        if ((key.addr.bytes[bit / 8] & mask) != (addr[bit / 8] & mask))
            return false;
    }
    return true;
}

// Exact address first, then the longest matching pool prefix.
const mg_session *lookup(const State &state, const uint8_t *addr)
{
    if (auto it = state.sessions.find(std::vector<uint8_t>(addr, addr + 16));
        it != state.sessions.end())
        return &it->second;
    const std::pair<mg_pool_key, mg_session> *best = nullptr;
    for (const auto &pool : state.pools) {
        if (prefix_matches(pool.first, addr) &&
            (!best || pool.first.prefixlen > best->first.prefixlen))
            best = &pool;
    }
    return best ? &best->second : nullptr;
}

struct Upper {
    bool known = false;
    uint8_t proto = 0;
    bool later_fragment = false;
    std::optional<uint8_t> icmp_type;
    size_t l4 = 0;
};

Upper ipv4_upper(std::span<const uint8_t> f, size_t l3)
{
    Upper up;
    up.known = true;
    up.proto = f[l3 + 9];
    up.later_fragment = (be16(f, l3 + 6) & MG_IP_OFFSET) != 0;
    size_t l4 = l3 + (f[l3] & 0xf) * 4;
    if (!up.later_fragment && up.proto == proto_icmp && l4 < f.size())
        up.icmp_type = f[l4];
    return up;
}

// RFC 8200 4: at most 8 extension headers, each inside the packet's own length. Options and
// routing headers count 8-byte units after the first 8, AH (RFC 4302) 4-byte units after 8.
Upper ipv6_upper(std::span<const uint8_t> f, size_t l3, size_t end)
{
    Upper up;
    uint8_t next = f[l3 + 6];
    size_t off = l3 + 40;
    for (int i = 0; i < 8; ++i) {
        if (next == 0 || next == 43 || next == 60 || next == 51) {
            if (off + 2 > end)
                return up;
            size_t length = next == 51 ? (f[off + 1] + 2) * 4 : (f[off + 1] + 1) * 8;
            next = f[off];
            off += length;
        } else if (next == 44) {
            if (off + 8 > end)
                return up;
            bool later = (be16(f, off + 2) & 0xfff8) != 0;
            next = f[off];
            off += 8;
            if (later) {
                up.known = true;
                up.proto = next;
                up.later_fragment = true;
                return up;
            }
        } else {
            up.known = true;
            up.proto = next;
            up.l4 = off;
            if (next == proto_icmpv6 && off + 1 <= end)
                up.icmp_type = f[off];
            return up;
        }
    }
    return up;
}

bool ipv4_bad_source(const uint8_t *a) { return a[0] == 0 || a[0] == 127 || a[0] >= 224; }

bool ipv4_group_destination(const uint8_t *a)
{
    return (a[0] >> 4) == 0xe || (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

bool ipv6_bad_source(const uint8_t *a)
{
    static const uint8_t zero[15] = {};
    return a[0] == 0xff || (std::memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1));
}

bool icmp4_is_error(uint8_t type)
{
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

// The L2 header back to the sender, from the interface's own MAC (never the frame's destination,
// which may be a group address), the VLAN tags kept.
std::vector<uint8_t> reply_l2(std::span<const uint8_t> f, size_t l3, const mg_iface &iface)
{
    std::vector<uint8_t> out(f.begin(), f.begin() + l3);
    std::memcpy(out.data(), f.data() + 6, 6);
    std::memcpy(out.data() + 6, iface.mac, 6);
    return out;
}

std::vector<uint8_t> frag_needed(std::span<const uint8_t> f, size_t l3, const mg_iface &iface,
                                 uint32_t mtu)
{
    std::vector<uint8_t> out = reply_l2(f, l3, iface);
    const size_t ip = out.size();
    out.resize(ip + 28);
    out[ip] = 0x45;
    out[ip + 1] = 0xc0; // precedence internetwork control
    put16(out, ip + 2, 20 + 8 + MG_ICMP4_QUOTE);
    out[ip + 8] = MG_ICMP_TTL;
    out[ip + 9] = proto_icmp;
    std::memcpy(&out[ip + 12], iface.icmp_src4, 4);
    std::memcpy(&out[ip + 16], &f[l3 + 12], 4);
    put16(out, ip + 10, internet_checksum({&out[ip], 20}));
    out[ip + 20] = 3; // destination unreachable
    out[ip + 21] = 4; // fragmentation needed and DF set
    put16(out, ip + 26, mtu);
    out.insert(out.end(), f.begin() + l3, f.begin() + l3 + MG_ICMP4_QUOTE);
    put16(out, ip + 22, internet_checksum({&out[ip + 20], 8 + MG_ICMP4_QUOTE}));
    return out;
}

std::vector<uint8_t> packet_too_big(std::span<const uint8_t> f, size_t l3, const mg_iface &iface,
                                    uint32_t mtu)
{
    std::vector<uint8_t> out = reply_l2(f, l3, iface);
    const size_t ip = out.size();
    const uint16_t length = 8 + MG_ICMP6_QUOTE;
    out.resize(ip + 48);
    out[ip] = 0x60;
    put16(out, ip + 4, length);
    out[ip + 6] = proto_icmpv6;
    out[ip + 7] = MG_ICMP_TTL;
    std::memcpy(&out[ip + 8], iface.icmp_src6, 16);
    std::memcpy(&out[ip + 24], &f[l3 + 8], 16);
    out[ip + 40] = 2; // packet too big
    put32(out, ip + 44, mtu);
    out.insert(out.end(), f.begin() + l3, f.begin() + l3 + MG_ICMP6_QUOTE);

    // RFC 8200 8.1 pseudo-header: source, destination, upper-layer length, next header.
    std::vector<uint8_t> pseudo(out.begin() + ip + 8, out.begin() + ip + 40);
    pseudo.insert(pseudo.end(), {0, 0, uint8_t(length >> 8), uint8_t(length & 0xff), 0, 0, 0,
                                 proto_icmpv6});
    pseudo.insert(pseudo.end(), out.begin() + ip + 40, out.end());
    put16(out, ip + 42, internet_checksum(pseudo));
    return out;
}

// RFC 1624 eqn. 3 for one 16-bit word of a checksummed span changing from old to new.
void update_checksum(std::vector<uint8_t> &frame, size_t check_at, uint16_t old_word, uint16_t new_word)
{
    uint32_t sum = uint16_t(~be16(frame, check_at)) + uint16_t(~old_word) + new_word;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    put16(frame, check_at, ~sum & 0xffff);
}

// Updated, not recomputed: a corrupt header must stay corrupt for the kernel's own check to drop.
void clear_df(std::vector<uint8_t> &frame, size_t l3)
{
    uint16_t old_flags = be16(frame, l3 + 6), new_flags = old_flags & ~MG_IP_DF;
    update_checksum(frame, l3 + 10, old_flags, new_flags);
    put16(frame, l3 + 6, new_flags);
}

// The TCP header of an unfragmented SYN or SYN-ACK.
std::optional<size_t> tcp_syn(std::span<const uint8_t> f, size_t l3, size_t total, bool ipv6)
{
    constexpr uint8_t proto_tcp = 6;
    size_t l4;
    if (!ipv6) {
        if (f[l3 + 9] != proto_tcp || (be16(f, l3 + 6) & (MG_IP_MF | MG_IP_OFFSET)))
            return std::nullopt;
        l4 = l3 + (f[l3] & 0xf) * 4;
    } else if (f[l3 + 6] == proto_tcp) {
        l4 = l3 + 40;
    } else {
        Upper up = ipv6_upper(f, l3, l3 + total);
        if (!up.known || up.later_fragment || up.proto != proto_tcp)
            return std::nullopt;
        l4 = up.l4;
    }
    if (l4 + 13 >= f.size() || !(f[l4 + 13] & 0x02))
        return std::nullopt;
    return l4;
}

// RFC 9293 3.2 options: EOL ends the list, NOP is one byte, the rest carry a length of at least
// 2 that must fit; the first MSS option (length 4) is lowered to `target`, never raised.
mg_mss_outcome clamp_mss(std::vector<uint8_t> &frame, size_t l4, size_t l3_end, uint16_t target)
{
    if (l4 + 20 > frame.size())
        return MG_MSS_MALFORMED;
    size_t options = (frame[l4 + 12] >> 4) * 4;
    if (options < 20 || l4 + options > l3_end)
        return MG_MSS_MALFORMED;
    options -= 20;
    const size_t opt = l4 + 20;
    for (size_t pos = 0; pos < options;) {
        uint8_t kind = frame[opt + pos];
        if (kind == 0)
            break;
        if (kind == 1) {
            ++pos;
            continue;
        }
        if (pos + 2 > options)
            return MG_MSS_MALFORMED;
        uint8_t len = frame[opt + pos + 1];
        if (len < 2 || pos + len > options)
            return MG_MSS_MALFORMED;
        if (kind == 2) {
            if (len != 4)
                return MG_MSS_MALFORMED;
            uint16_t mss = be16(frame, opt + pos + 2);
            if (mss <= target)
                return MG_MSS_ALREADY_SMALL;
            put16(frame, opt + pos + 2, target);
            // Checksum words start at the TCP header: at an odd offset the value straddles two.
            const bool odd = pos & 1;
            auto word = [odd](uint16_t v) { return odd ? uint16_t(v << 8 | v >> 8) : v; };
            update_checksum(frame, l4 + 16, word(mss), word(target));
            return MG_MSS_CLAMPED;
        }
        pos += len;
    }
    return MG_MSS_NO_OPTION;
}

} // namespace

void State::add_session(const mg_addr &addr, const mg_session &session)
{
    sessions[std::vector<uint8_t>(addr.bytes, addr.bytes + 16)] = session;
}

void State::add_pool(const mg_pool_key &key, const mg_session &session)
{
    pools.emplace_back(key, session);
}

uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t seed)
{
    uint64_t sum = seed;
    for (size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += bytes[i] << 8 | bytes[i + 1];
    if (bytes.size() % 2)
        sum += bytes.back() << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

namespace {

// The link layer and the IP header as the parser reads them (Ethernet and up to two VLAN tags,
// or a tun device's bare IP packet): the family, where IP starts, its length and DF, and the
// session address (the destination; the source from a client). A reason when it is not IP or
// does not parse.
struct Headers {
    mg_family family = MG_FAMILY_OTHER;
    size_t l3 = 0;
    size_t total = 0;
    bool df = false;
    bool l3_only = false;
    uint8_t peer[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
};

std::optional<mg_reason> parse_headers(std::span<const uint8_t> f, const State &state, bool from_client, Headers &h)
{
    h.l3_only = state.iface && state.iface->l3_only;
    uint16_t ethertype;
    if (h.l3_only) {
        if (f.empty())
            return MG_REASON_NOT_IP;
        ethertype = f[0] >> 4 == 4 ? ethertype_ipv4 : f[0] >> 4 == 6 ? ethertype_ipv6 : 0;
    } else {
        if (f.size() < 14)
            return MG_REASON_NOT_IP;
        ethertype = be16(f, 12);
        h.l3 = 14;
        for (int tags = 0; tags < 2 && (ethertype == ethertype_vlan || ethertype == ethertype_qinq); ++tags) {
            if (f.size() < h.l3 + 4)
                return MG_REASON_NOT_IP;
            ethertype = be16(f, h.l3 + 2);
            h.l3 += 4;
        }
    }
    const size_t l3 = h.l3, avail = f.size() - l3;
    if (ethertype == ethertype_ipv4) {
        h.family = MG_FAMILY_IPV4;
        if (avail < 20)
            return MG_REASON_MALFORMED;
        size_t header = (f[l3] & 0xf) * 4;
        h.total = be16(f, l3 + 2);
        if (f[l3] >> 4 != 4 || header < 20 || h.total < header || h.total > avail)
            return MG_REASON_MALFORMED;
        h.df = be16(f, l3 + 6) & MG_IP_DF;
        std::memcpy(h.peer + 12, &f[l3 + (from_client ? 12 : 16)], 4);
    } else if (ethertype == ethertype_ipv6) {
        h.family = MG_FAMILY_IPV6;
        if (avail < 40)
            return MG_REASON_MALFORMED;
        h.total = be16(f, l3 + 4) + 40;
        if (f[l3] >> 4 != 6 || h.total > avail)
            return MG_REASON_MALFORMED;
        std::memcpy(h.peer, &f[l3 + (from_client ? 8 : 24)], 16);
    } else {
        return MG_REASON_NOT_IP;
    }
    return std::nullopt;
}

} // namespace

MssVerdict clamp(std::span<const uint8_t> f, const State &state, bool from_client)
{
    MssVerdict v;
    v.frame.assign(f.begin(), f.end());
    Headers h;
    if (parse_headers(f, state, from_client, h))
        return v;
    const bool ipv6 = h.family == MG_FAMILY_IPV6;
    std::optional<size_t> l4 = tcp_syn(f, h.l3, h.total, ipv6);
    if (!l4)
        return v;
    const mg_session *session = lookup(state, h.peer);
    if (!session)
        return v;
    const uint32_t mtu = session->transport == MG_TRANSPORT_DTLS ? session->dtls_mtu : session->tls_mtu;
    const bool enabled =
        session->mss_clamp == MG_MSS_ON || (session->mss_clamp == MG_MSS_DEFAULT && state.settings.mss_clamp);
    v.mss_outcome = enabled ? clamp_mss(v.frame, *l4, h.l3 + h.total, uint16_t(mtu - (ipv6 ? 60 : 40)))
                            : MG_MSS_DISABLED;
    return v;
}

Verdict decide(std::span<const uint8_t> f, const State &state)
{
    Verdict v;
    v.frame.assign(f.begin(), f.end());
    auto done = [&v](mg_reason reason) {
        v.reason = reason;
        v.xdp_action = mg_reason_xdp_action(reason);
        return v;
    };

    const bool from_client = state.iface && state.iface->direction == MG_DIR_FROM_CLIENT;
    Headers h;
    std::optional<mg_reason> unparsed = parse_headers(f, state, from_client, h);
    v.family = h.family;
    if (unparsed)
        return done(*unparsed);
    const bool l3_only = h.l3_only;
    const size_t l3 = h.l3, total = h.total;
    const bool df = h.df;
    const uint8_t *dst = h.peer;

    // The session and its effective MTU
    const mg_session *session = lookup(state, dst);
    if (!session)
        return done(MG_REASON_NO_SESSION);
    const uint32_t mtu = session->transport == MG_TRANSPORT_DTLS ? session->dtls_mtu : session->tls_mtu;
    const bool ipv6 = v.family == MG_FAMILY_IPV6;
    const uint32_t threshold = ipv6 && mtu < MG_IPV6_MIN_MTU ? MG_IPV6_MIN_MTU : mtu;
    if (from_client)
        return done(MG_REASON_FROM_CLIENT);
    if (total <= mtu)
        return done(MG_REASON_WITHIN_MTU);
    if (state.iface && state.iface->mtu && total > state.iface->mtu)
        return done(MG_REASON_AGGREGATED);
    if (total <= threshold)
        return done(MG_REASON_IPV6_BELOW_MIN);
    if (!ipv6 && !df)
        return done(MG_REASON_FRAGMENTED);

    // Oversize and not to be fragmented: the configured action
    switch (state.settings.action) {
    case MG_ACTION_DROP:
        return done(MG_REASON_DROPPED);
    case MG_ACTION_MONITOR:
        return done(MG_REASON_MONITORED);
    case MG_ACTION_CLEAR_DF:
        if (!ipv6) {
            clear_df(v.frame, l3);
            return done(MG_REASON_DF_CLEARED);
        }
        break; // IPv6 has no DF: the sender must learn the MTU
    default:
        break;
    }

    // May an ICMP error be sent at all? (RFC 1812 4.3.2.7, RFC 4443 2.4(e))
    mg_addr source{};
    const uint8_t *src = ipv6 ? &f[l3 + 8] : &f[l3 + 12];
    if (!ipv6) {
        Upper up = ipv4_upper(f, l3);
        if (up.later_fragment)
            return done(MG_REASON_SUPPRESSED_FRAGMENT);
        if (up.icmp_type && icmp4_is_error(*up.icmp_type))
            return done(MG_REASON_SUPPRESSED_ICMP_ERROR);
        if ((f[0] & 1) || ipv4_group_destination(&f[l3 + 16]))
            return done(MG_REASON_SUPPRESSED_MULTICAST);
        if (ipv4_bad_source(src))
            return done(MG_REASON_SUPPRESSED_BAD_SOURCE);
        if (!state.iface || l3_only || !state.iface->has_src4 || !state.iface->has_mac)
            return done(MG_REASON_SUPPRESSED_NO_ADDRESS);
        source.bytes[10] = source.bytes[11] = 0xff;
        std::memcpy(&source.bytes[12], src, 4);
    } else {
        Upper up = ipv6_upper(f, l3, l3 + total);
        if (!up.known || (up.proto == proto_icmpv6 && !up.later_fragment && !up.icmp_type))
            return done(MG_REASON_SUPPRESSED_UNPARSED);
        if (up.icmp_type && (*up.icmp_type < 128 || *up.icmp_type == 137))
            return done(MG_REASON_SUPPRESSED_ICMP_ERROR);
        if (ipv6_bad_source(src))
            return done(MG_REASON_SUPPRESSED_BAD_SOURCE);
        if (!state.iface || l3_only || !state.iface->has_src6 || !state.iface->has_mac)
            return done(MG_REASON_SUPPRESSED_NO_ADDRESS);
        std::memcpy(source.bytes, src, 16);
    }
    if (!state.icmp_allowed(source))
        return done(MG_REASON_ICMP_RATELIMITED);
    v.frame = ipv6 ? packet_too_big(f, l3, *state.iface, threshold)
                   : frag_needed(f, l3, *state.iface, threshold);
    return done(MG_REASON_ICMP_SENT);
}

} // namespace mtuguard::model
