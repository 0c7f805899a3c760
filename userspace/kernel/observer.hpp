// The observation programs (bpf/observe.bpf.c) on the client-facing interfaces: loaded once,
// attached with tc in both directions to every --outside-iface, and read by the transport
// tracker. Every kernel object is owned: the filters come off when this goes, and the clsact
// qdisc too where this created it (one the operator had is left in place).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "common/fd.hpp"
#include "kernel/tc_filter.hpp"
#include "mtuguard_kern_user.h"

struct observe_bpf;

namespace mtuguard {

struct ObserverSettings {
    uint16_t tls_port = 443;
    uint16_t dtls_port = 443;
    uint32_t max_clients = 65536;
};

class Observer {
public:
    // Loads the programs. Throws std::system_error.
    explicit Observer(const ObserverSettings &settings);
    ~Observer();
    Observer(const Observer &) = delete;
    Observer &operator=(const Observer &) = delete;

    // Attaches to both directions of an interface; on a throw nothing of it stays attached.
    void attach(uint32_t ifindex, const std::string &name);

    std::optional<mg_client_obs> client(const mg_addr &public_address) const;
    // Totals over all clients, summed over CPUs, indexed by enum mg_observed.
    std::array<uint64_t, MG_OBSERVED_COUNT> totals() const;
    const ObserverSettings &settings() const { return settings_; }
    // Some attachment is a classic tc filter: removing it at exit takes CAP_NET_ADMIN.
    bool needs_net_admin_to_detach() const;
    int program_fd(bool ingress) const;
    int clients_fd() const;

private:
    observe_bpf *skel_ = nullptr;
    ObserverSettings settings_;
    std::vector<TcFilter> filters_;
};

} // namespace mtuguard
