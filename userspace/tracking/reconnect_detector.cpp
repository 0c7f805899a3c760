#include "tracking/reconnect_detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mtuguard {
namespace {

double seconds(std::chrono::steady_clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

ReconnectHistory::time_point ReconnectHistory::at(size_t age) const
{
    return times_[(next_ + kept_reconnects - 1 - age) % kept_reconnects];
}

std::optional<ReconnectHistory::time_point> ReconnectHistory::last() const
{
    if (size_ == 0)
        return std::nullopt;
    return at(0);
}

ReconnectHistory::Recorded ReconnectHistory::record(time_point t, const StormPolicy &policy)
{
    if (size_ > 0 && t < at(0) + policy.debounce)
        return {};
    times_[next_] = t;
    next_ = (next_ + 1) % kept_reconnects;
    size_ = std::min(size_ + 1, kept_reconnects);
    ++total_;
    // A reconnect stamped before the start it would end (a SYN seen before the session's first
    // report) says nothing about how long that connection lasted.
    const bool early = started_ && t >= *started_ && t - *started_ <= policy.early_reconnect;
    early_ += early;
    if (!started_ || t > *started_)
        started_ = t;
    return {true, early};
}

unsigned ReconnectHistory::in_window(time_point now, const StormPolicy &policy) const
{
    unsigned count = 0;
    for (size_t age = 0; age < size_; ++age) {
        time_point t = at(age);
        if (t <= now - policy.storm_window)
            break; // older ones are older still
        if (t <= now)
            ++count;
    }
    return count;
}

bool ReconnectHistory::storm(time_point now, const StormPolicy &policy) const
{
    return in_window(now, policy) >= policy.storm_reconnects;
}

std::vector<double> ReconnectHistory::recent_intervals_seconds() const
{
    std::vector<double> intervals;
    for (size_t age = size_; age-- > 1;)
        intervals.push_back(seconds(at(age - 1) - at(age)));
    return intervals;
}

std::optional<double> ReconnectHistory::typical_interval_seconds(const StormPolicy &policy) const
{
    const size_t wanted = policy.periodic_min_intervals;
    if (wanted == 0 || size_ < wanted + 1)
        return std::nullopt;
    std::vector<double> intervals;
    for (size_t age = 0; age < wanted; ++age)
        intervals.push_back(seconds(at(age) - at(age + 1)));
    const double typical = median(intervals);
    if (!(typical > 0))
        return std::nullopt;
    for (double interval : intervals)
        if (std::fabs(interval - typical) > policy.periodic_tolerance * typical)
            return std::nullopt;
    return typical;
}

bool ReconnectHistory::periodic(time_point now, const StormPolicy &policy) const
{
    std::optional<double> typical = typical_interval_seconds(policy);
    if (!typical || *typical < seconds(policy.periodic_min_interval) ||
        *typical > seconds(policy.periodic_max_interval))
        return false;
    // Past twice its period without a reconnect, the client has settled (or left).
    return seconds(now - at(0)) <= 2 * *typical;
}

void validate(const StormPolicy &policy)
{
    auto fail = [](const std::string &message) { throw std::invalid_argument(message); };
    const unsigned kept = ReconnectHistory::kept_reconnects;
    if (policy.storm_reconnects < 1 || policy.storm_reconnects > kept)
        fail("storm_reconnects " + std::to_string(policy.storm_reconnects) + " is not from 1 to " +
             std::to_string(kept));
    if (policy.storm_window <= std::chrono::seconds::zero())
        fail("storm_window must be positive");
    if (policy.periodic_min_intervals < 2 || policy.periodic_min_intervals > kept - 1)
        fail("periodic_min_intervals " + std::to_string(policy.periodic_min_intervals) +
             " is not from 2 to " + std::to_string(kept - 1));
    if (!(policy.periodic_tolerance > 0 && policy.periodic_tolerance < 1))
        fail("periodic_tolerance " + std::to_string(policy.periodic_tolerance) +
             " is not between 0 and 1");
    if (policy.periodic_min_interval < std::chrono::seconds::zero() ||
        policy.periodic_min_interval >= policy.periodic_max_interval)
        fail("periodic_min_interval must be at least 0 and below periodic_max_interval");
    if (policy.debounce < std::chrono::milliseconds::zero())
        fail("debounce must not be negative");
    if (policy.early_reconnect <= std::chrono::seconds::zero())
        fail("early_reconnect must be positive");
}

} // namespace mtuguard
