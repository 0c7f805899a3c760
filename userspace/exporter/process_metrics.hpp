// The daemon's own process, under the names node_exporter's and the client libraries' process
// collectors use (process_start_time_seconds, process_cpu_seconds_total, ...), so dashboards and
// alerts written for any exporter read mtuguardd the same way.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

namespace mtuguard {

// Read from /proc/self at each scrape. A file that cannot be read leaves its family out.
void collect_process(std::vector<prometheus::MetricFamily> &out);

} // namespace mtuguard
