// mtuguardd: loads the enforcement program, fills its maps from the configuration, attaches it
// to every --iface, serves /metrics, and keeps running until SIGINT or SIGTERM, when everything
// it created is removed again.
#include <signal.h>

#include <cstring>
#include <iostream>
#include <memory>

#include "agent.hpp"
#include "config.hpp"
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

int run(const Config &config)
{
    // 1. Load, fill and attach: one step that wholly succeeds or unwinds.
    Agent agent(config);

    // 2. Metrics, read from the maps at scrape time.
    std::unique_ptr<MetricsServer> metrics;
    if (!config.metrics_listen.empty()) {
        metrics = std::make_unique<MetricsServer>(config.metrics_listen, agent);
        log::info("metrics on http://" + config.metrics_listen + "/metrics");
    }
    log::info(agent.summary());

    // 3. Wait for the signal to stop; leaving this scope detaches and unloads everything.
    int signal = 0;
    sigset_t stop = stop_signals();
    sigwait(&stop, &signal);
    log::info(std::string("stopping on ") + strsignal(signal) + ": detaching");
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    // Blocked before any thread starts, so every thread inherits the mask and sigwait() gets them.
    sigset_t stop = stop_signals();
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
    } catch (const ConfigError &e) {
        log::error(e.what());
        return exit_usage;
    } catch (const std::exception &e) {
        log::error(e.what());
        return exit_runtime;
    }
}
