// Client pools (--client-pool): sessions kept in slots indexed by the address's offset, the
// slots without a session filled with the longest covering pool prefix's policy, and the pinned
// slots re-adopted only by a daemon with the same pools. The verdict tables run against client
// pools too (verdict_test.cpp, differential_test.cpp); these cases are the table's own rules.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>

#include "harness.hpp"
#include "common/session_spec.hpp"
#include "kernel/client_pool.hpp"
#include "kernel/pins.hpp"

namespace mtuguard::test {
namespace {

class ClientPool : public ProgramTest {
protected:
    void SetUp() override
    {
        client_pools = {"10.8.0.0/16", "2001:db8::/108"};
        ProgramTest::SetUp();
    }

    // An oversize DF packet to `dst`: the MTU of the error it gets, 0 for no error.
    uint32_t answered_mtu(const std::string &dst)
    {
        Bytes frame;
        size_t l3 = 14;
        if (dst.find(':') == std::string::npos) {
            Ipv4Packet p;
            p.dst = dst;
            p.total_length = 1450;
            frame = p.build();
        } else {
            Ipv6Packet p;
            p.dst = dst;
            p.total_length = 1450;
            frame = p.build();
        }
        Outcome out = run(frame);
        if (out.reason != MG_REASON_ICMP_SENT)
            return 0;
        return dst.find(':') == std::string::npos ? get16(out.frame, l3 + 26) : get32(out.frame, l3 + 44);
    }

    void set(const std::string &spec)
    {
        SessionSpec s = parse_session_spec(spec);
        datapath->set_session(s.prefix, s.session);
    }
    bool erase(const std::string &prefix) { return datapath->delete_session(parse_prefix(prefix)); }

    // Keys in one of the program's hash maps.
    size_t hash_entries(const char *map, size_t key_size)
    {
        std::vector<uint8_t> key(key_size), next(key_size);
        size_t n = 0;
        for (void *prev = nullptr; bpf_map_get_next_key(datapath->map_fd(map), prev, next.data()) == 0; prev = key.data()) {
            key = next;
            ++n;
        }
        return n;
    }
    mg_session slot(const char *map, uint32_t offset)
    {
        mg_session s{};
        EXPECT_EQ(bpf_map_lookup_elem(datapath->map_fd(map), &offset, &s), 0);
        return s;
    }
};

TEST_F(ClientPool, SessionsInsideLiveInTheirSlotsTheOthersInTheHash)
{
    set("10.8.0.5,dtls-mtu=1418,tls-mtu=1347");
    set("10.8.255.255,dtls-mtu=1418,tls-mtu=1340");   // the last slot
    set("10.9.0.0,dtls-mtu=1418,tls-mtu=1330");       // one past the pool
    set("2001:db8::f:ffff,dtls-mtu=1418,tls-mtu=1320"); // the last IPv6 slot
    set("2001:db8::10:0,dtls-mtu=1418,tls-mtu=1310");   // one past it

    EXPECT_EQ(slot("mg_direct4", 5).tls_mtu, 1347);
    EXPECT_EQ(slot("mg_direct4", 65535).tls_mtu, 1340);
    EXPECT_EQ(slot("mg_direct6", 0xfffff).tls_mtu, 1320);
    EXPECT_EQ(slot("mg_direct4", 4).dtls_mtu, 0) << "an empty slot";
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 1u) << "only 10.9.0.0 is hashed";
    EXPECT_EQ(hash_entries("mg_sessions6", 16), 1u) << "only 2001:db8::10:0 is hashed";

    std::set<std::string> listed;
    for (const auto &e : datapath->sessions())
        listed.insert(e.prefix.to_string() + " " + std::to_string(e.session.tls_mtu));
    EXPECT_EQ(listed, (std::set<std::string>{"10.8.0.5 1347", "10.8.255.255 1340", "10.9.0.0 1330",
                                              "2001:db8::f:ffff 1320", "2001:db8::10:0 1310"}));

    EXPECT_EQ(answered_mtu("10.8.0.5"), 1347u);
    EXPECT_EQ(answered_mtu("10.8.255.255"), 1340u);
    EXPECT_EQ(answered_mtu("10.9.0.0"), 1330u);
    EXPECT_EQ(answered_mtu("10.8.0.4"), 0u) << "an empty slot is no session";
    EXPECT_EQ(answered_mtu("2001:db8::f:ffff"), 1320u);
    EXPECT_EQ(answered_mtu("2001:db8::10:0"), 1310u);
    EXPECT_EQ(answered_mtu("2001:db9::f:ffff"), 0u) << "same last 32 bits, another prefix";

