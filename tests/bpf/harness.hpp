// Loads the real enforcement program and mirrors every setting into the reference model, so
// a test states a packet once and gets both verdicts, the program's output bytes and the exact
// counter deltas it caused.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "kernel/datapath.hpp"
#include "model.hpp"
#include "packet.hpp"

namespace mtuguard::test {

// Fails the test loudly without root; MTUGUARD_SKIP_PRIVILEGED=1 turns that into a skip.
void require_privileges();

// ifindex of BPF_PROG_TEST_RUN's default ingress device (loopback).
constexpr uint32_t test_ifindex = 1;
constexpr uint32_t test_slot = 1;

struct Outcome {
    uint32_t xdp_action = 0;
    Bytes frame;
    int reason = -1;     // the one reason whose counter moved, or -1
    int family = -1;     // and its family
    int moved = 0;       // counters that moved
    uint64_t bytes = 0;  // bytes added to that counter
    int mss_outcome = -1; // the MSS outcome counted, or -1
    int mss_moved = 0;    // MSS counts added in all
};

// One run of a tc program (the MSS clamp).
struct TcOutcome {
    int error = 0; // BPF_PROG_TEST_RUN's
    int32_t tc_action = 0;
    Bytes frame;
    int mss_outcome = -1;  // the MSS outcome counted, or -1
    int mss_direction = -1; // and under which direction (enum mg_direction)
    int mss_moved = 0;     // MSS counts added in all
    int counters_moved = 0; // the XDP program's counters: a tc program must leave them alone
};

class ProgramTest : public ::testing::Test {
protected:
    void SetUp() override;

    void add_session(const std::string &spec);
    void add_sessions(std::initializer_list<const char *> specs);
    void set_settings(const mg_settings &settings);
    void set_iface(const mg_iface &iface);
    mg_iface default_iface() const;

    // Runs the real program once and reports which counter moved.
    Outcome run(const Bytes &frame, int repeat = 1);
    // Runs program and model; requires the same verdict, reason and output bytes, exactly
    // one counter moved by one packet and the frame's length, and no MSS counted (XDP never
    // touches TCP options). Returns the program's outcome.
    Outcome expect(const Bytes &frame, mg_reason reason);
    // Runs the tc program of one direction once (a SCHED_CLS BPF_PROG_TEST_RUN: the skb is
    // CHECKSUM_NONE, on loopback, the test interface).
    // `may_refuse`: the kernel may refuse the frame (it takes no SCHED_CLS input too short for
    // the headers its ethertype names), reported in `error` instead of failing the test.
    // `gso_size`: set in the skb (ctx_in), as an unsegmented TSO/GSO packet has it.
    TcOutcome run_tc(const Bytes &frame, bool ingress, bool may_refuse = false, uint32_t gso_size = 0);
    // Runs the tc program and the model's clamp; requires TC_ACT_UNSPEC, the same output bytes
    // and MSS outcome, at most one MSS count, under the direction the program was told, and no
    // other counter moved. Returns the program's outcome.
    TcOutcome expect_tc(const Bytes &frame, bool ingress);

    std::unique_ptr<Datapath> datapath;
    model::State model;
    // Set before SetUp: the --client-pool prefixes the program is loaded with.
    std::vector<std::string> client_pools;
};

// The two session tables a test can run against: the hashes alone, or client pools (arrays
// indexed by the address's offset) holding the sessions the suites use.
enum class Lookup { Hashed, ClientPools };
std::string lookup_name(const ::testing::TestParamInfo<Lookup> &info);
// Several client pools of each family: 10.8.0.0/16 and 10.9.0.0/16 (the test suites' 10.8.0.5,
// 10.8.0.6, 10.9.0.0/16, 10.9.0.7), 10.7.0.0/24, 2001:db8::/124 (2001:db8::5, ::6),
// 2001:db8::f:ff00/120 and 2001:db8:1::/112; 2001:db8:9::/48 and 2001:db8:100::/40's sessions
// stay outside, in the hash and the trie.
std::vector<std::string> suite_client_pools(Lookup lookup);

const char *reason_name(int reason);
const char *mss_outcome_name(int outcome);

} // namespace mtuguard::test
