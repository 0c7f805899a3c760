#include "harness.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/session_spec.hpp"

namespace mtuguard::test {

void require_privileges()
{
    if (geteuid() == 0)
        return;
    if (const char *skip = std::getenv("MTUGUARD_SKIP_PRIVILEGED"); skip && std::string(skip) == "1")
        GTEST_SKIP() << "needs root to load BPF programs (MTUGUARD_SKIP_PRIVILEGED=1)";
    FAIL() << "this test loads BPF programs and needs root; set MTUGUARD_SKIP_PRIVILEGED=1 to skip it";
}

const char *mss_outcome_name(int outcome)
{
    const char *name = mg_mss_outcome_name(uint32_t(outcome));
    return name ? name : "none";
}

const char *reason_name(int reason)
{
    const char *name = mg_reason_name(uint32_t(reason));
    return name ? name : "none";
}

void ProgramTest::SetUp()
{
    require_privileges();
    if (IsSkipped() || HasFatalFailure())
        return;
    std::vector<Prefix> pools;
    for (const auto &text : client_pools)
        pools.push_back(parse_prefix(text));
    datapath = std::make_unique<Datapath>(4096, "", pools);
    mg_settings settings{};
    settings.action = MG_ACTION_ICMP;
    set_settings(settings); // no rate limit unless a test sets one
    set_iface(default_iface());
}

std::string lookup_name(const ::testing::TestParamInfo<Lookup> &info)
{
    return info.param == Lookup::Hashed ? "Hashed" : "ClientPools";
}

std::vector<std::string> suite_client_pools(Lookup lookup)
{
    if (lookup == Lookup::Hashed)
        return {};
    return {"10.9.0.0/16", "10.8.0.0/16", "10.7.0.0/24", "2001:db8::f:ff00/120", "2001:db8::/124",
            "2001:db8:1::/112"};
}

mg_iface ProgramTest::default_iface() const
{
    mg_iface iface{};
    iface.slot = test_slot;
    iface.mtu = 3000;
    auto v4 = ipv4("192.0.2.1");
    auto v6 = ipv6("2001:db8:ffff::1");
    std::memcpy(iface.icmp_src4, v4.data(), 4);
    std::memcpy(iface.icmp_src6, v6.data(), 16);
    iface.has_src4 = iface.has_src6 = 1;
    std::memcpy(iface.mac, gateway_mac.data(), sizeof(iface.mac));
    iface.has_mac = 1;
    return iface;
}

void ProgramTest::add_session(const std::string &text)
{
    SessionSpec spec = parse_session_spec(text);
    datapath->set_session(spec.prefix, spec.session);
    if (spec.prefix.is_host())
        model.add_session(spec.prefix.addr, spec.session);
    else
        model.add_pool(spec.prefix.pool_key(), spec.session);
}

void ProgramTest::add_sessions(std::initializer_list<const char *> specs)
{
    for (const char *spec : specs)
        add_session(spec);
}

void ProgramTest::set_settings(const mg_settings &settings)
{
    datapath->set_settings(settings);
    model.settings = settings;
}

void ProgramTest::set_iface(const mg_iface &iface)
{
    datapath->set_iface(test_ifindex, iface);
    model.iface = iface;
}

namespace {

struct MssMoves {
    int outcome = -1, direction = -1, moved = 0;
};

// What moved among the test slot's MSS counters between two reads of them from index `first`.
MssMoves mss_moves(const std::vector<uint64_t> &before, const std::vector<uint64_t> &after, uint32_t first)
{
    MssMoves moves;
    for (uint32_t direction = 0; direction < MG_DIR_COUNT; ++direction) {
        for (uint32_t o = 0; o < MG_MSS_OUTCOME_COUNT; ++o) {
            const uint32_t i = mg_mss_index(test_slot, direction, o) - first;
            if (after[i] != before[i]) {
                moves.outcome = int(o);
                moves.direction = int(direction);
                moves.moved += int(after[i] - before[i]);
            }
        }
    }
    return moves;
}

} // namespace

Outcome ProgramTest::run(const Bytes &frame, int repeat)
{
    const uint32_t first = mg_counter_index(test_slot, 0, 0);
    const uint32_t count = uint32_t(MG_FAMILY_COUNT) * MG_REASON_COUNT;
    auto before = datapath->counters(first, count);
    // Only the test slot's entries: reading the whole per-CPU map twice a packet was most of the
    // differential test's time.
    const uint32_t mss_first = mg_mss_index(test_slot, 0, 0);
    const uint32_t mss_count = uint32_t(MG_DIR_COUNT) * MG_MSS_OUTCOME_COUNT;
    auto mss_before = datapath->mss_counters(mss_first, mss_count);

    Outcome outcome;
    outcome.frame.resize(16384);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = outcome.frame.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(outcome.frame.size()),
                .repeat = repeat);
    int err = bpf_prog_test_run_opts(datapath->program_fd(), &opts);
    EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-err);
    outcome.frame.resize(opts.data_size_out);
    outcome.xdp_action = opts.retval;

    auto after = datapath->counters(first, count);
    auto mss_after = datapath->mss_counters(mss_first, mss_count);
    const MssMoves moves = mss_moves(mss_before, mss_after, mss_first);
    outcome.mss_outcome = moves.outcome;
    outcome.mss_moved = moves.moved;
    for (uint32_t i = 0; i < count; ++i) {
        if (after[i].packets != before[i].packets) {
            ++outcome.moved;
            outcome.reason = i % MG_REASON_COUNT;
            outcome.family = i / MG_REASON_COUNT;
            outcome.bytes = after[i].bytes - before[i].bytes;
        }
    }
    return outcome;
}