    ASSERT_TRUE(datapath->session(parse_prefix("10.8.0.5")));
    EXPECT_FALSE(datapath->session(parse_prefix("10.8.0.4")));
    EXPECT_TRUE(erase("10.8.0.5"));
    EXPECT_FALSE(erase("10.8.0.5")) << "already gone";
    EXPECT_FALSE(datapath->session(parse_prefix("10.8.0.5")));
    EXPECT_EQ(answered_mtu("10.8.0.5"), 0u);
}

TEST_F(ClientPool, FreeSlotsTakeTheLongestCoveringPoolPrefixAndSessionsWin)
{
    // The longer prefix first: the order they arrive in must not matter.
    set("10.8.1.0/24,dtls-mtu=1418,tls-mtu=1300");
    set("10.8.1.9,dtls-mtu=1418,tls-mtu=1347");
    set("10.0.0.0/8,dtls-mtu=1418,tls-mtu=1400"); // covers the whole client pool and more
    EXPECT_EQ(answered_mtu("10.8.1.7"), 1300u);
    EXPECT_EQ(answered_mtu("10.8.2.7"), 1400u);
    EXPECT_EQ(answered_mtu("10.9.2.7"), 1400u) << "outside the client pool: the trie";
    EXPECT_EQ(answered_mtu("10.8.1.9"), 1347u);
    EXPECT_EQ(datapath->sessions().size(), 3u) << "filled slots are not sessions";

    EXPECT_TRUE(erase("10.8.1.9"));
    EXPECT_EQ(answered_mtu("10.8.1.9"), 1300u) << "the slot falls back to its pool prefix";
    EXPECT_TRUE(erase("10.8.1.0/24"));
    EXPECT_EQ(answered_mtu("10.8.1.7"), 1400u);
    EXPECT_EQ(answered_mtu("10.8.1.9"), 1400u);
    set("10.0.0.0/8,dtls-mtu=1418,tls-mtu=1390"); // replaced in place
    EXPECT_EQ(answered_mtu("10.8.200.1"), 1390u);
    EXPECT_TRUE(erase("10.0.0.0/8"));
    EXPECT_EQ(answered_mtu("10.8.1.7"), 0u);
    EXPECT_EQ(slot("mg_direct4", 0x0107).dtls_mtu, 0) << "emptied again";
}

TEST_F(ClientPool, OversizeToAFilledSlotCountsUnderItsPoolPrefix)
{
    set("10.8.0.0/16,dtls-mtu=1418,tls-mtu=1400");
    set("10.8.0.5,dtls-mtu=1418,tls-mtu=1347");
    ASSERT_EQ(answered_mtu("10.8.3.3"), 1400u);
    ASSERT_EQ(answered_mtu("10.8.3.4"), 1400u);
    ASSERT_EQ(answered_mtu("10.8.0.5"), 1347u);
    auto pool = datapath->session(parse_prefix("10.8.0.0/16"));
    auto own = datapath->session(parse_prefix("10.8.0.5"));
    ASSERT_TRUE(pool && own);
    EXPECT_EQ(pool->stats.oversize_packets, 2u);
    EXPECT_EQ(pool->stats.icmp_sent, 2u);
    EXPECT_EQ(own->stats.oversize_packets, 1u);
    EXPECT_EQ(own->stats.icmp_sent, 1u);
}

TEST_F(ClientPool, APolicyRewrittenInPlaceAppliesToTheNextPacketAndKeepsTheCounters)
{
    set("10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=dtls");
    Ipv4Packet p;
    p.dst = "10.8.0.5";
    p.total_length = 1400;
    EXPECT_EQ(run(p.build()).reason, MG_REASON_WITHIN_MTU);
    ASSERT_EQ(answered_mtu("10.8.0.5"), 1418u);

    mg_session tls = *datapath->session(parse_prefix("10.8.0.5"));
    tls.transport = MG_TRANSPORT_TLS;
    datapath->set_session(parse_prefix("10.8.0.5"), tls);
    EXPECT_EQ(run(p.build()).reason, MG_REASON_ICMP_SENT);
    EXPECT_EQ(datapath->session(parse_prefix("10.8.0.5"))->stats.icmp_sent, 2u);
}

TEST_F(ClientPool, BulkLoadsFillTheSlots)
{
    std::vector<SessionEntry> entries;
    for (uint32_t i = 0; i < 1000; ++i) {
        SessionEntry e;
        e.prefix = parse_prefix("10.8." + std::to_string(i / 256) + "." + std::to_string(i % 256));
        e.session = parse_session_spec("10.8.0.1,dtls-mtu=1418,tls-mtu=1347").session;
        entries.push_back(e);
    }
    entries.push_back({parse_prefix("10.9.0.1"), entries[0].session}); // hashed
    auto old = datapath->set_sessions(entries, std::vector<bool>(entries.size(), true));
    EXPECT_EQ(old.size(), entries.size());
    EXPECT_EQ(datapath->sessions().size(), 1001u);
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 1u);
    EXPECT_EQ(answered_mtu("10.8.3.231"), 1347u);
    EXPECT_EQ(answered_mtu("10.8.3.232"), 0u) << "the 1001st address has no session";
}

