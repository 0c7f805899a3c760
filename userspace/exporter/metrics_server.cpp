#include "exporter/metrics_server.hpp"

#include <prometheus/exposer.h>

#include <stdexcept>

#include "exporter/collector.hpp"

#include "common/lsan.hpp"

namespace mtuguard {

MetricsServer::MetricsServer(const std::string &listen, const AgentView &agent)
    : collector_(std::make_shared<Collector>(agent))
{
    try {
        // civetweb serves each connection on one of a fixed set of threads and by default waits
        // 30 s for a request and for each write: two clients that connect and send nothing took
        // /metrics away for half a minute. A stalled client now holds a thread for at most
        // stall_timeout_ms; a Prometheus request and its answer take milliseconds.
        exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", listen, "num_threads", std::to_string(threads), "request_timeout_ms",
            std::to_string(stall_timeout_ms)});
    } catch (const std::exception &e) {
        throw std::runtime_error("--metrics-listen " + listen + ": cannot listen: " + e.what());
    }
    exposer_->RegisterCollectable(collector_);
}

MetricsServer::~MetricsServer()
{
    collector_->stop();
    // Deliberately not destroyed: the daemon is exiting (mtuguardd ends with _exit). Under
    // LeakSanitizer it and what it holds count as reachable, so that the daemon's leak check
    // before _exit reports only real leaks.
#ifdef MTUGUARD_LSAN
    __lsan_ignore_object(exposer_.get());
#endif
    static_cast<void>(exposer_.release());
}

} // namespace mtuguard
