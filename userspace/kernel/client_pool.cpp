#include "kernel/client_pool.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <utility>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

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

namespace {

// A span's first address as the program compares it: its first and last 64 bits, host order.
std::pair<uint64_t, uint64_t> halves(const ClientPoolSpan &span)
{
    uint64_t high = 0, middle = 0;
    for (int i = 0; i < 8; ++i)
        high = high << 8 | span.high[i];
    for (int i = 8; i < 12; ++i)
        middle = middle << 8 | span.high[i];
    return {high, middle << 32 | span.first};
}

// The binary search's first step over `count` entries: the largest power of two below it (0
// for one entry or none).
uint32_t first_step(size_t count)
{
    uint32_t step = 0;
    while ((step ? 2 * step : 1) < count)
        step = step ? 2 * step : 1;
    return step;
}

// The buckets of one family under one seed (see struct mg_client_pools): every block of every
// pool marks its bucket with the pool's entry; a bucket two pools' blocks share is searched.
// Returns how many are.
template <size_t N>
size_t fill_buckets(__u8 (&buckets)[N], const std::vector<ClientPoolSpan> &spans, bool ipv4, uint32_t shift,
                    uint64_t seed)
{
    constexpr uint8_t unused = 0xff;
    std::fill(std::begin(buckets), std::end(buckets), unused);
    for (size_t entry = 0; entry < spans.size(); ++entry) {
        // As the program reads them: an IPv4 address is its 32 bits alone.
        const auto [high, low] = ipv4 ? std::pair<uint64_t, uint64_t>{0, spans[entry].first} : halves(spans[entry]);
        for (uint64_t block = 0; block < spans[entry].size >> shift; ++block) {
            uint8_t &bucket = buckets[mg_pool_bucket(high, low + (block << shift), shift, seed)];
            bucket = bucket == unused || bucket == entry ? uint8_t(entry) : uint8_t(MG_POOL_BUCKET_SEARCH);
        }
    }
    // No pool's block: entry 0, whose bounds turn the address away.
    std::replace(std::begin(buckets), std::end(buckets), unused, uint8_t(0));
    return size_t(std::count(std::begin(buckets), std::end(buckets), uint8_t(MG_POOL_BUCKET_SEARCH)));
}

// A family's block size and the seed, among a few tried, under which the fewest buckets are
// searched (none, mostly: pools far apart collide only by chance, and a new seed redraws it).
// More blocks than buckets always share some; the first seed serves as well as any then.
template <size_t N>
void index_pools(__u8 (&buckets)[N], __u32 &shift, __u64 &seed, const std::vector<ClientPoolSpan> &spans,
                 bool ipv4)
{
    shift = 0;
    seed = 0;
    if (spans.empty())
        return;
    shift = 32;
    uint64_t blocks = 0;
    for (const ClientPoolSpan &span : spans)
        shift = std::min<uint32_t>(shift, std::countr_zero(span.size));
    for (const ClientPoolSpan &span : spans)
        blocks += span.size >> shift;
    constexpr uint64_t tries = 16;
    size_t best = SIZE_MAX;
    uint64_t candidate = 0;
    for (; candidate < (blocks > N ? 1 : tries) && best > 0; ++candidate) {
        const size_t searched = fill_buckets(buckets, spans, ipv4, shift, candidate);
        if (searched < best)
            best = searched, seed = candidate;
    }
    // The buckets hold the last seed tried: filled again only when an earlier one was better.
    if (seed != candidate - 1)
        fill_buckets(buckets, spans, ipv4, shift, seed);
}

} // namespace

std::vector<ClientPoolSpan> family_spans(const std::vector<Prefix> &pools, bool ipv4)
{
    std::vector<ClientPoolSpan> spans;
    for (const Prefix &pool : pools)
        if (pool.ipv4 == ipv4)
            spans.push_back(span_of(pool));
    if (spans.size() > MG_MAX_CLIENT_POOLS)
        throw std::invalid_argument("more than " + std::to_string(MG_MAX_CLIENT_POOLS) + " client pools of one family");
    std::sort(spans.begin(), spans.end(), [](const auto &a, const auto &b) { return halves(a) < halves(b); });
    uint64_t base = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
        // Aligned blocks either nest or are apart: sorted, a pool overlaps only the one before.
        if (i && std::memcmp(spans[i].high, spans[i - 1].high, 12) == 0 &&
            spans[i].first < uint64_t(spans[i - 1].first) + spans[i - 1].size)
            throw std::invalid_argument("client pools overlap");
        spans[i].base = uint32_t(base);
        base += spans[i].size;
    }
    if (base > MG_MAX_CLIENT_POOL_SLOTS)
        throw std::invalid_argument("client pools of one family larger than 2^22 addresses together");
    return spans;
}

uint32_t slot_count(const std::vector<ClientPoolSpan> &spans)
{
    return spans.empty() ? 0 : spans.back().base + spans.back().size;
}

mg_client_pools pools_setting(const std::vector<Prefix> &pools)
{
    mg_client_pools setting{};
    const std::vector<ClientPoolSpan> spans4 = family_spans(pools, true), spans6 = family_spans(pools, false);
    setting.count4 = uint32_t(spans4.size());
    setting.count6 = uint32_t(spans6.size());
    setting.step4 = first_step(spans4.size());
    setting.step6 = first_step(spans6.size());
    // The entries past the last pool repeat it: wherever the search lands, it is a pool.
    for (size_t i = 0; i < MG_MAX_CLIENT_POOLS && !spans4.empty(); ++i) {
        const ClientPoolSpan &span = spans4[std::min(i, spans4.size() - 1)];
        setting.pools4[i] = {span.first, span.size, span.base, 0};
    }
    for (size_t i = 0; i < MG_MAX_CLIENT_POOLS && !spans6.empty(); ++i) {
        const ClientPoolSpan &span = spans6[std::min(i, spans6.size() - 1)];
        const auto [high, low] = halves(span);
        setting.pools6[i] = {high, low, span.size, span.base};
    }
    index_pools(setting.buckets4, setting.shift4, setting.seed4, spans4, true);
    index_pools(setting.buckets6, setting.shift6, setting.seed6, spans6, false);
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
