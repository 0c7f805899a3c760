// mtuguardd: loads the enforcement program, fills its maps from the configuration (re-adopting
// what an earlier daemon pinned), attaches it to every --iface, serves /metrics and the control
// socket, and runs until SIGINT or SIGTERM, when everything it created is removed again —
// unless --keep-attached leaves it running for the next daemon.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "agent.hpp"
#include "config.hpp"
#include "control.hpp"
#include "log.hpp"
#include "metrics_server.hpp"

using namespace mtuguard;

namespace {

constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

sigset_t stop_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

// Every control client holds a descriptor: use all the hard limit allows (systemd's soft limit
// is 1024) rather than refusing clients early.
void raise_file_limit()
{
    rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int run(const Config &config)
{
    sigset_t stop = stop_signals();
    Fd signals(signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals)
        throw std::system_error(errno, std::generic_category(), "signalfd");

    // 1. The control socket first: a second daemon must fail before touching the pins.
    std::unique_ptr<ControlServer> control;
    if (!config.control_socket.empty())
        control = std::make_unique<ControlServer>(config.control_socket);

    // 2. Load, fill and attach (or re-adopt): one step that wholly succeeds or unwinds.
    Agent agent(config);
    agent.keep_attached(config.keep_attached);

    // 3. Metrics, read from the maps at scrape time. Stopped before the agent goes (scope order).
    std::unique_ptr<MetricsServer> metrics;
    if (!config.metrics_listen.empty()) {
        metrics = std::make_unique<MetricsServer>(config.metrics_listen, agent);
        log::info("metrics on http://" + config.metrics_listen + "/metrics");
    }
    log::info(agent.summary());

    // 4. Serve the control socket until a stop signal or a detach request.
    if (control) {
        log::info("control socket " + config.control_socket);
        control->serve(
            signals.get(), [&](std::string_view request) { return handle_control_request(agent, request); },
            [&](std::string_view reason) { return refuse_control_request(agent, reason); });
    } else {
        pollfd wait{signals.get(), POLLIN, 0};
        while (poll(&wait, 1, -1) < 0 && errno == EINTR) {
        }
    }

    signalfd_siginfo info{};
    if (read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
        bool keep = config.keep_attached;
        log::info(std::string("stopping on ") + strsignal(info.ssi_signo) +
                  (keep ? ": leaving the programs attached and the state pinned at " + config.pin_path
                        : ": detaching"));
    } else {
        log::info("detaching on request: removing the programs and the pinned state");
    }
    return 0; // leaving this scope detaches (or keeps) and unloads
}

} // namespace

int main(int argc, char **argv)
{
    // Blocked before any thread starts, so every thread inherits the mask and only the
    // signalfd sees them.
    sigset_t stop = stop_signals();
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    raise_file_limit();
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
    int status;
    try {
        status = run(command_line.config);
    } catch (const ConfigError &e) {
        log::error(e.what());
        status = exit_usage;
    } catch (const std::exception &e) {
        log::error(e.what());
        status = exit_runtime;
    }
    // Everything the daemon owns is undone by now; _exit leaves the metrics server's threads to
    // the kernel instead of waiting for them (MetricsServer).
    std::fflush(nullptr);
    _exit(status);
}
