// The kernel feature check's verdicts (userspace/kernel/features.cpp) against a kernel described
// by a table: every missing piece named once, in words an operator can act on.
#include <gtest/gtest.h>

#include "kernel/features.hpp"

namespace mtuguard {
namespace {

KernelProbe everything(int major = 6, int minor = 1)
{
    return {[](bpf_prog_type) { return true; }, [](bpf_map_type) { return true; },
            [](bpf_prog_type, int) { return true; }, major, minor};
}

const std::vector<ProgramNeeds> programs = {
    {"mtuguard_xdp", BPF_PROG_TYPE_XDP, {BPF_FUNC_map_lookup_elem, BPF_FUNC_xdp_adjust_head, BPF_FUNC_csum_diff}},
    {"mtuguard_observe_in", BPF_PROG_TYPE_SCHED_CLS, {BPF_FUNC_map_lookup_elem, BPF_FUNC_skb_pull_data}},
};
const std::vector<bpf_map_type> maps = {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH};

TEST(KernelFeatures, AKernelWithEverythingLacksNothing)
{
    EXPECT_TRUE(missing_features(programs, maps, everything()).empty());
    EXPECT_TRUE(missing_features(programs, maps, everything(5, 11)).empty()) << "the minimum itself";
}

TEST(KernelFeatures, EachMissingPieceIsNamedOnce)
{
    KernelProbe probe = everything();
    probe.helper = [](bpf_prog_type type, int helper) {
        return !(type == BPF_PROG_TYPE_XDP && helper == BPF_FUNC_xdp_adjust_head);
    };
    probe.map_type = [](bpf_map_type type) { return type != BPF_MAP_TYPE_PERCPU_ARRAY; };
    EXPECT_EQ(missing_features(programs, maps, probe),
              (std::vector<std::string>{"the BPF helper #" + std::to_string(BPF_FUNC_xdp_adjust_head) +
                                            " in xdp programs (used by mtuguard_xdp)",
                                        "BPF maps of type percpu_array"}));

    probe = everything();
    probe.program_type = [](bpf_prog_type type) { return type != BPF_PROG_TYPE_SCHED_CLS; };
    EXPECT_EQ(missing_features(programs, maps, probe),
              (std::vector<std::string>{"BPF programs of type sched_cls (mtuguard_observe_in)"}));
}

TEST(KernelFeatures, AnOldKernelNamesTheMinimum)
{
    EXPECT_EQ(missing_features(programs, maps, everything(5, 10)),
              (std::vector<std::string>{"Linux 5.11 or later (XDP through bpf_link, map memory charged to the cgroup); "
                                        "this is 5.10"}));
    EXPECT_EQ(missing_features(programs, maps, everything(4, 19)).size(), 1u);
}

} // namespace
} // namespace mtuguard
