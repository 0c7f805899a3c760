#include "metrics_server.hpp"

#include <prometheus/exposer.h>

#include <stdexcept>

#include "collector.hpp"

namespace mtuguard {

MetricsServer::MetricsServer(const std::string &listen, const AgentView &agent)
    : collector_(std::make_shared<Collector>(agent))
{
    try {
        exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    } catch (const std::exception &e) {
        throw std::runtime_error("--metrics-listen " + listen + ": cannot listen: " + e.what());
    }
    exposer_->RegisterCollectable(collector_);
}

MetricsServer::~MetricsServer()
{
    collector_->stop();
    // Deliberately not destroyed: the daemon is exiting (mtuguardd ends with _exit).
    static_cast<void>(exposer_.release());
}

} // namespace mtuguard
