#include "agent.hpp"

#include <cstring>

#include "log.hpp"

namespace mtuguard {
namespace {

std::vector<InterfaceInfo> resolve(const std::vector<std::string> &names)
{
    std::vector<InterfaceInfo> interfaces;
    for (const auto &name : names) {
        try {
            interfaces.push_back(query_interface(name));
        } catch (const std::exception &e) {
            throw ConfigError("--iface " + name + ": " + e.what());
        }
    }
    return interfaces;
}

mg_iface make_iface(const InterfaceInfo &info, uint32_t slot, const Config &config)
{
    mg_iface iface{};
    iface.slot = slot;
    iface.mtu = info.mtu;
    auto source4 = config.icmp_source4 ? config.icmp_source4 : info.address4;
    auto source6 = config.icmp_source6 ? config.icmp_source6 : info.address6;
    if (source4) {
        std::memcpy(iface.icmp_src4, &source4->addr.bytes[12], 4);
        iface.has_src4 = 1;
    }
    if (source6) {
        std::memcpy(iface.icmp_src6, source6->addr.bytes, 16);
        iface.has_src6 = 1;
    }
    return iface;
}

std::string describe(const SessionSpec &spec)
{
    return std::string(spec.prefix.is_host() ? "session " : "pool ") + spec.prefix.to_string() +
           " dtls-mtu=" + std::to_string(spec.session.dtls_mtu) +
           " tls-mtu=" + std::to_string(spec.session.tls_mtu) +
           " transport=" + transport_name(spec.session.transport);
}

} // namespace

Agent::Agent(const Config &config)
    : config_(config), interfaces_(resolve(config.ifaces)), datapath_(config.max_sessions)
{
    // Fill every map before the program sees its first packet.
    datapath_.set_settings(make_settings(config_));
    for (const auto &spec : config_.sessions)
        set_session(spec);
    const bool answers = config_.on_oversize == MG_ACTION_ICMP || config_.on_oversize == MG_ACTION_CLEAR_DF;
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        const auto &info = interfaces_[i];
        mg_iface iface = make_iface(info, i + 1, config_);
        datapath_.set_iface(info.ifindex, iface);
        if (answers && !iface.has_src4)
            log::warning(info.name + ": no IPv4 address: oversize IPv4 gets no frag-needed (set --icmp-source)");
        if (answers && !iface.has_src6)
            log::warning(info.name + ": no IPv6 address: oversize IPv6 gets no Packet Too Big (set --icmp-source)");
    }

    // Attach everywhere; a throw destroys the links already made, detaching them again.
    for (const auto &info : interfaces_) {
        try {
            links_.push_back(XdpLink::attach(datapath_.program_fd(), info.ifindex, config_.xdp_mode));
        } catch (const std::system_error &e) {
            throw std::system_error(e.code(), "--iface " + info.name + ": " + e.what() +
                                                  (links_.empty() ? "" : "; detached from the interfaces already attached"));
        }
        log::info("attached to " + info.name + " (ifindex " + std::to_string(info.ifindex) + ", " +
                  xdp_mode_name(links_.back().mode()) + " mode, mtu " + std::to_string(info.mtu) + ")");
    }
}

void Agent::set_session(const SessionSpec &spec)
{
    std::lock_guard lock(sessions_mutex_);
    datapath_.set_session(spec.prefix, spec.session);
    sessions_[spec.prefix.to_string()] = spec;
    log::info(describe(spec));
}

std::string Agent::summary() const
{
    std::lock_guard lock(sessions_mutex_);
    return "enforcing " + std::to_string(sessions_.size()) + " session(s) on " +
           std::to_string(links_.size()) + " interface(s), oversize action " +
           action_name(config_.on_oversize);
}

std::vector<mg_counter> Agent::counters() const { return datapath_.counters(); }

std::vector<mg_size_histogram> Agent::oversize_sizes() const { return datapath_.oversize_sizes(); }

std::vector<InterfaceStatus> Agent::interfaces() const
{
    std::vector<InterfaceStatus> out;
    for (size_t i = 0; i < interfaces_.size(); ++i) {
        InterfaceStatus s;
        s.name = interfaces_[i].name;
        s.slot = i + 1;
        s.attached = i < links_.size();
        s.mode = s.attached ? xdp_mode_name(links_[i].mode()) : "none";
        out.push_back(s);
    }
    return out;
}

SessionCounts Agent::sessions() const
{
    std::lock_guard lock(sessions_mutex_);
    SessionCounts counts;
    counts.map_capacity = config_.max_sessions;
    for (const auto &[_, spec] : sessions_) {
        counts.by_transport[spec.session.transport]++;
        counts.map_entries += spec.prefix.is_host();
    }
    return counts;
}

std::array<uint64_t, size_t(ControlResult::Count)> Agent::control_requests() const
{
    std::array<uint64_t, size_t(ControlResult::Count)> out{};
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = control_requests_[i].load(std::memory_order_relaxed);
    return out;
}

} // namespace mtuguard