// MG_MAX_CLIENT_POOLS pools of each family, of different sizes and declared out of order: the
// program searches them sorted, each pool's slots after the previous one's. IPv4 pool i is
// 10.(32 + 2i).0.0/(16 + i % 8); IPv6 pool i is 2001:db8:i::/(112 + i % 8) for even i and
// 2001:db8::i:0:0/(112 + i % 8) for odd i (the same first 64 bits as pool 0: only bits 64-95
// tell them apart). No two are adjacent: the address just outside each is in no pool.
class SixteenPools : public ClientPool {
protected:
    static std::string pool4(int i) { return "10." + std::to_string(32 + 2 * i) + ".0.0/" + std::to_string(16 + i % 8); }
    static std::string pool6(int i)
    {
        char text[64];
        std::snprintf(text, sizeof(text), i % 2 ? "2001:db8::%x:0:0/%d" : "2001:db8:%x::/%d", i, 112 + i % 8);
        return text;
    }
    void SetUp() override
    {
        for (int i = MG_MAX_CLIENT_POOLS - 1; i >= 0; --i)
            client_pools.insert(client_pools.end(), {pool4(i), pool6(i)});
        ProgramTest::SetUp();
    }
    // The address `delta` past a pool's first (negative: before it).
    static std::string at(const std::string &pool, int64_t delta)
    {
        const ClientPoolSpan span = span_of(parse_prefix(pool));
        return mapped_prefix(with_low32(parse_prefix(pool).addr, uint32_t(int64_t(span.first) + delta))).to_string();
    }
    static uint32_t size_of(const std::string &pool) { return span_of(parse_prefix(pool)).size; }
};

// How many of a family's buckets are searched.
size_t searched(const uint8_t *buckets)
{
    return size_t(std::count(buckets, buckets + (1u << MG_POOL_BUCKET_BITS), MG_POOL_BUCKET_SEARCH));
}

