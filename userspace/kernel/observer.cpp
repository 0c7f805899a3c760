#include "kernel/observer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "observe.skel.h"

namespace mtuguard {
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
