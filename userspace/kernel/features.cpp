// The kernel feature check (features.hpp).
#include "kernel/features.hpp"

#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>

#include "mtuguard_kern_user.h" // the skeletons' map value types
#include "mtuguard.skel.h"
#include "observe.skel.h"

namespace mtuguard {
namespace {

std::string type_name(bpf_prog_type type)
{
    const char *name = libbpf_bpf_prog_type_str(type);
    return name ? name : "program type " + std::to_string(int(type));
}

std::string map_name(bpf_map_type type)
{
    const char *name = libbpf_bpf_map_type_str(type);
    return name ? name : "map type " + std::to_string(int(type));
}

// The helper calls among a program's instructions (BPF_CALL with src_reg 0: a helper by id,
// where 1 is a BPF-to-BPF call and 2 a kfunc).
std::vector<int> helpers_called(const bpf_program *program)
{
    std::set<int> ids;
    const bpf_insn *insns = bpf_program__insns(program);
    for (size_t i = 0; i < bpf_program__insn_cnt(program); ++i)
        if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 0)
            ids.insert(insns[i].imm);
    return {ids.begin(), ids.end()};
}

void add_needs(bpf_object *object, std::vector<ProgramNeeds> &programs, std::vector<bpf_map_type> &maps)
{
    bpf_program *program;
    bpf_object__for_each_program(program, object)
        programs.push_back({bpf_program__name(program), bpf_program__type(program), helpers_called(program)});
    bpf_map *map;
    bpf_object__for_each_map(map, object)
        maps.push_back(bpf_map__type(map));
}

} // namespace

std::vector<std::string> missing_features(const std::vector<ProgramNeeds> &programs,
                                          const std::vector<bpf_map_type> &maps, const KernelProbe &probe)
{
    std::vector<std::string> missing;
    if (probe.version_major * 1000 + probe.version_minor < minimum_kernel_major * 1000 + minimum_kernel_minor)
        missing.push_back("Linux " + std::to_string(minimum_kernel_major) + "." + std::to_string(minimum_kernel_minor) +
                          " or later (XDP through bpf_link, map memory charged to the cgroup); this is " +
                          std::to_string(probe.version_major) + "." + std::to_string(probe.version_minor));
    std::set<bpf_prog_type> types;
    std::set<std::pair<int, int>> helpers;
    for (const auto &program : programs) {
        if (types.insert(program.type).second && !probe.program_type(program.type))
            missing.push_back("BPF programs of type " + type_name(program.type) + " (" + program.name + ")");
        for (int helper : program.helpers)
            if (helpers.insert({program.type, helper}).second && !probe.helper(program.type, helper))
                missing.push_back("the BPF helper #" + std::to_string(helper) + " in " + type_name(program.type) +
                                  " programs (used by " + program.name + ")");
    }
    for (bpf_map_type type : std::set<bpf_map_type>(maps.begin(), maps.end()))
        if (!probe.map_type(type))
            missing.push_back("BPF maps of type " + map_name(type));
    return missing;
}

void check_kernel_features()
{
    std::vector<ProgramNeeds> programs;
    std::vector<bpf_map_type> maps;
    {
        std::unique_ptr<mtuguard_bpf, void (*)(mtuguard_bpf *)> enforce(mtuguard_bpf__open(), mtuguard_bpf__destroy);
        std::unique_ptr<observe_bpf, void (*)(observe_bpf *)> observe(observe_bpf__open(), observe_bpf__destroy);
        if (!enforce || !observe)
            throw std::runtime_error("opening the built-in BPF objects failed");
        add_needs(enforce->obj, programs, maps);
        add_needs(observe->obj, programs, maps);
    }
    KernelProbe probe;
    // A probe answers 1 (there), 0 (not there) or a negative error (it could not tell, e.g. no
    // CAP_BPF): only a clear 0 is reported, the load itself says the rest.
    probe.program_type = [](bpf_prog_type type) { return libbpf_probe_bpf_prog_type(type, nullptr) != 0; };
    probe.map_type = [](bpf_map_type type) { return libbpf_probe_bpf_map_type(type, nullptr) != 0; };
    probe.helper = [](bpf_prog_type type, int helper) {
        return libbpf_probe_bpf_helper(type, bpf_func_id(helper), nullptr) != 0;
    };
    utsname uts{};
    uname(&uts);
    std::sscanf(uts.release, "%d.%d", &probe.version_major, &probe.version_minor);
    const std::vector<std::string> missing = missing_features(programs, maps, probe);
    if (missing.empty())
        return;
    std::string line = "this kernel (" + std::string(uts.release) + ") lacks what mtuguard needs: ";
    for (size_t i = 0; i < missing.size(); ++i)
        line += (i ? "; " : "") + missing[i];
    throw std::runtime_error(line + " (the minimum is Linux " + std::to_string(minimum_kernel_major) + "." +
                             std::to_string(minimum_kernel_minor) + ")");
}

} // namespace mtuguard