TEST_F(SixteenPools, EachPoolsFirstAndLastAddressAreItsSlotsTheNeighboursNoSession)
{
    // Every pool is found through its buckets here, none by the search (CollidingPools has that).
    std::vector<Prefix> prefixes;
    for (const std::string &pool : client_pools)
        prefixes.push_back(parse_prefix(pool));
    const auto setting = std::make_unique<mg_client_pools>(pools_setting(prefixes));
    ASSERT_EQ(searched(setting->buckets4), 0u);
    ASSERT_EQ(searched(setting->buckets6), 0u);
    for (int i = 0; i < MG_MAX_CLIENT_POOLS; ++i) {
        for (const std::string &pool : {pool4(i), pool6(i)}) {
            set(at(pool, 0) + ",dtls-mtu=1418,tls-mtu=" + std::to_string(1300 + i));
            set(at(pool, size_of(pool) - 1) + ",dtls-mtu=1418,tls-mtu=" + std::to_string(1340 + i));
        }
    }
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 0u) << "every session is in a pool's slots";
    EXPECT_EQ(hash_entries("mg_sessions6", 16), 0u) << "every session is in a pool's slots";
    EXPECT_EQ(datapath->sessions().size(), 4u * MG_MAX_CLIENT_POOLS);
    const auto use = datapath->client_pool_use(); // as the program searches them: IPv4 first, sorted
    ASSERT_EQ(use.size(), 2u * MG_MAX_CLIENT_POOLS);
    for (int i = 0; i < 2 * MG_MAX_CLIENT_POOLS; ++i) {
        if (i < MG_MAX_CLIENT_POOLS) {
            EXPECT_EQ(use[i].first.to_string(), pool4(i));
        }
        EXPECT_EQ(use[i].second, 2u) << use[i].first.to_string() << ": its first and last address";
    }

    // Sorted, IPv4 pool i is the i-th: its slots start after those of the pools below it.
    uint32_t base = 0;
    for (int i = 0; i < MG_MAX_CLIENT_POOLS; ++i) {
        EXPECT_EQ(slot("mg_direct4", base).tls_mtu, 1300 + i) << pool4(i);
        base += size_of(pool4(i));
        EXPECT_EQ(slot("mg_direct4", base - 1).tls_mtu, 1340 + i) << pool4(i);
    }
    for (int i = 0; i < MG_MAX_CLIENT_POOLS; ++i) {
        for (const std::string &pool : {pool4(i), pool6(i)}) {
            EXPECT_EQ(answered_mtu(at(pool, 0)), 1300u + i) << pool << ": its first address";
            EXPECT_EQ(answered_mtu(at(pool, size_of(pool) - 1)), 1340u + i) << pool << ": its last address";
            EXPECT_EQ(answered_mtu(at(pool, 1)), 0u) << pool << ": an empty slot";
            EXPECT_EQ(answered_mtu(at(pool, -1)), 0u) << pool << ": just before it";
            EXPECT_EQ(answered_mtu(at(pool, size_of(pool))), 0u) << pool << ": just after it";
        }
    }
    // Just outside a pool is the hash's, beside the slots.
    set(at(pool4(15), -1) + ",dtls-mtu=1418,tls-mtu=1290");
    set(at(pool6(15), size_of(pool6(15))) + ",dtls-mtu=1418,tls-mtu=1291");
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 1u);
    EXPECT_EQ(hash_entries("mg_sessions6", 16), 1u);
    EXPECT_EQ(answered_mtu(at(pool4(15), -1)), 1290u);
    EXPECT_EQ(answered_mtu(at(pool6(15), size_of(pool6(15)))), 1291u);
    EXPECT_EQ(answered_mtu(at(pool4(15), 0)), 1315u);
}

// Pool prefixes inside a pool fill its free slots; one over all pools fills every pool's and
// answers through the trie between them; the longest wins.
TEST_F(SixteenPools, PoolPrefixesInsideAndAcrossPools)
{
    set("10.62.1.0/24,dtls-mtu=1418,tls-mtu=1330");          // inside pool 15 (10.62.0.0/23)
    set("2001:db8::f:0:0/120,dtls-mtu=1418,tls-mtu=1331");    // inside pool 15 (2001:db8::f:0:0/119)
    set("10.32.0.0/11,dtls-mtu=1418,tls-mtu=1320");           // over every IPv4 pool
    set("2001:db8::/32,dtls-mtu=1418,tls-mtu=1321");          // over every IPv6 pool
    set("10.62.1.9,dtls-mtu=1418,tls-mtu=1340");
    EXPECT_EQ(answered_mtu("10.62.1.77"), 1330u);
    EXPECT_EQ(answered_mtu("10.62.0.77"), 1320u) << "pool 15, outside the /24";
    EXPECT_EQ(answered_mtu("10.62.1.9"), 1340u) << "a session wins";
    EXPECT_EQ(answered_mtu("2001:db8::f:0:7"), 1331u);
    EXPECT_EQ(answered_mtu("2001:db8::f:0:107"), 1321u);
    for (int i = 0; i < MG_MAX_CLIENT_POOLS; ++i) {
        EXPECT_EQ(answered_mtu(at(pool4(i), 3)), 1320u) << pool4(i);
        EXPECT_EQ(answered_mtu(at(pool6(i), 3)), i == 15 ? 1331u : 1321u) << pool6(i) << ": pool 15 has its /120";
        EXPECT_EQ(answered_mtu(at(pool4(i), size_of(pool4(i)))), 1320u) << pool4(i) << ": just after it, the trie";
    }
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 0u);
    EXPECT_TRUE(erase("10.62.1.0/24"));
    EXPECT_EQ(answered_mtu("10.62.1.77"), 1320u);
    EXPECT_TRUE(erase("10.32.0.0/11"));
    EXPECT_EQ(answered_mtu("10.62.1.77"), 0u);
    EXPECT_EQ(answered_mtu("10.62.1.9"), 1340u);
}