Outcome ProgramTest::expect(const Bytes &frame, mg_reason reason)
{
    model::Verdict oracle = model::decide(frame, model);
    Outcome outcome = run(frame);
    EXPECT_EQ(reason_name(outcome.reason), std::string(reason_name(reason))) << "program";
    EXPECT_EQ(reason_name(oracle.reason), std::string(reason_name(reason))) << "model";
    EXPECT_EQ(outcome.moved, 1) << "exactly one counter must move";
    EXPECT_EQ(outcome.bytes, frame.size()) << "bytes counted are the received frame's";
    EXPECT_EQ(outcome.family, oracle.family) << "counted under the packet's family";
    EXPECT_EQ(outcome.xdp_action, mg_reason_xdp_action(reason));
    EXPECT_EQ(oracle.xdp_action, outcome.xdp_action);
    EXPECT_EQ(outcome.mss_moved, 0) << "the XDP program counted an MSS outcome: "
                                    << mss_outcome_name(outcome.mss_outcome);
    EXPECT_EQ(hex(outcome.frame), hex(oracle.frame)) << "program and model output differ";
    return outcome;
}

TcOutcome ProgramTest::run_tc(const Bytes &frame, bool ingress, bool may_refuse, uint32_t gso_size)
{
    const uint32_t first = mg_counter_index(test_slot, 0, 0);
    const uint32_t count = uint32_t(MG_FAMILY_COUNT) * MG_REASON_COUNT;
    const uint32_t mss_first = mg_mss_index(test_slot, 0, 0);
    const uint32_t mss_count = uint32_t(MG_DIR_COUNT) * MG_MSS_OUTCOME_COUNT;
    auto before = datapath->counters(first, count);
    auto mss_before = datapath->mss_counters(mss_first, mss_count);

    TcOutcome outcome;
    outcome.frame.resize(16384);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = outcome.frame.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(outcome.frame.size()),
                .repeat = 1);
    __sk_buff ctx{};
    if (gso_size) {
        ctx.gso_size = gso_size;
        ctx.gso_segs = 2;
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
    }
    outcome.error = bpf_prog_test_run_opts(datapath->mss_program_fd(ingress), &opts);
    if (!may_refuse) {
        EXPECT_EQ(outcome.error, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-outcome.error);
    }
    outcome.frame.resize(opts.data_size_out);
    outcome.tc_action = int32_t(opts.retval);

    auto after = datapath->counters(first, count);
    auto mss_after = datapath->mss_counters(mss_first, mss_count);
    const MssMoves moves = mss_moves(mss_before, mss_after, mss_first);
    outcome.mss_outcome = moves.outcome;
    outcome.mss_direction = moves.direction;
    outcome.mss_moved = moves.moved;
    for (uint32_t i = 0; i < count; ++i)
        outcome.counters_moved += after[i].packets != before[i].packets;
    return outcome;
}

TcOutcome ProgramTest::expect_tc(const Bytes &frame, bool ingress)
{
    // The direction whose session address is the source: leaving an --iface, entering a
    // --client-iface.
    const bool client_side = model.iface && model.iface->direction == MG_DIR_FROM_CLIENT;
    const bool from_client = ingress ? client_side : !client_side;
    model::MssVerdict oracle = model::clamp(frame, model, from_client);
    TcOutcome outcome = run_tc(frame, ingress);
    EXPECT_EQ(outcome.tc_action, -1) << "TC_ACT_UNSPEC: the rest of the chain decides";
    EXPECT_EQ(mss_outcome_name(outcome.mss_outcome), std::string(mss_outcome_name(oracle.mss_outcome)))
        << "MSS outcome, program vs model";
    EXPECT_EQ(outcome.mss_moved, oracle.mss_outcome >= 0 ? 1 : 0);
    if (outcome.mss_moved) {
        EXPECT_EQ(outcome.mss_direction, from_client ? MG_DIR_FROM_CLIENT : MG_DIR_TO_CLIENT);
    }
    EXPECT_EQ(outcome.counters_moved, 0) << "the tc programs count MSS outcomes only";
    EXPECT_EQ(hex(outcome.frame), hex(oracle.frame)) << "program and model output differ";
    return outcome;
}

} // namespace mtuguard::test
