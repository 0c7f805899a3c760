// mtuguardd: loads the enforcement program, fills its maps from the configuration, attaches it
// to every --iface, and keeps it there until SIGINT or SIGTERM, when everything it created is
// removed again.
#include <signal.h>

#include <cstring>
#include <iostream>
#include <vector>

#include "config.hpp"
#include "datapath.hpp"
#include "interface.hpp"
#include "log.hpp"

using namespace mtuguard;

namespace {

constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

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

int run(const Config &config)
{
    // 1. Resolve interfaces first: a typo must fail before anything is loaded.
    std::vector<InterfaceInfo> interfaces;
    for (const auto &name : config.ifaces) {
        try {
            interfaces.push_back(query_interface(name));
        } catch (const std::exception &e) {
            log::error("--iface " + name + ": " + e.what());
            return exit_usage;
        }
    }

    // 2. Load the program and fill its maps before it sees a packet.
    Datapath datapath(config.max_sessions);
    datapath.set_settings(make_settings(config));
    for (const auto &spec : config.sessions) {
        datapath.set_session(spec.prefix, spec.session);
        log::info(describe(spec));
    }
    for (size_t i = 0; i < interfaces.size(); ++i) {
        const auto &info = interfaces[i];
        mg_iface iface = make_iface(info, i + 1, config);
        datapath.set_iface(info.ifindex, iface);
        if (config.on_oversize == MG_ACTION_ICMP || config.on_oversize == MG_ACTION_CLEAR_DF) {
            if (!iface.has_src4)
                log::warning(info.name + ": no IPv4 address: oversize IPv4 gets no frag-needed "
                                         "(set --icmp-source)");
            if (!iface.has_src6)
                log::warning(info.name + ": no IPv6 address: oversize IPv6 gets no Packet Too "
                                         "Big (set --icmp-source)");
        }
    }

    // 3. Attach everywhere; a failure unwinds the links already made (XdpLink destructors).
    std::vector<XdpLink> links;
    for (const auto &info : interfaces) {
        try {
            links.push_back(XdpLink::attach(datapath.program_fd(), info.ifindex, config.xdp_mode));
        } catch (const std::exception &e) {
            log::error("--iface " + info.name + ": " + e.what() +
                       (links.empty() ? "" : "; detached from the interfaces already attached"));
            return exit_runtime;
        }
        log::info("attached to " + info.name + " (ifindex " + std::to_string(info.ifindex) +
                  ", " + xdp_mode_name(links.back().mode()) + " mode, mtu " +
                  std::to_string(info.mtu) + ")");
    }
    log::info("enforcing " + std::to_string(config.sessions.size()) +
              " session(s), oversize action " + action_name(config.on_oversize));

    // 4. Wait for the signal to stop; leaving this scope detaches and unloads everything.
    int signal = 0;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigwait(&stop, &signal);
    log::info(std::string("stopping on ") + strsignal(signal) + ": detaching");
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    // Block the stop signals before anything else so sigwait() receives them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    CommandLine command_line;
    try {
        command_line = parse_command_line(argc, argv);
    } catch (const UsageError &e) {
        std::cerr << "mtuguardd: " << e.what() << "\nTry 'mtuguardd --help'.\n";
        return exit_usage;
    }
    if (command_line.help) {
        std::cout << command_line.help_text;
        return 0;
    }
    if (command_line.version) {
        std::cout << "mtuguardd " MTUGUARD_VERSION "\n";
        return 0;
    }
    try {
        return run(command_line.config);
    } catch (const std::exception &e) {
        log::error(e.what());
        return exit_runtime;
    }
}