// A batch that fails part-way (here the hash map overflows: the daemon checks capacity first, so
// only a kernel error could do it) is undone whole: slots, the changed session and the entries of
// the batch already written are as before, so the daemon's counts still match the maps.
TEST(ClientPoolBatch, ABatchThatFailsPartWayChangesNothing)
{
    require_privileges();
    if (::testing::Test::IsSkipped())
        return;
    Datapath datapath(4, "", {parse_prefix("10.8.0.0/16")});
    const mg_session before = parse_session_spec("10.9.0.1,dtls-mtu=1418,tls-mtu=1347").session;
    datapath.set_session(parse_prefix("10.9.0.1"), before);

    std::vector<SessionEntry> entries;
    std::vector<bool> fresh;
    const mg_session after = parse_session_spec("10.8.0.1,dtls-mtu=1300,tls-mtu=1280").session;
    for (const char *address : {"10.8.0.1", "10.8.0.2", "10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4",
                                "10.9.0.5", "10.9.0.6"}) {
        entries.push_back({parse_prefix(address), after});
        fresh.push_back(std::string(address) != "10.9.0.1");
    }
    EXPECT_THROW(datapath.set_sessions(entries, fresh), std::system_error);

    const std::vector<SessionEntry> left = datapath.sessions();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].prefix.to_string(), "10.9.0.1");
    EXPECT_EQ(left[0].session.dtls_mtu, before.dtls_mtu);
    EXPECT_EQ(left[0].session.tls_mtu, before.tls_mtu);
}

