// The stress tier: the real program judges packets through BPF_PROG_TEST_RUN on one thread while
// the daemon's writes land under it from two others: one adds, deletes and rewrites sessions
// (client pool slots, hashed sessions, an address a pool prefix covers), one publishes new
// settings (actions, ICMP rates, MSS clamping). Every packet must get a verdict the reference
// model gives for some state its session and the settings passed through while it ran; no ICMP
// error may announce an MTU below the family's minimum; an address a pool prefix covers is
// always judged, never passed as no session.
//
// Each batch runs one frame many times: its counter deltas are the verdicts of all of them. The
// writers log every state before they write it, so the states a batch may have seen are the one
// live when it started (or the one about to replace it) and those logged until it ended.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "common/session_spec.hpp"
#include "harness.hpp"

namespace mtuguard::test {
namespace {

// MTUs a session may be given: below IPv6's minimum, around the common tunnel MTUs.
constexpr uint16_t mtus[] = {600, 1280, 1347, 1400, 1418};

uint64_t total_packets()
{
    if (const char *text = std::getenv("MTUGUARD_STRESS_PACKETS"))
        return std::strtoull(text, nullptr, 10);
    return 2'000'000;
}

// Where a target's session lives, and what covers its address when it has none.
struct Target {
    std::string address;
    bool churned;                        // the writer adds, rewrites and deletes its session
    std::optional<std::string> covering; // the pool prefix over it, if any
};

const Target targets[] = {
    {"10.8.0.5", true, std::nullopt},           // a client pool slot
    {"2001:db8::5", true, std::nullopt},        // an IPv6 client pool slot
    {"10.20.0.5", true, std::nullopt},          // a hashed session
    {"2001:db8:100::5", true, std::nullopt},    // a hashed IPv6 session
    {"10.8.1.5", true, "10.8.1.0/24"},          // a slot that falls back to its pool prefix
    {"2001:db8::1:5", true, "2001:db8::1:0/112"}, // the same in the IPv6 client pool
    {"10.8.1.9", false, "10.8.1.0/24"},         // only a pool prefix, in a client pool slot
    {"10.30.0.7", false, "10.30.0.0/16"},       // only a pool prefix, in the trie
    {"2001:db8:9::7", false, "2001:db8:9::/48"}, // the same for IPv6
};
constexpr size_t target_count = std::size(targets);

const char *const pool_specs[] = {
    "10.8.1.0/24,dtls-mtu=1400,tls-mtu=1300,transport=tls",
    "2001:db8::1:0/112,dtls-mtu=1400,tls-mtu=1300,transport=tls",
    "10.30.0.0/16,dtls-mtu=1418,tls-mtu=1347,transport=dtls",
    "2001:db8:9::/48,dtls-mtu=1400,tls-mtu=1280,transport=tls",
};

struct SettingsOrder {
    bool operator()(const mg_settings &a, const mg_settings &b) const { return std::memcmp(&a, &b, sizeof(a)) < 0; }
};
using SettingsSet = std::set<mg_settings, SettingsOrder>;

// What the writers wrote, in order, each state logged before it is written.
struct History {
    std::mutex mutex;
    std::vector<std::optional<mg_session>> sessions[target_count]; // nullopt: no session of its own
    std::vector<mg_settings> settings;

    struct Mark {
        size_t sessions[target_count];
        size_t settings;
    };
    Mark mark()
    {
        std::lock_guard lock(mutex);
        Mark m{};
        for (size_t t = 0; t < target_count; ++t)
            m.sessions[t] = sessions[t].size();
        m.settings = settings.size();
        return m;
    }
};

// A batch that started when `from` entries were logged and ended at `to` may have seen the last
// two logged before it (the latest may not have been written yet) and every one logged since.
size_t first_seen(size_t from) { return from >= 2 ? from - 2 : 0; }

SettingsSet settings_seen(const std::vector<mg_settings> &log, size_t from, size_t to)
{
    return SettingsSet(log.begin() + first_seen(from), log.begin() + to);
}

// The distinct session states of a target's log that the batch may have seen.
std::vector<std::optional<mg_session>> states_seen(const std::vector<std::optional<mg_session>> &log, size_t from,
                                                    size_t to)
{
    std::vector<std::optional<mg_session>> out;
    for (size_t i = first_seen(from); i < to; ++i) {
        bool known = false;
        for (const auto &s : out)
            known = known || (s.has_value() == log[i].has_value() &&
                              (!s || std::memcmp(&*s, &*log[i], sizeof(mg_session)) == 0));
        if (!known)
            out.push_back(log[i]);
    }
    return out;
}

class Stress : public ProgramTest {
protected:
    void SetUp() override
    {
        client_pools = {"10.8.0.0/16", "2001:db8::/108"};
        ProgramTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        for (const char *spec : pool_specs)
            add_session(spec);
    }

