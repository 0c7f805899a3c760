// The verdict paths mtuguard_bench measures: for each, the frame (built by tests/common's packet
// builder), the instance it runs on and the one counter it must bump.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

#include "bench.hpp"
#include "packet.hpp"

namespace mtuguard::bench {
namespace {

using test::Ipv4Packet;
using test::Ipv6Packet;
using test::Payload;

// Ethernet + IP (DF set for IPv4) + UDP, `l3_len` bytes from the IP header on, zero payload.
std::vector<uint8_t> udp_frame(const Prefix &src, const Prefix &dst, uint16_t l3_len)
{
    if (dst.ipv4) {
        Ipv4Packet p{.src = src.to_string(), .dst = dst.to_string(), .total_length = l3_len, .protocol = 17,
                     .ttl = 64, .upper = test::udp_header(40000, 5001, l3_len - 20), .payload = Payload::Zero};
        return p.build();
    }
    Ipv6Packet p{.src = src.to_string(), .dst = dst.to_string(), .total_length = l3_len, .next_header = 17,
                 .hop_limit = 64, .upper = test::udp_header(40000, 5001, l3_len - 40), .payload = Payload::Zero};
    return p.build();
}

class PathBuilder {
public:
    PathBuilder(const Instances &in, const Options &options, PathSet &set)
        : in_(in), options_(options), set_(set), src4_(parse_address(addresses.sender4)),
          src6_(parse_address(addresses.sender6)), other4_(parse_address(addresses.stranger4))
    {
    }

    size_t add(Path p)
    {
        set_.all.push_back(std::move(p));
        return set_.all.size() - 1;
    }

    size_t udp(const std::string &name, const std::string &sessions, const Datapath *d, const Prefix &dst,
               uint16_t l3_len, uint32_t reason, uint32_t action = xdp_pass_action, bool repeatable = true)
    {
        return add({.name = name,
                    .sessions = sessions,
                    .datapath = d,
                    .frame = udp_frame(dst.ipv4 ? src4_ : src6_, dst, l3_len),
                    .family = dst.ipv4 ? uint32_t(MG_FAMILY_IPV4) : uint32_t(MG_FAMILY_IPV6),
                    .reason = reason,
                    .action = action,
                    .repeatable = repeatable});
    }

    size_t none(const std::string &suffix, const Datapath *d, const std::string &count)
    {
        return udp("no session, IPv4" + suffix, count, d, other4_, within_len, MG_REASON_NO_SESSION);
    }

    size_t within(const std::string &suffix, const Datapath *d, const std::string &count, const Prefix &dst)
    {
        return udp(std::string("session within MTU, ") + (dst.ipv4 ? "IPv4" : "IPv6") + suffix, count, d, dst,
                   within_len, MG_REASON_WITHIN_MTU);
    }

    // A different session every packet: the shuffled walk, kept to this instance's sessions.
    size_t varied(const std::string &suffix, const Datapath *d, uint32_t n, const Prefix &first4)
    {
        size_t i = within(suffix, d, std::to_string(n), first4);
        Path &p = set_.all[i];
        p.name = "session within MTU, IPv4, a different session every packet" + suffix;
        p.repeatable = false; // one frame per syscall: only the difference method varies it
        p.vary = [&order = set_.order, n, first4](std::vector<uint8_t> &frame, size_t run) {
            uint32_t k = order[run % order.size()];
            const Prefix a = nth_host(first4, n == order.size() ? k : k % n);
            std::memcpy(&frame[eth_len + 16], &a.addr.bytes[12], 4);
        };
        return i;
    }

