// Per-session reconnect history, and the two patterns in it that point at an MTU black hole.
//
// A client whose large packets vanish keeps its tunnel up for small ones, gives up on the stuck
// flows after a timeout and reconnects to re-apply its MTU (REFERENCE.md §1: "Reconfigure reason
// code 16: New MTU configuration"), over and over. Two signs of that, both reported:
//   storm:    at least storm_reconnects reconnects within storm_window (any cause);
//   periodic: the last periodic_min_intervals intervals between reconnects all lie within
//             periodic_tolerance of their median (~60 s ±15 %), that median lies between
//             periodic_min_interval and periodic_max_interval, and the last reconnect is at most
//             twice the median ago (a client that stopped reconnecting stops being periodic).
// A regular burst a few seconds apart is a storm but not periodic: periodic_min_interval keeps
// retry loops out of the signature.
//
// A third sign needs no repetition at all: an early reconnect, a counted reconnect at most
// early_reconnect after the start of the connection it ends. A connection starts when the
// client's first session is seen (connected()) and again at every counted reconnect, so a client
// that reconnects once, a minute after connecting, is one early reconnect; one that reconnects
// every minute is one per reconnect. A client whose start was not seen (its session was already
// up when the daemon started) has its first reconnect counted but judged neither way.
//
// Reconnects closer than `debounce` to the previous counted one are the same reconnect (a
// client opens its TLS and DTLS channels, or several TCP connections, at once). The comparison
// is with the last *counted* reconnect, so a steady flood still counts one every `debounce`
// instead of merging into one endless reconnect.
//
// Time is whatever the caller says it is, so tests run synthetic timelines without sleeping; the
// history keeps the last kept_reconnects reconnects in a fixed array, whatever is recorded.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace mtuguard {

struct StormPolicy {
    unsigned storm_reconnects = 5;
    std::chrono::seconds storm_window{300};
    unsigned periodic_min_intervals = 3;
    double periodic_tolerance = 0.15; // largest |interval − median| / median
    std::chrono::seconds periodic_min_interval{10};
    std::chrono::seconds periodic_max_interval{600};
    std::chrono::milliseconds debounce{2000};
    std::chrono::seconds early_reconnect{120};
};

class ReconnectHistory {
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr size_t kept_reconnects = 32;

    struct Recorded {
        bool counted = false; // a new reconnect, which starts a new connection
        bool early = false;   // counted, and at most policy.early_reconnect after the last start
        explicit operator bool() const { return counted; }
    };
    // Counted when t is a new reconnect; not when it is within policy.debounce of the previous
    // counted one, or earlier than it (a late report of a reconnect already seen).
    Recorded record(time_point t, const StormPolicy &policy);
    // The client's first connection, seen starting at t (not a reconnect).
    void connected(time_point t) { started_ = t; }

    uint64_t count_total() const { return total_; } // counted reconnects ever recorded
    uint64_t count_early() const { return early_; } // of those, early ones
    std::optional<time_point> last() const;
    // When the current connection started; nullopt until one was seen starting.
    std::optional<time_point> started() const { return started_; }

    // Counted reconnects in (now − storm_window, now]; at most kept_reconnects.
    unsigned in_window(time_point now, const StormPolicy &policy) const;
    bool storm(time_point now, const StormPolicy &policy) const;

    // The period, when the last periodic_min_intervals intervals share one (see above);
    // nullopt with fewer intervals or when they spread wider than the tolerance.
    std::optional<double> typical_interval_seconds(const StormPolicy &policy) const;
    bool periodic(time_point now, const StormPolicy &policy) const;

    // Seconds between consecutive kept reconnects, oldest first; at most kept_reconnects − 1.
    std::vector<double> recent_intervals_seconds() const;

private:
    time_point at(size_t age) const; // age 0: the newest

    std::array<time_point, kept_reconnects> times_{};
    size_t size_ = 0;
    size_t next_ = 0; // where the next reconnect is written
    uint64_t total_ = 0;
    uint64_t early_ = 0;
    std::optional<time_point> started_;
};

// Throws std::invalid_argument naming the field that is out of range: storm_reconnects 1 to
// kept_reconnects, periodic_min_intervals 2 to kept_reconnects − 1, periodic_tolerance in (0, 1), a positive
// storm_window, periodic_min_interval below periodic_max_interval, no negative debounce, a
// positive early_reconnect.
void validate(const StormPolicy &policy);

} // namespace mtuguard
