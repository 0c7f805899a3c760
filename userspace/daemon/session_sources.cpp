#include "daemon/session_sources.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace mtuguard {

SessionSources::SessionSources(const Config &config, Agent &agent)
    : agent_(agent), stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!stop_)
        throw std::system_error(errno, std::generic_category(), "eventfd");
    if (config.ocserv)
        ocserv_ = std::make_unique<OcservSource>(config, agent);
    if (!config.syslog_listen.empty())
        syslog_ = std::make_unique<AsaSyslogSource>(config, agent);
}

SessionSources::~SessionSources()
{
    if (thread_.joinable()) {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(stop_.get(), &one, sizeof(one));
        thread_.join();
    }
}

bool SessionSources::active() const { return ocserv_ || syslog_ || agent_.tracking().observing; }

void SessionSources::start()
{
    if (active())
        thread_ = std::thread([this] { run(); });
}

void SessionSources::run()
{
    auto next_track = SteadyClock::now();
    for (;;) {
        const auto now = SteadyClock::now();
        if (now >= next_track) {
            agent_.track_transports();
            next_track = now + agent_.tracking_interval();
        }
        if (ocserv_)
            ocserv_->on_tick(now);

        auto deadline = next_track;
        if (ocserv_)
            deadline = std::min(deadline, ocserv_->next_deadline());
        std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}, {ocserv_ ? ocserv_->fd() : -1, POLLIN, 0}};
        if (syslog_)
            syslog_->add_fds(fds);
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (poll(fds.data(), fds.size(), int(std::max<int64_t>(0, wait.count()) + 1)) < 0 && errno != EINTR)
            return;
        if (fds[0].revents)
            return;
        if (fds[1].revents && ocserv_)
            ocserv_->on_readable();
        if (syslog_)
            syslog_->on_events(fds, 2);
    }
}

} // namespace mtuguard
