// The daemon's side of systemd's notification protocol (sd_notify(3)): READY=1 once every
// program is attached and the maps are filled, STATUS= with the one-line summary, RELOADING=1 /
// READY=1 around a SIGHUP reload, STOPPING=1 on the way out, and WATCHDOG=1 from the main loop
// while WatchdogSec= is set. Without NOTIFY_SOCKET (not run by systemd) every call does nothing.
#pragma once

#include <chrono>
#include <string>

namespace mtuguard {

class ServiceManager {
public:
    using Clock = std::chrono::steady_clock;

    // Reads WATCHDOG_USEC (and WATCHDOG_PID) once: the watchdog interval is fixed for the
    // lifetime of the process.
    ServiceManager();

    void ready(const std::string &status);
    void reloading();
    void stopping();
    // Sends STATUS= when `status` differs from the last one sent.
    void status(const std::string &status);

    // Called from the main loop at least every tick_interval(): feeds the watchdog when a
    // quarter of its interval has passed since the last WATCHDOG=1, so at most half of it
    // ever goes by without one.
    void tick(Clock::time_point now = Clock::now());
    // How often the main loop must call tick(): 1 s, or a quarter of a shorter watchdog interval.
    std::chrono::milliseconds tick_interval() const { return tick_interval_; }

private:
    void send(const std::string &message);

    std::chrono::microseconds watchdog_{0};
    std::chrono::milliseconds tick_interval_{1000};
    Clock::time_point last_ping_{};
    std::string last_status_;
};

} // namespace mtuguard
