#include "kernel/client_pool.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mtuguard {
namespace {

// The first `bits` bits of a and b agree.
bool same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    if (std::memcmp(a, b, bits / 8) != 0)
        return false;
    const uint8_t mask = uint8_t(0xff00 >> (bits % 8));
    return bits % 8 == 0 || ((a[bits / 8] ^ b[bits / 8]) & mask) == 0;
}

} // namespace

uint32_t low32(const mg_addr &addr)
{
    uint32_t word;
    std::memcpy(&word, &addr.bytes[12], 4);
    return ntohl(word);
}

mg_addr with_low32(const mg_addr &addr, uint32_t low)
{
    mg_addr out = addr;
    const uint32_t word = htonl(low);
    std::memcpy(&out.bytes[12], &word, 4);
    return out;
}

ClientPoolSpan span_of(const Prefix &pool)
{
    ClientPoolSpan span;
    std::memcpy(span.high, pool.addr.bytes, 12);
    if (!fits_client_pool(pool))
        throw std::invalid_argument("client pool " + pool.to_string() + " is larger than 2^20 addresses");
    span.size = 1u << (128 - pool.mapped_length());
    span.first = low32(pool.addr) & ~(span.size - 1);
    return span;
}

std::optional<uint32_t> slot_offset(const ClientPoolSpan &span, const Prefix &host)
{
    if (!host.is_host() || std::memcmp(host.addr.bytes, span.high, 12) != 0)
        return std::nullopt;
    const uint32_t offset = low32(host.addr) - span.first;
    return offset < span.size ? std::optional<uint32_t>(offset) : std::nullopt;
}

// Offsets [first, second) of the slots of `span` that the pool prefix covers; empty if none.
std::pair<uint32_t, uint32_t> covered(const ClientPoolSpan &span, const Prefix &pool)
{
    const unsigned length = pool.mapped_length();
    if (!same_bits(pool.addr.bytes, span.high, std::min(length, 96u)))
        return {0, 0};
    uint64_t begin = 0, end = uint64_t(1) << 32;
    if (length > 96) {
        const uint64_t size = uint64_t(1) << (128 - length);
        begin = low32(pool.addr) & ~(size - 1);
        end = begin + size;
    }
    begin = std::max<uint64_t>(begin, span.first);
    end = std::min<uint64_t>(end, uint64_t(span.first) + span.size);
    return begin < end ? std::pair<uint32_t, uint32_t>(begin - span.first, end - span.first)
                       : std::pair<uint32_t, uint32_t>(0, 0);
}

mg_client_pools pools_setting(const Prefix *pool4, const Prefix *pool6)
{
    mg_client_pools setting{};
    if (pool4) {
        ClientPoolSpan span = span_of(*pool4);
        setting.first4 = span.first;
        setting.size4 = span.size;
    }
    if (pool6) {
        ClientPoolSpan span = span_of(*pool6);
        std::memcpy(setting.prefix6, span.high, 12);
        setting.first6 = span.first;
        setting.size6 = span.size;
    }
    return setting;
}

// A slot's policy is its first 8 bytes, written and read whole (see struct mg_session).
uint64_t policy_word(const mg_session &session)
{
    uint64_t word;
    std::memcpy(&word, &session, sizeof(word));
    return word;
}

uint64_t load_policy(const mg_session *slot)
{
    return __atomic_load_n(reinterpret_cast<const uint64_t *>(slot), __ATOMIC_ACQUIRE);
}

void store_policy(mg_session *slot, uint64_t word)
{
    __atomic_store_n(reinterpret_cast<uint64_t *>(slot), word, __ATOMIC_RELEASE);
}

mg_session load_slot(const mg_session *slot)
{
    mg_session session;
    const uint64_t policy = load_policy(slot);
    std::memcpy(&session, &policy, sizeof(policy));
    session.stats.oversize_packets = __atomic_load_n(&slot->stats.oversize_packets, __ATOMIC_RELAXED);
    session.stats.icmp_sent = __atomic_load_n(&slot->stats.icmp_sent, __ATOMIC_RELAXED);
    session.stats.last_oversize_ns = __atomic_load_n(&slot->stats.last_oversize_ns, __ATOMIC_RELAXED);
    return session;
}

void store_stats(mg_session *slot, const mg_session_stats &stats)
{
    __atomic_store_n(&slot->stats.oversize_packets, stats.oversize_packets, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->stats.icmp_sent, stats.icmp_sent, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->stats.last_oversize_ns, stats.last_oversize_ns, __ATOMIC_RELAXED);
}

bool holds_session(uint64_t word)
{
    mg_session policy{};
    std::memcpy(&policy, &word, sizeof(word));
    return policy.dtls_mtu && !(policy.flags & MG_SESSION_POOL_FILL);
}

// What a slot without a session holds under a pool prefix: its policy, marked.
uint64_t fill_word(const mg_session &pool)
{
    mg_session fill = pool;
    fill.flags |= MG_SESSION_POOL_FILL;
    return policy_word(fill);
}

} // namespace mtuguard
