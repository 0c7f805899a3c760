// The /metrics endpoint: prometheus-cpp's exposer serving one Collector, on a few threads of its
// own, each held by a stalled client for a bounded time (threads, stall_timeout_ms).
#pragma once

#include <memory>
#include <string>

#include "common/agent_view.hpp"

namespace prometheus {
class Exposer;
}

namespace mtuguard {

class Collector;

class MetricsServer {
public:
    // The HTTP server's threads, and how long one client may keep one of them without sending
    // its request or taking its answer.
    static constexpr int threads = 4;
    static constexpr int stall_timeout_ms = 2000;

    // listen is HOST:PORT ("127.0.0.1:9784", "[::1]:9784"). Throws std::runtime_error when the
    // address cannot be bound.
    MetricsServer(const std::string &listen, const AgentView &agent);
    // Stops reading the agent at once. The HTTP server's threads are left to the process exit:
    // stopping them takes civetweb up to two seconds, which would stretch every restart.
    ~MetricsServer();

private:
    std::shared_ptr<Collector> collector_;
    std::unique_ptr<prometheus::Exposer> exposer_;
};

} // namespace mtuguard
