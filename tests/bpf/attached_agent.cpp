#include "attached_agent.hpp"

#include <bpf/bpf.h>
#include <net/if.h>
#include <unistd.h>

#include <cstdlib>

#include "harness.hpp"

namespace mtuguard::test {

void AttachedAgent::SetUp()
{
    require_privileges();
    if (IsSkipped() || HasFatalFailure())
        return;
    veth = "mgat" + std::to_string(getpid() % 100000);
    ASSERT_EQ(std::system(("ip link add " + veth + " type veth peer name " + veth + "p && ip link set " + veth +
                           " up && ip addr add 192.0.2.1/24 dev " + veth)
                              .c_str()),
              0);
    config.ifaces = {veth};
    config.max_sessions = 4;
    config.pin_path.clear();
    config.metrics_listen.clear();
    config.control_socket.clear();
    config.icmp_global = {0, 1};
    config.icmp_per_source = {0, 1};
    configure(config);
    agent = std::make_unique<Agent>(config);
}

void AttachedAgent::TearDown()
{
    agent.reset();
    if (!veth.empty())
        (void)!std::system(("ip link del " + veth + " 2>/dev/null").c_str());
}

AttachedAgent::Run AttachedAgent::run_ipv4(const std::string &dst, uint16_t length)
{
    Ipv4Packet p;
    p.dst = dst;
    p.total_length = length;
    Bytes in = p.build();
    Run run;
    run.frame.resize(4096);
    xdp_md ctx{};
    ctx.data_end = in.size();
    ctx.ingress_ifindex = if_nametoindex(veth.c_str());
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = run.frame.data(),
                .data_size_in = uint32_t(in.size()), .data_size_out = uint32_t(run.frame.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(agent->program_fd(), &opts), 0);
    run.frame.resize(opts.data_size_out);
    run.action = opts.retval;
    return run;
}

} // namespace mtuguard::test