    // The same paths at each size of the session table, on a session from the middle of it.
    ConfigPaths sizes(const std::string &suffix, const Datapath &one, const std::vector<std::unique_ptr<Datapath>> &big,
                      const Prefix &f4, const Prefix &f6, bool none_at_sizes)
    {
        ConfigPaths p{none(suffix, &one, "1"), within(suffix, &one, "1", f4), within(suffix, &one, "1", f6), {}};
        for (size_t b = 0; b < big.size(); ++b) {
            const uint32_t n = options_.sessions[b];
            const std::string count = std::to_string(n);
            const Datapath *d = big[b].get();
            BigPaths bp{n, SIZE_MAX, 0, 0, 0};
            if (none_at_sizes)
                bp.none = none(suffix, d, count);
            bp.within4 = within(suffix, d, count, nth_host(f4, n / 2));
            bp.within6 = within(suffix, d, count, nth_host(f6, n / 2));
            bp.varied = varied(suffix, d, n, f4);
            p.bigs.push_back(bp);
        }
        return p;
    }

    // A TCP SYN whose only option is MSS `mss`, within MTU, to the first client-pool session: in
    // XDP a packet like any other (its options are the tc clamp's, measured behind a restore).
    size_t syn(bool v6, uint16_t mss)
    {
        const Prefix &dst = v6 ? in_.client_first6 : in_.client_first4;
        Path p{.name = std::string("TCP SYN within MTU (XDP; the clamp is in tc), ") + (v6 ? "IPv6" : "IPv4") +
                       ", client pool",
               .sessions = "1",
               .datapath = in_.direct_few.get(),
               .frame = syn_frame(v6 ? src6_ : src4_, dst, mss),
               .family = v6 ? uint32_t(MG_FAMILY_IPV6) : uint32_t(MG_FAMILY_IPV4),
               .reason = MG_REASON_WITHIN_MTU};
        return add(std::move(p));
    }

