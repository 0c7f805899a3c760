// mtuguardd: loads the enforcement program, fills its maps from the configuration (re-adopting
// what an earlier daemon pinned), attaches it to every --iface, gives up its capabilities, serves
// /metrics and the control socket, and runs until SIGINT or SIGTERM, when everything it created
// is removed again — unless --keep-attached leaves it running for the next daemon, as SIGQUIT
// (the systemd unit's restart) does for this one stop. SIGHUP
// re-reads the configuration and applies it without re-attaching. An enforced interface that is
// deleted and comes back (rtnetlink tells) gets the program attached again. Under systemd
// (Type=notify) it reports readiness, its status and reloads, and feeds the watchdog.
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "daemon/agent.hpp"
#include "config/config.hpp"
#include "daemon/config_check.hpp"
#include "daemon/control_protocol.hpp"
#include "kernel/features.hpp"
#include "kernel/link_monitor.hpp"
#include "common/log.hpp"
#include "exporter/metrics_server.hpp"
#include "daemon/privileges.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/session_sources.hpp"

#include "common/lsan.hpp"

using namespace mtuguard;

namespace {

constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

sigset_t handled_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    return set;
}

// An error before the daemon runs (the command line, --check-config): "mtuguardd: MESSAGE" and
// HINT on a terminal; into the journal (ExecStart=, ExecReload='s --check-config) one line at
// priority err, where a plain line would be filed at the stream's info.
void report_error(const std::string &message, const char *hint = "")
{
    if (log::to_journal())
        log::error(message);
    else
        std::cerr << "mtuguardd: " << message << "\n" << hint;
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

// The running daemon's main loop: signals, interface changes, the watchdog and the status line.
class MainLoop {
public:
    MainLoop(int argc, const char *const *argv, Agent &agent, ServiceManager &service, int signal_fd,
             LinkMonitor &links)
        : argc_(argc), argv_(argv), agent_(agent), service_(service), signal_fd_(signal_fd), links_(links)
    {
    }

    // The link monitor is readable.
    void on_link_change()
    {
        LinkChanges changes = links_.read();
        if (!changes.empty())
            agent_.refresh_interfaces(changes);
    }

    std::string status_line() const
    {
        return agent_.summary() + (reload_error_.empty() ? "" : "; last reload refused: " + reload_error_);
    }

    // The signalfd is readable: false once it is time to stop.
    bool on_signal()
    {
        signalfd_siginfo info{};
        if (read(signal_fd_, &info, sizeof(info)) != sizeof(info))
            return true;
        if (info.ssi_signo == SIGHUP) {
            reload();
            return true;
        }
        // SIGQUIT is a restart (the unit's ExecStop= sends it): the next daemon adopts what this
        // one leaves attached and pinned, so enforcement has no gap.
        if (info.ssi_signo == SIGQUIT)
            agent_.keep_attached(true);
        stop_signal_ = int(info.ssi_signo);
        return false;
    }

    void on_tick()
    {
        const auto now = ServiceManager::Clock::now();
        service_.tick(now);
        // The driver's count of ICMP errors it could not send: warned about as it rises.
        agent_.watch_tx_errors();
        // Session counts change through the control socket: keep systemd's status line current.
        if (now - last_status_ >= std::chrono::seconds(1)) {
            last_status_ = now;
            service_.status(status_line());
        }
    }

    // Without a control socket: wait for signals and interface changes, waking for the watchdog.
    void run_without_control_socket()
    {
        pollfd wait[2] = {{signal_fd_, POLLIN, 0}, {links_.fd(), POLLIN, 0}};
        for (;;) {
            int ready = poll(wait, 2, int(service_.tick_interval().count()));
            if (ready < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "poll");
            on_tick();
            if (ready > 0 && (wait[0].revents & POLLIN) && !on_signal())
                return;
            if (ready > 0 && (wait[1].revents & POLLIN))
                on_link_change();
        }
    }

    int stop_signal() const { return stop_signal_; }

private:
    // The same command line again, and with it the --config file as it is now. Refused as a
    // whole when it does not parse or its sessions do not fit; see Agent::reload for the rest.
    void reload()
    {
        service_.reloading();
        log::info("reload: re-reading the configuration (SIGHUP)");
        try {
            CommandLine next = parse_command_line(argc_, argv_);
            ReloadReport report = agent_.reload(next.config);
            reload_error_.clear();
            log::info("reloaded: " + report.describe());
        } catch (const UsageError &e) {
            reload_error_ = e.what();
        } catch (const ConfigError &e) {
            reload_error_ = e.what();
        } catch (const std::exception &e) {
            // A map write the kernel refused half-way: what was applied stays applied.
            reload_error_ = std::string("failed part-way: ") + e.what();
        }
        if (!reload_error_.empty())
            log::error("reload refused: " + reload_error_ + "; running on with the configuration as it was");
        agent_.count_reload(reload_error_.empty() ? ReloadResult::Applied : ReloadResult::Refused);
        service_.ready(status_line());
    }

    int argc_;
    const char *const *argv_;
    Agent &agent_;
    ServiceManager &service_;
    int signal_fd_;
    LinkMonitor &links_;
    int stop_signal_ = 0;
    std::string reload_error_;
    ServiceManager::Clock::time_point last_status_ = ServiceManager::Clock::now();
};

int run(int argc, const char *const *argv, const Config &config)
{
    // 0. The kernel offers what the programs need, or one line says what it lacks.
    check_kernel_features();

    sigset_t signals_handled = handled_signals();
    Fd signals(signalfd(-1, &signals_handled, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals)
        throw std::system_error(errno, std::generic_category(), "signalfd");
    ServiceManager service;

    // 1. The control socket first: a second daemon must fail before touching the pins.
    std::unique_ptr<ControlServer> control;
    if (!config.control_socket.empty())
        control = std::make_unique<ControlServer>(config.control_socket);

    // 2. Load, fill and attach (or re-adopt): one step that wholly succeeds or unwinds. Link
    //    changes are subscribed to first, so an interface that goes away right after its
    //    attach is not missed.
    LinkMonitor links;
    Agent agent(config);
    agent.keep_attached(config.keep_attached);
    // Session sources' sockets are bound now, while binding a port below 1024 is still allowed.
    SessionSources sources(config, agent);

    // 3. Nothing from here on needs a capability (privileges.hpp). Capabilities belong to
    //    threads: dropped before the metrics server starts its own.
    {
        // occtl needs CAP_DAC_OVERRIDE: ocserv gives its socket to its own user (inheritable only).
        // Classic tc filters need CAP_NET_ADMIN to be removed at exit (permitted only).
        const uint64_t for_occtl = config.ocserv ? uint64_t(1) << CAP_DAC_OVERRIDE : 0;
        const uint64_t for_exit = agent.needs_net_admin_at_exit() ? uint64_t(1) << CAP_NET_ADMIN : 0;
        drop_capabilities(for_occtl, for_exit);
        log::info(std::string("dropped all capabilities: the maps are updated through the descriptors already open") +
                  (for_occtl ? "; CAP_DAC_OVERRIDE stays inheritable, never effective, for occtl" : "") +
                  (for_exit ? "; CAP_NET_ADMIN stays permitted, not effective, to remove the tc filters at exit" : ""));
    }

    // 4. Metrics, read from the maps at scrape time. Stopped before the agent goes (scope order).
    std::unique_ptr<MetricsServer> metrics;
    if (!config.metrics_listen.empty()) {
        metrics = std::make_unique<MetricsServer>(config.metrics_listen, agent);
        log::info("metrics on http://" + config.metrics_listen + "/metrics");
    }
    log::info(agent.summary());
    sources.start(); // ocserv, ASA syslog and the transport tracker, on a thread of their own
    MainLoop loop(argc, argv, agent, service, signals.get(), links);
    service.ready(loop.status_line());

    // 5. Serve the control socket until a stop signal or a detach request.
    if (control) {
        log::info("control socket " + config.control_socket);
        ControlServer::Events events{signals.get(),
                                     [&] { return loop.on_signal(); },
                                     [&] { loop.on_tick(); },
                                     service.tick_interval(),
                                     {{links.fd(), [&] { loop.on_link_change(); }}}};
        control->serve(
            events, [&](std::string_view request) { return handle_control_request(agent, request); },
            [&](std::string_view reason) { return refuse_control_request(agent, reason); });
    } else {
        loop.run_without_control_socket();
    }

    service.stopping();
    if (loop.stop_signal()) {
        bool keep = agent.keeps_attached();
        log::info(std::string("stopping on ") + strsignal(loop.stop_signal()) +
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
    sigset_t signals_handled = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals_handled, nullptr);

    raise_file_limit();
    CommandLine command_line;
    try {
        command_line = parse_command_line(argc, argv);
    } catch (const UsageError &e) {
        report_error(e.what(), "Try 'mtuguardd --help'.\n");
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
    if (command_line.check_config) {
        try {
            check_config(command_line.config);
        } catch (const ConfigError &e) {
            report_error(e.what());
            return exit_usage;
        }
        std::cout << describe_config(command_line.config) << "configuration OK\n";
        return 0;
    }
    int status;
    try {
        status = run(argc, argv, command_line.config);
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
#ifdef MTUGUARD_LSAN
    // _exit skips the leak check LeakSanitizer runs at exit: run it here (a leak exits 1).
    __lsan_do_leak_check();
#endif
    _exit(status);
}