// Pinned slots belong to the pools they were laid out for: the same pools re-adopt them with
// their sessions; others are refused with a message that says what to do, and nothing changes.
TEST(ClientPoolPins, ReadoptedOnlyWithTheSamePools)
{
    require_privileges();
    if (::testing::Test::IsSkipped())
        return;
    const std::string pin = "/sys/fs/bpf/mgtest-client-pool-" + std::to_string(getpid());
    remove_pins(pin);
    const std::vector<Prefix> pools = {parse_prefix("10.8.0.0/16")};
    SessionSpec spec = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347");
    {
        Datapath first(1024, pin, pools);
        first.set_session(spec.prefix, spec.session);
        first.keep();
    }
    auto refusal = [&](const std::vector<Prefix> &other) {
        try {
            Datapath d(1024, pin, other);
        } catch (const std::runtime_error &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(refusal({parse_prefix("10.8.0.0/17")}).find("--client-pool"), std::string::npos)
        << "another size";
    EXPECT_NE(refusal({parse_prefix("10.9.0.0/16")})
                  .find("other client pools (--client-pool, or its default from a pool prefix or ocserv)"),
              std::string::npos)
        << "the same size elsewhere";
    EXPECT_NE(refusal({}).find("--client-pool"), std::string::npos) << "none";
    {
        Datapath again(1024, pin, pools);
        EXPECT_TRUE(again.adopted());
        auto session = again.session(spec.prefix);
        ASSERT_TRUE(session) << "the session survived the refused starts";
        EXPECT_EQ(session->tls_mtu, 1347);
    }
    EXPECT_GT(remove_pins(pin), 0);
}

// A pool of 4 addresses beside one of 2^20, in each family: blocks of 4 addresses, 2^18 of the
// big pool's, more than there are buckets, so that every bucket holds some and the small pool's
// is shared, whatever the seed. The program searches that bucket and finds each session in its pool.
class CollidingPools : public ClientPool {
protected:
    void SetUp() override
    {
        client_pools = {"10.0.0.0/12", "11.0.0.0/30", "2001:db8::/108", "2001:db8:1::/126"};
        ProgramTest::SetUp();
    }
    // An address of the big pool in the small one's bucket, `n` blocks on.
    static std::string sharing(const mg_client_pools &setting, bool ipv4, uint32_t n)
    {
        const uint64_t high = ipv4 ? 0 : 0x20010db800000000ull, small_high = ipv4 ? 0 : 0x20010db800010000ull;
        const uint64_t small = ipv4 ? 0x0b000000 : 0;
        const uint32_t shift = ipv4 ? setting.shift4 : setting.shift6;
        const uint64_t seed = ipv4 ? setting.seed4 : setting.seed6;
        const uint32_t target = mg_pool_bucket(small_high, small, shift, seed);
        for (uint64_t low = 0;; low += 1ull << shift)
            if (mg_pool_bucket(high, low, shift, seed) == target && n-- == 0) {
                char text[64];
                if (ipv4)
                    std::snprintf(text, sizeof(text), "10.%u.%u.%u", unsigned(low >> 16 & 0xff), unsigned(low >> 8 & 0xff),
                                  unsigned(low & 0xff));
                else
                    std::snprintf(text, sizeof(text), "2001:db8::%x:%x", unsigned(low >> 16), unsigned(low & 0xffff));
                return text;
            }
    }
};

TEST_F(CollidingPools, ASharedBucketIsSearchedAndEachSessionFoundInItsPool)
{
    const auto setting = std::make_unique<mg_client_pools>(pools_setting(
        {parse_prefix("10.0.0.0/12"), parse_prefix("11.0.0.0/30"), parse_prefix("2001:db8::/108"),
         parse_prefix("2001:db8:1::/126")}));
    EXPECT_EQ(setting->shift4, 2u);
    EXPECT_EQ(setting->shift6, 2u);
    EXPECT_EQ(searched(setting->buckets4), 1u) << "the small pool's bucket";
    EXPECT_EQ(searched(setting->buckets6), 1u) << "the small pool's bucket";

    const std::string big4 = sharing(*setting, true, 0), big6 = sharing(*setting, false, 0);
    set("11.0.0.3,dtls-mtu=1418,tls-mtu=1301");
    set(big4 + ",dtls-mtu=1418,tls-mtu=1302");
    set("2001:db8:1::,dtls-mtu=1418,tls-mtu=1303");
    set(big6 + ",dtls-mtu=1418,tls-mtu=1304");
    EXPECT_EQ(hash_entries("mg_sessions4", 4), 0u) << "both sessions are in their pools' slots";
    EXPECT_EQ(hash_entries("mg_sessions6", 16), 0u) << "both sessions are in their pools' slots";
    EXPECT_EQ(answered_mtu("11.0.0.3"), 1301u);
    EXPECT_EQ(answered_mtu(big4), 1302u) << big4;
    EXPECT_EQ(answered_mtu("2001:db8:1::"), 1303u);
    EXPECT_EQ(answered_mtu(big6), 1304u) << big6;
    EXPECT_EQ(answered_mtu("11.0.0.0"), 0u) << "an empty slot";
    EXPECT_EQ(answered_mtu("11.0.0.4"), 0u) << "just after the small pool";
    EXPECT_EQ(answered_mtu("2001:db8:1::4"), 0u) << "just after the small pool";
    EXPECT_EQ(answered_mtu(sharing(*setting, true, 1)), 0u) << "an empty slot of the big pool in the shared bucket";
}

} // namespace
// One pin directory, one daemon: a second is refused while the first holds it, and takes it over
// once the first is gone (its maps re-adopted as they were).
TEST(ClientPoolPins, APinPathIsUsedByOneDaemonAtATime)
{
    require_privileges();
    if (::testing::Test::IsSkipped())
        return;
    const std::string pin = "/sys/fs/bpf/mgtest-pin-lock-" + std::to_string(getpid());
    remove_pins(pin);
    SessionSpec spec = parse_session_spec("10.8.0.5,dtls-mtu=1418,tls-mtu=1347");
    {
        auto first = std::make_unique<Datapath>(1024, pin);
        first->set_session(spec.prefix, spec.session);
        first->keep();
        try {
            Datapath second(1024, pin);
            ADD_FAILURE() << "a second daemon adopted a pin path in use";
        } catch (const std::runtime_error &e) {
            EXPECT_NE(std::string(e.what()).find("is in use by another mtuguardd"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(first->session(spec.prefix)) << "the first one's state is untouched";
    }
    Datapath next(1024, pin);
    EXPECT_TRUE(next.adopted());
    EXPECT_TRUE(next.session(spec.prefix));
    next.unpin();
}

} // namespace mtuguard::test