    const Prefix &src4() const { return src4_; }
    const Prefix &other4() const { return other4_; }

private:
    const Instances &in_;
    const Options &options_;
    PathSet &set_;
    const Prefix src4_, src6_, other4_;
};

const std::string in_pool = ", client pool", hashed_name = ", hashed (outside the client pool)";

// With client pools. Outside the pools a packet takes the hash like any other, so the
// no-session path (outside) is measured at one session only, and inside, an empty slot.
void add_client_pool_paths(PathBuilder &b, PathSet &set, const Instances &in)
{
    set.direct = b.sizes(in_pool, *in.direct_few, in.direct_bigs, in.client_first4, in.client_first6, false);
    set.all[set.direct.none].name = "no session, IPv4, outside the client pool";
    set.direct_empty = b.udp("no session, IPv4, an empty slot of the client pool", "1", in.direct_few.get(),
                             parse_address(addresses.empty_slot4), within_len, MG_REASON_NO_SESSION);
    // The same session in the last of 16 client pools per family: the longest search.
    set.sixteen_within4 = b.within(", the 16th of 16 client pools", in.direct_sixteen.get(), "1", in.client_first4);
    set.sixteen_within6 = b.within(", the 16th of 16 client pools", in.direct_sixteen.get(), "1", in.client_first6);
    // Pool prefixes inside the client pools: their slots answer, one lookup as for a session.
    set.direct_pool_within4 = b.udp("pool prefix within MTU, IPv4, inside the client pool", "1 + a pool",
                                    in.direct_pooled.get(), parse_address(addresses.client_pool_member4),
                                    within_len, MG_REASON_WITHIN_MTU);
    set.direct_pool_within6 = b.udp("pool prefix within MTU, IPv6, inside the client pool", "1 + a pool",
                                    in.direct_pooled.get(), parse_address(addresses.client_pool_member6),
                                    within_len, MG_REASON_WITHIN_MTU);
    // TCP SYNs through the XDP program, which leaves TCP options to the tc clamp (see the MSS row
    // behind a restore).
    set.syn_small4 = b.syn(false, mss_small);
    set.syn_small6 = b.syn(true, mss_small);
    const Datapath *silent = in.direct_silent.get(), *few = in.direct_few.get();
    set.silent4 = b.udp("over MTU, ICMPv4 withheld: no source address" + in_pool, "1", silent, in.client_first4,
                        over_len, MG_REASON_SUPPRESSED_NO_ADDRESS, xdp_drop_action);
    set.silent6 = b.udp("over MTU, ICMPv6 withheld: no source address" + in_pool, "1", silent, in.client_first6,
                        over_len, MG_REASON_SUPPRESSED_NO_ADDRESS, xdp_drop_action);
    set.icmp4 = b.udp("over MTU → ICMPv4 fragmentation needed" + in_pool, "1", few, in.client_first4, over_len,
                      MG_REASON_ICMP_SENT, xdp_tx_action, false);
    set.icmp6 = b.udp("over MTU → ICMPv6 Packet Too Big" + in_pool, "1", few, in.client_first6, over_len,
                      MG_REASON_ICMP_SENT, xdp_tx_action, false);
}

// Hashed: the within-MTU and no-session paths at every size; the pool prefixes, which an exact
// lookup misses and the trie finds. The verdicts after the lookup (MSS, ICMP) are the same code
// as with client pools, measured there only.
void add_hashed_paths(PathBuilder &b, PathSet &set, const Instances &in)
{
    set.hashed = b.sizes(hashed_name, *in.few, in.bigs, in.first4, in.first6, true);
    set.pool_within4 = b.udp("pool prefix within MTU, IPv4" + hashed_name, "1 + a pool", in.pooled.get(),
                             parse_address(addresses.pool_member4), within_len, MG_REASON_WITHIN_MTU);
    set.pool_within6 = b.udp("pool prefix within MTU, IPv6" + hashed_name, "1 + a pool", in.pooled.get(),
                             parse_address(addresses.pool_member6), within_len, MG_REASON_WITHIN_MTU);
    set.pool_none4 = b.udp("no session, IPv4, pool prefixes in use" + hashed_name, "1 + a pool", in.pooled.get(),
                           b.other4(), within_len, MG_REASON_NO_SESSION);
}

} // namespace

// Ethernet + IP + a TCP segment with `flags` and `options`, `payload` zero bytes after it.
std::vector<uint8_t> tcp_frame(const Prefix &src, const Prefix &dst, uint8_t flags, const test::Bytes &options,
                               uint16_t payload)
{
    const test::Bytes tcp = test::tcp_header(40000, 443, flags, 64240, options);
    const size_t l4 = tcp.size() + payload;
    test::Bytes f;
    if (dst.ipv4)
        f = Ipv4Packet{.src = src.to_string(), .dst = dst.to_string(), .total_length = uint16_t(20 + l4),
                       .protocol = 6, .ttl = 64, .upper = tcp,
                       // Ethernet's minimum frame (without FCS) and more
                       .trailer = 64 - std::min<size_t>(64, eth_len + 20 + l4), .payload = Payload::Zero}
                .build();
    else
        f = Ipv6Packet{.src = src.to_string(), .dst = dst.to_string(), .total_length = uint16_t(40 + l4),
                       .next_header = 6, .hop_limit = 64, .upper = tcp, .payload = Payload::Zero}
                .build();
    test::set_tcp_checksum(f, eth_len);
    return f;
}

std::vector<uint8_t> syn_frame(const Prefix &src, const Prefix &dst, uint16_t mss)
{
    return tcp_frame(src, dst, 0x02, {2, 4, uint8_t(mss >> 8), uint8_t(mss)}, 0);
}

std::vector<uint8_t> data_frame(const Prefix &src, const Prefix &dst, uint16_t payload)
{
    return tcp_frame(src, dst, 0x10, {}, payload);
}

std::unique_ptr<PathSet> make_paths(const Instances &in, const Options &options)
{
    auto set = std::make_unique<PathSet>();
    const uint32_t most = *std::max_element(options.sessions.begin(), options.sessions.end());
    set->order.resize(most);
    std::iota(set->order.begin(), set->order.end(), 0);
    std::shuffle(set->order.begin(), set->order.end(), std::mt19937(12345));
    PathBuilder b(in, options, *set);
    set->base = b.add({.name = "empty XDP program (xdp_pass), the baseline",
                       .sessions = "–",
                       .frame = udp_frame(b.src4(), in.first4, within_len)});
    add_client_pool_paths(b, *set, in);
    add_hashed_paths(b, *set, in);
    return set;
}

} // namespace mtuguard::bench
