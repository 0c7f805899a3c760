// A real Agent attached to a veth pair made for the test, and packets run through its program
// with BPF_PROG_TEST_RUN as if they had arrived on that veth (its interface entry, ICMP source
// and counter slot apply).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/agent.hpp"
#include "packet.hpp"

namespace mtuguard::test {

class AttachedAgent : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // What the agent starts with: the test's veth, four sessions at most, no pins, no sockets,
    // no ICMP rate limit. A test fixture adds to it before the agent starts.
    virtual void configure(Config &) {}

    struct Run {
        uint32_t action = 0;
        Bytes frame;
    };
    // An IPv4 packet of `length` bytes toward `dst` through the attached program.
    Run run_ipv4(const std::string &dst, uint16_t length);
    uint32_t verdict(const std::string &dst, uint16_t length) { return run_ipv4(dst, length).action; }

    Config config;
    std::string veth;
    std::unique_ptr<Agent> agent;
};

constexpr uint32_t xdp_drop = 1, xdp_pass = 2, xdp_tx = 3;

} // namespace mtuguard::test
