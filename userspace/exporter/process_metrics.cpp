// The process_* families (process_metrics.hpp).
#include "exporter/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace mtuguard {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void add_process(std::vector<MetricFamily> &out, const char *name, const char *help, MetricType type, double value)
{
    ClientMetric metric;
    if (type == MetricType::Counter)
        metric.counter.value = value;
    else
        metric.gauge.value = value;
    out.push_back(MetricFamily{name, help, type, {metric}});
}

// The boot time (btime of /proc/stat), in seconds since the epoch; 0 when unknown.
double boot_time()
{
    std::ifstream stat("/proc/stat");
    std::string key;
    double value = 0;
    while (stat >> key)
        if (key == "btime" && stat >> value)
            return value;
        else
            stat.ignore(1 << 20, '\n');
    return 0;
}

} // namespace

void collect_process(std::vector<MetricFamily> &out)
{
    const double ticks = double(sysconf(_SC_CLK_TCK)), page = double(sysconf(_SC_PAGESIZE));
    // /proc/self/stat: the command sits in parentheses and may hold spaces; the fields after it
    // are counted from its closing one (proc(5): utime is 14, stime 15, starttime 22, vsize 23,
    // rss 24).
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    if (auto close = stat.rfind(')'); close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 2));
        std::vector<std::string> f{"pid", "comm"};
        for (std::string field; fields >> field;)
            f.push_back(field);
        if (f.size() > 24) {
            add_process(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                        MetricType::Counter, (std::stod(f[13]) + std::stod(f[14])) / ticks);
            if (const double boot = boot_time())
                add_process(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, boot + std::stod(f[21]) / ticks);
            add_process(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                        std::stod(f[22]));
            add_process(out, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                        std::stod(f[23]) * page);
        }
    }
    if (DIR *fds = opendir("/proc/self/fd")) {
        double open = 0;
        while (dirent *entry = readdir(fds))
            open += entry->d_name[0] != '.';
        closedir(fds);
        add_process(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge, open - 1); // less this listing's own
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
        add_process(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                    double(limit.rlim_cur));
}

} // namespace mtuguard