    static mg_session random_session(std::mt19937_64 &rng)
    {
        mg_session s{};
        s.dtls_mtu = mtus[rng() % std::size(mtus)];
        s.tls_mtu = mtus[rng() % std::size(mtus)];
        s.transport = rng() % 2 ? MG_TRANSPORT_TLS : MG_TRANSPORT_DTLS;
        s.source = MG_SOURCE_CONTROL;
        return s;
    }

    static mg_settings random_settings(std::mt19937_64 &rng)
    {
        static const mg_bucket_config rates[] = {
            {0, 0, 0},                          // unlimited
            {1000, 10, 10'000'000},             // 1000/s, burst 10
            {1, 1, 1'000'000'000},              // 1/s, burst 1: nearly every error withheld
        };
        mg_settings s{};
        s.action = uint32_t(rng() % MG_ACTION_COUNT);
        s.mss_clamp = rng() % 2;
        s.icmp_global = rates[rng() % std::size(rates)];
        s.icmp_per_source = rates[rng() % std::size(rates)];
        return s;
    }

    // The model's verdicts for the frame under every combination the batch may have seen.
    struct Allowed {
        std::set<int> reasons;
        std::set<Bytes> frames;
    };
    Allowed allowed(const Bytes &frame, const Target &target, const std::vector<std::optional<mg_session>> &states,
                    const SettingsSet &settings)
    {
        Allowed out;
        const Prefix host = parse_prefix(target.address);
        for (const auto &state : states) {
            for (const mg_settings &s : settings) {
                const bool limited = s.icmp_global.rate || s.icmp_per_source.rate;
                for (bool granted : {true, false}) {
                    if (!granted && !limited)
                        continue;
                    model::State m = pools_model;
                    m.settings = s;
                    if (state)
                        m.add_session(host.addr, *state);
                    m.icmp_allowed = [granted](const mg_addr &) { return granted; };
                    model::Verdict v = model::decide(frame, m);
                    out.reasons.insert(v.reason);
                    out.frames.insert(v.frame);
                }
            }
        }
        return out;
    }

    model::State pools_model; // the model with the pool prefixes and the interface, no session
};

// The MTU an ICMP error announces, if the frame is one (no VLAN tags in these frames).
std::optional<uint32_t> announced_mtu(const Bytes &f)
{
    if (f.size() < 14 + 48)
        return std::nullopt;
    const uint16_t type = get16(f, 12);
    if (type == 0x0800 && f[14 + 9] == 1 && f[14 + 20] == 3 && f[14 + 21] == 4)
        return get16(f, 14 + 26);
    if (type == 0x86dd && f[14 + 6] == 58 && f[14 + 40] == 2)
        return get32(f, 14 + 44);
    return std::nullopt;
}

TEST_F(Stress, VerdictsUnderConcurrentSessionAndSettingsWritesAreAlwaysOnesTheModelAllows)
{
    pools_model = model;
    pools_model.sessions.clear();
    const uint64_t wanted = total_packets();

    History history;
    std::mt19937_64 seed_rng(20261206);
    // The starting state: every churned target with a session, the settings unlimited ICMP.
    for (size_t t = 0; t < target_count; ++t) {
        history.sessions[t].push_back(std::nullopt);
        if (targets[t].churned) {
            mg_session s = random_session(seed_rng);
            history.sessions[t].push_back(s);
            datapath->set_session(parse_prefix(targets[t].address), s);
        }
    }
    history.settings.push_back(datapath->settings());

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> session_writes{0}, settings_writes{0};
    std::thread sessions_writer([&] {
        std::mt19937_64 rng(1);
        while (!stop.load(std::memory_order_relaxed)) {
            size_t t = rng() % target_count;
            if (!targets[t].churned)
                continue;
            const Prefix prefix = parse_prefix(targets[t].address);
            std::optional<mg_session> next;
            {
                std::lock_guard lock(history.mutex);
                const auto &current = history.sessions[t].back();
                switch (rng() % 4) {
                case 0: // gone
                    next = std::nullopt;
                    break;
                case 1: // its transport flipped
                    if (current) {
                        next = *current;
                        next->transport ^= 1;
                        break;
                    }
                    [[fallthrough]];
                default: // added or rewritten
                    next = random_session(rng);
                }
                history.sessions[t].push_back(next);
            }
            if (next)
                datapath->set_session(prefix, *next);
            else
                datapath->delete_session(prefix);
            ++session_writes;
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    });
    std::thread settings_writer([&] {
        std::mt19937_64 rng(2);
        while (!stop.load(std::memory_order_relaxed)) {
            // As the daemon's configuration makes them: without the pool bits, which set_settings
            // keeps from the live settings.
            const mg_settings next = random_settings(rng);
            {
                std::lock_guard lock(history.mutex);
                history.settings.push_back(next);
            }
            datapath->set_settings(next);
            ++settings_writes;
        }
    });

    // Per target, a frame no state makes oversize (IPv4 under the 576-byte minimum MTU, IPv6 under
    // 1280, which at worst is ipv6_below_min) and one every state makes oversize.
    struct Frames {
        Bytes small, big;
    };
    std::vector<Frames> frames;
    for (const Target &target : targets) {
        auto build = [&](uint16_t length) {
            if (target.address.find(':') == std::string::npos) {
                Ipv4Packet p;
                p.dst = target.address;
                p.total_length = length;
                return p.build();
            }
            Ipv6Packet p;
            p.dst = target.address;
            p.total_length = length;
            return p.build();
        };
        const bool ipv6 = target.address.find(':') != std::string::npos;
        frames.push_back({build(ipv6 ? 1000 : 560), build(1450)});
    }

    uint64_t packets = 0, batches = 0, errors_checked = 0, bad = 0;
    std::array<uint64_t, MG_REASON_COUNT> reasons{};
    // One batch: `runs` runs of `frame`, `repeat` times each; checks every verdict counted and
    // every output against what the model allows for the states logged meanwhile.
    auto batch = [&](size_t t, const Bytes &frame, int runs, int repeat) {
        const bool ipv6 = targets[t].address.find(':') != std::string::npos;
        const uint32_t first = mg_counter_index(test_slot, ipv6 ? MG_FAMILY_IPV6 : MG_FAMILY_IPV4, 0);
        const History::Mark before = history.mark();
        const auto counters_before = datapath->counters(first, MG_REASON_COUNT);
        std::vector<Bytes> outputs;
        for (int run = 0; run < runs; ++run) {
            Bytes out(16384);
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                        .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
                        .repeat = repeat);
            ASSERT_EQ(bpf_prog_test_run_opts(datapath->program_fd(), &opts), 0);
            out.resize(opts.data_size_out);
            outputs.push_back(std::move(out));
        }
        const auto counters_after = datapath->counters(first, MG_REASON_COUNT);
        const History::Mark after = history.mark();
        packets += uint64_t(runs) * repeat;
        ++batches;

        std::vector<std::optional<mg_session>> states;
        SettingsSet settings;
        {
            std::lock_guard lock(history.mutex);
            states = states_seen(history.sessions[t], before.sessions[t], after.sessions[t]);
            settings = settings_seen(history.settings, before.settings, after.settings);
        }
        const Allowed ok = allowed(frame, targets[t], states, settings);
        const std::string what = targets[t].address + " (" + std::to_string(frame.size()) + "-byte frame)";
        uint64_t counted = 0;
        for (uint32_t r = 0; r < MG_REASON_COUNT; ++r) {
            const uint64_t n = counters_after[r].packets - counters_before[r].packets;
            counted += n;
            reasons[r] += n;
            if (n && !ok.reasons.count(int(r))) {
                ++bad;
                ADD_FAILURE() << what << ": " << n << " x " << reason_name(int(r))
                              << ", which no state it passed through allows (" << states.size()
                              << " session states, " << settings.size() << " settings)";
            }
        }
        EXPECT_EQ(counted, uint64_t(runs) * repeat) << what << ": every run counted once";
        if (targets[t].covering) {
            EXPECT_EQ(counters_after[MG_REASON_NO_SESSION].packets, counters_before[MG_REASON_NO_SESSION].packets)
                << what << ": a pool prefix covers it, yet it passed as no session";
        }
        for (const Bytes &out : outputs) {
            if (auto mtu = announced_mtu(out)) {
                ++errors_checked;
                EXPECT_GE(*mtu, ipv6 ? 1280u : 576u) << what << ": an error announcing MTU " << *mtu;
            }
            if (!ok.frames.count(out)) {
                ++bad;
                ADD_FAILURE() << what << ": an output none the model gives for the states seen: " << hex(out);
            }
        }
    };

    // BPF_PROG_TEST_RUN's repeats run on one buffer: a frame the program rewrote (an error, a
    // cleared DF) is what the next repeat sees. Only the frames no state rewrites are repeated;
    // the oversize ones run once a call.
    const auto started = std::chrono::steady_clock::now();
    for (size_t i = 0; packets < wanted && bad < 5 && !HasFatalFailure(); ++i) {
        const size_t t = i % target_count;
        batch(t, frames[t].small, 1, 2000);
        batch(t, frames[t].big, 50, 1);
    }
    stop = true;
    sessions_writer.join();
    settings_writer.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::printf("stress: %llu packets in %llu batches, %.1f s; %llu session writes, %llu settings published; "
                "%llu errors parsed\n",
                (unsigned long long)packets, (unsigned long long)batches, seconds,
                (unsigned long long)session_writes.load(), (unsigned long long)settings_writes.load(),
                (unsigned long long)errors_checked);
    for (uint32_t r = 0; r < MG_REASON_COUNT; ++r)
        if (reasons[r])
            std::printf("  %-22s %llu\n", reason_name(int(r)), (unsigned long long)reasons[r]);
    EXPECT_GE(packets, wanted);
    // The writers must really have raced the packets: many writes of each kind.
    EXPECT_GT(session_writes.load(), 1000u);
    EXPECT_GT(settings_writes.load(), 20u);
    EXPECT_GT(errors_checked, 0u);
}

} // namespace
} // namespace mtuguard::test
