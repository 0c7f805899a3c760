// A client pool's slots: the arithmetic that puts a host address at its offset in the pool's
// array, and the 8-byte policy word each slot holds (see struct mg_session), written and read
// whole so that the program sees the old session or the new one, never a mix.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "config/config.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

// A client pool as the program indexes it: the first 96 bits of its (mapped) addresses, the
// range of their last 32 bits and where its slots start in its family's array. IPv4 pools share
// the first 96 bits ::ffff:0:0.
struct ClientPoolSpan {
    uint8_t high[12]{};
    uint32_t first = 0; // host byte order
    uint32_t size = 0;  // 0: no pool
    uint32_t base = 0;  // the index of its first slot
};

// The last 32 bits of an address, in host byte order.
uint32_t low32(const mg_addr &addr);
// `addr` with its last 32 bits set to `low` (host byte order).
mg_addr with_low32(const mg_addr &addr, uint32_t low);
// The span of a client pool prefix; throws std::invalid_argument when it is too large for one.
ClientPoolSpan span_of(const Prefix &pool);
// The offset of a host address's slot in `span`, if the span has one for it.
std::optional<uint32_t> slot_offset(const ClientPoolSpan &span, const Prefix &host);
// Offsets [first, second) of the slots of `span` that the pool prefix covers; empty if none.
std::pair<uint32_t, uint32_t> covered(const ClientPoolSpan &span, const Prefix &pool);
// One family's client pools as the program lays them out: sorted by address, each pool's slots
// right after the previous one's. Throws std::invalid_argument for pools that overlap or exceed
// the limits (MG_MAX_CLIENT_POOLS, MG_MAX_CLIENT_POOL, MG_MAX_CLIENT_POOL_SLOTS).
std::vector<ClientPoolSpan> family_spans(const std::vector<Prefix> &pools, bool ipv4);
// The slots all of a family's spans take together.
uint32_t slot_count(const std::vector<ClientPoolSpan> &spans);
// The program's setting for the client pools, both families' (mg_client_pools).
mg_client_pools pools_setting(const std::vector<Prefix> &pools);

uint64_t policy_word(const mg_session &session);
uint64_t load_policy(const mg_session *slot);
void store_policy(mg_session *slot, uint64_t word);
// A slot as it is now, and its counters written: each 8-byte word read or written whole. The
// program updates the counters while the daemon reads them, and the daemon's threads read slots
// that another writes (under the Agent's lock, which readers do not take).
mg_session load_slot(const mg_session *slot);
void store_stats(mg_session *slot, const mg_session_stats &stats);
// The word is a session's, not the fill of a pool prefix nor empty.
bool holds_session(uint64_t word);
// What a slot without a session holds under a pool prefix: its policy, marked.
uint64_t fill_word(const mg_session &pool);

} // namespace mtuguard
