// What the kernel must offer the programs, checked before anything is loaded, so that a kernel
// too old says which feature it lacks in one line instead of a verifier log.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <linux/bpf.h>

namespace mtuguard {

// What one program needs: its type, and the helpers its instructions call.
struct ProgramNeeds {
    std::string name;
    bpf_prog_type type;
    std::vector<int> helpers; // BPF_FUNC_* ids
};

// The kernel's answers (libbpf's probes in production, a table in the tests).
struct KernelProbe {
    std::function<bool(bpf_prog_type)> program_type;
    std::function<bool(bpf_map_type)> map_type;
    std::function<bool(bpf_prog_type, int)> helper;
    int version_major = 0, version_minor = 0; // of the running kernel
};

// Each missing feature, one line apiece ("the helper bpf_xdp_adjust_tail (used by mtuguard_xdp)").
std::vector<std::string> missing_features(const std::vector<ProgramNeeds> &programs,
                                          const std::vector<bpf_map_type> &maps, const KernelProbe &probe);

// The programs and maps of the daemon's BPF objects, checked against this kernel. Throws
// std::runtime_error naming everything missing, in one line, with the minimum kernel.
void check_kernel_features();

// The oldest kernel the daemon runs on (XDP through bpf_link, BPF map memory charged to the
// cgroup rather than RLIMIT_MEMLOCK): what README and the operator guide state.
constexpr int minimum_kernel_major = 5, minimum_kernel_minor = 11;

} // namespace mtuguard
