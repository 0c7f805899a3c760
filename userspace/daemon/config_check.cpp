// mtuguardd --check-config (config_check.hpp).
#include "daemon/config_check.hpp"

#include <unistd.h>

#include <sstream>

#include "daemon/agent.hpp"
#include "daemon/reload_plan.hpp"
#include "kernel/interface.hpp"

namespace mtuguard {
namespace {

std::string joined(const std::vector<std::string> &names)
{
    std::string all;
    for (const auto &name : names)
        all += (all.empty() ? "" : ", ") + name;
    return all.empty() ? "none" : all;
}

// The --client-iface names that do not exist yet: the daemon waits for them.
std::string waiting(const Config &config)
{
    std::string out;
    for (const auto &name : config.client_ifaces) {
        try {
            query_interface(name);
        } catch (const std::exception &) {
            out += "  " + name + " does not exist yet: waited for, attached when it appears\n";
        }
    }
    return out;
}

std::string limit(const RateLimit &rate)
{
    return rate.rate ? std::to_string(rate.rate) + "/s, burst " + std::to_string(rate.burst) : "unlimited";
}

} // namespace

void check_config(const Config &config)
{
    resolve_interfaces(config); // the same check (and message) as at start
    for (const auto &name : config.outside_ifaces) {
        try {
            query_interface(name);
        } catch (const std::exception &e) {
            throw ConfigError("--outside-iface " + name + ": " + e.what());
        }
    }
    if (config.ocserv && access(config.occtl.c_str(), X_OK) != 0)
        throw ConfigError("--occtl " + config.occtl + ": not an executable file");
}

std::string describe_config(const Config &config)
{
    size_t pools = 0;
    for (const auto &spec : config.sessions)
        pools += !spec.prefix.is_host();
    std::string client_pools;
    for (const auto &pool : config.client_pools)
        client_pools += (client_pools.empty() ? "" : ", ") + pool.to_string();
    std::ostringstream out;
    out << "enforce on: " << joined(config.ifaces) << " (XDP " << xdp_mode_name(config.xdp_mode) << ")\n"
        << "clients' side: " << joined(config.client_ifaces) << "\n"
        << waiting(config)
        << "sessions: " << config.sessions.size() - pools << " exact, " << pools << " pool(s); at most "
        << config.max_sessions << " exact\n"
        << "client pools: " << (client_pools.empty() ? "none" : client_pools) << "\n"
        << "on oversize: " << action_name(config.on_oversize) << "; ICMP errors " << limit(config.icmp_global)
        << " in all, " << limit(config.icmp_per_source) << " per sender\n"
        << "MSS clamping: " << (config.mss_clamp ? "on" : "off") << "\n"
        << "transport tracking: "
        << (config.outside_ifaces.empty() || !config.transport_tracking ? "off" : "on " + joined(config.outside_ifaces))
        << "\n"
        << "session sources: " << (config.ocserv ? "ocserv (" + config.occtl + ")" : std::string("no ocserv"))
        << (config.syslog_listen.empty() ? ", no ASA syslog" : ", ASA syslog on " + config.syslog_listen) << "\n"
        << "control socket: " << (config.control_socket.empty() ? "none" : config.control_socket) << "\n"
        << "metrics: " << (config.metrics_listen.empty() ? "none" : "http://" + config.metrics_listen + "/metrics")
        << "\n"
        << "pinned state: " << (config.pin_path.empty() ? "none" : config.pin_path)
        << (config.keep_attached ? " (kept attached on stop)" : "") << "\n";
    return out.str();
}

} // namespace mtuguard
