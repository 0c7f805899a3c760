#include "kernel/observer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "observe.skel.h"

namespace mtuguard {
namespace {

// The filter's identity on the hook: fixed, so a filter a killed daemon left behind is replaced
// rather than doubled, and ordered ahead of the default priority the operator's filters get.
constexpr uint32_t filter_handle = 0x6d67; // "mg"
constexpr uint32_t filter_priority = 0x3000;

bpf_tc_hook hook_for(uint32_t ifindex, bpf_tc_attach_point point)
{
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = int(ifindex);
    hook.attach_point = point;
    return hook;
}

} // namespace

// tcx attach types (Linux 6.6), newer than this system's uapi headers.
constexpr int attach_tcx_ingress = 46, attach_tcx_egress = 47;

TcFilter TcFilter::attach(int program_fd, uint32_t ifindex, bool ingress, const std::string &name)
{
    Fd link(bpf_link_create(program_fd, int(ifindex),
                            bpf_attach_type(ingress ? attach_tcx_ingress : attach_tcx_egress), nullptr));
    if (link)
        return TcFilter(ifindex, ingress, std::move(link), false);
    if (errno != EINVAL)
        fail(errno, std::string("attaching the observation program to ") + name + (ingress ? " ingress" : " egress"));
    return attach_netlink(program_fd, ifindex, ingress, name); // a kernel without tcx
}

TcFilter TcFilter::attach_netlink(int program_fd, uint32_t ifindex, bool ingress, const std::string &name)
{
    const char *direction = ingress ? "ingress" : "egress";
    bpf_tc_hook hook = hook_for(ifindex, ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    // One clsact qdisc holds both directions; the ingress filter owns it when it made it (one
    // the operator has stays), and goes after the egress one (Observer::attach).
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        fail(err, "creating the clsact qdisc on " + name);
    TcFilter filter(ifindex, ingress, Fd(), ingress && err == 0); // a throw now undoes the qdisc
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = program_fd;
    opts.handle = filter_handle;
    opts.priority = filter_priority;
    opts.flags = BPF_TC_F_REPLACE;
    if ((err = bpf_tc_attach(&hook, &opts)))
        fail(err, std::string("attaching the observation program to ") + name + " " + direction);
    filter.attached_ = true;
    return filter;
}

TcFilter::TcFilter(TcFilter &&other) noexcept
    : ifindex_(other.ifindex_), ingress_(other.ingress_), link_(std::move(other.link_)),
      owns_qdisc_(other.owns_qdisc_), attached_(other.attached_)
{
    other.ifindex_ = 0;
}

TcFilter::~TcFilter()
{
    if (!ifindex_ || link_)
        return; // a tcx link detaches as its descriptor closes
    bpf_tc_hook hook = hook_for(ifindex_, ingress_ ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    if (attached_) {
        bpf_tc_opts opts{};
        opts.sz = sizeof(opts);
        opts.handle = filter_handle;
        opts.priority = filter_priority;
        bpf_tc_detach(&hook, &opts); // fails harmlessly when the interface is gone
    }
    if (owns_qdisc_) {
        hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
        bpf_tc_hook_destroy(&hook);
    }
}

Observer::Observer(const ObserverSettings &settings) : settings_(settings)
{
    skel_ = observe_bpf__open();
    if (!skel_)
        fail(errno, "opening the observation program");
    int err = bpf_map__set_max_entries(skel_->maps.mg_clients, settings.max_clients);
    if (!err)
        err = observe_bpf__load(skel_);
    if (err) {
        observe_bpf__destroy(skel_);
        fail(err, "loading the observation program");
    }
    skel_->bss->mg_observe_settings.tls_port = settings.tls_port;
    skel_->bss->mg_observe_settings.dtls_port = settings.dtls_port;
}

Observer::~Observer()
{
    filters_.clear(); // detach before the programs go
    observe_bpf__destroy(skel_);
}

void Observer::attach(uint32_t ifindex, const std::string &name)
{
    TcFilter in = TcFilter::attach(program_fd(true), ifindex, true, name);
    TcFilter out = TcFilter::attach(program_fd(false), ifindex, false, name);
    filters_.push_back(std::move(out)); // destroyed first: the ingress filter may own the qdisc
    filters_.push_back(std::move(in));
}

bool Observer::needs_net_admin_to_detach() const
{
    return std::any_of(filters_.begin(), filters_.end(), [](const TcFilter &f) { return !f.is_link(); });
}

int Observer::program_fd(bool ingress) const
{
    return bpf_program__fd(ingress ? skel_->progs.mtuguard_observe_in : skel_->progs.mtuguard_observe_out);
}

int Observer::clients_fd() const { return bpf_map__fd(skel_->maps.mg_clients); }

std::optional<mg_client_obs> Observer::client(const mg_addr &public_address) const
{
    mg_client_obs obs{};
    // A plain lookup does not refresh the entry's LRU position the way the program's does.
    if (bpf_map_lookup_elem(clients_fd(), &public_address, &obs) != 0)
        return std::nullopt;
    return obs;
}

std::array<uint64_t, MG_OBSERVED_COUNT> Observer::totals() const
{
    std::array<uint64_t, MG_OBSERVED_COUNT> out{};
    const int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> per_cpu(cpus > 0 ? cpus : 1);
    for (uint32_t what = 0; what < MG_OBSERVED_COUNT; ++what) {
        if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.mg_observed), &what, per_cpu.data()) != 0)
            continue;
        for (uint64_t v : per_cpu)
            out[what] += v;
    }
    return out;
}

} // namespace mtuguard
