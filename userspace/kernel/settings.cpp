#include "kernel/settings.hpp"

#include <time.h>

#include <cerrno>
#include <stdexcept>

#include "common/fd.hpp"

namespace mtuguard {
namespace {

mg_bucket_config bucket_config(const RateLimit &limit)
{
    mg_bucket_config c{};
    c.rate = limit.rate;
    c.burst = limit.burst;
    c.fill_ns = limit.rate ? limit.burst * 1'000'000'000ull / limit.rate : 0;
    return c;
}

} // namespace

mg_settings make_settings(const Config &config)
{
    mg_settings s{};
    s.action = config.on_oversize;
    s.mss_clamp = config.mss_clamp;
    s.icmp_global = bucket_config(config.icmp_global);
    s.icmp_per_source = bucket_config(config.icmp_per_source);
    return s;
}

mg_clock program_clock()
{
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
        fail(errno, "reading the tick length (CLOCK_MONOTONIC_COARSE)");
    const uint64_t tick_ns = uint64_t(res.tv_sec) * 1000000000 + uint64_t(res.tv_nsec);
    if (tick_ns == 0 || tick_ns > 100000000)
        throw std::runtime_error("the kernel reports a tick of " + std::to_string(tick_ns) + " ns");
    const int64_t hz = (1000000000 + int64_t(tick_ns) / 2) / int64_t(tick_ns);
    // include/linux/jiffies.h: INITIAL_JIFFIES is (unsigned long)(unsigned int)(-300 * HZ), so
    // that jiffies wrap 32 bits five minutes after boot.
    return mg_clock{tick_ns, uint64_t(uint32_t(-300 * hz))};
}

} // namespace mtuguard
