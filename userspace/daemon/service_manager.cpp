#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "common/log.hpp"

namespace mtuguard {

ServiceManager::ServiceManager()
{
    uint64_t usec = 0;
    // 0: keep WATCHDOG_USEC in the environment; nothing this daemon starts reads it.
    int enabled = sd_watchdog_enabled(0, &usec);
    if (enabled < 0)
        log::warning(std::string("ignoring the watchdog settings in the environment: ") + std::strerror(-enabled));
    if (enabled > 0 && usec > 0) {
        watchdog_ = std::chrono::microseconds(usec);
        tick_interval_ = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_ / 4),
                                    std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
        log::info("systemd watchdog: " + std::to_string(usec / 1000) + " ms, fed every " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_ / 4).count()) +
                  " ms");
    }
}

void ServiceManager::send(const std::string &message)
{
    // A lost notification must not stop enforcement: systemd's timeouts report it instead.
    int sent = sd_notify(0, message.c_str());
    if (sent < 0)
        log::warning("sd_notify " + message.substr(0, message.find('\n')) + ": " + std::strerror(-sent));
}

void ServiceManager::ready(const std::string &status)
{
    last_status_ = status;
    send("READY=1\nSTATUS=" + status);
}

void ServiceManager::reloading()
{
    // MONOTONIC_USEC lets systemd (253 and later) tell this reload from an earlier one.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(uint64_t(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000));
}

void ServiceManager::stopping() { send("STOPPING=1"); }

void ServiceManager::status(const std::string &status)
{
    if (status == last_status_)
        return;
    last_status_ = status;
    send("STATUS=" + status);
}

void ServiceManager::tick(Clock::time_point now)
{
    if (watchdog_.count() == 0 || now - last_ping_ < watchdog_ / 4)
        return;
    last_ping_ = now;
    send("WATCHDOG=1");
}

} // namespace mtuguard
