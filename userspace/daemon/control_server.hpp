// The control socket: a Unix stream socket serving newline-delimited JSON requests, one
// response line per request. One thread, poll(2), non-blocking clients: a slow or stalled
// client (half a request, never reading its answer) never blocks the others; a request over
// the size limit is answered with an error and the connection closed; a connection that neither
// sends nor reads for the idle timeout is closed. Out of file descriptors, it stops accepting for
// a moment instead of spinning.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"

namespace mtuguard {

struct ControlLimits {
    size_t max_request = 16 << 20;          // bytes in one request line (bulk session loads)
    size_t max_clients = 4096;
    std::chrono::milliseconds idle_timeout{10000}; // a client silent this long is closed
};

class ControlServer {
public:
    struct Reply {
        std::string line; // the JSON response, without the newline
        bool stop = false; // stop serving once it is sent
    };
    using Handler = std::function<Reply(std::string_view request)>;
    // Called for requests refused before reaching the handler (too large).
    using Refusal = std::function<std::string(std::string_view reason)>;

    // Creates the socket (and its directory), mode 0660 with group `mtuguard` when that group
    // exists, else 0600. A live daemon already answering on `path` is an error; a stale socket
    // file is replaced. Throws std::runtime_error.
    ControlServer(const std::string &path, ControlLimits limits = {});
    ~ControlServer();
    ControlServer(const ControlServer &) = delete;
    ControlServer &operator=(const ControlServer &) = delete;

    // What the daemon's main loop needs besides the clients: its own descriptor (a signalfd),
    // a periodic call (the systemd watchdog) and any more descriptors it waits on (the link
    // monitor).
    struct Watch {
        int fd = -1;
        std::function<void()> on_readable;
    };
    struct Events {
        int fd = -1;
        std::function<bool()> on_readable;        // `fd` is readable: false stops serving at once
        std::function<void()> on_tick;            // after every wake-up, at least every tick_interval
        std::chrono::milliseconds tick_interval{1000};
        std::vector<Watch> watches;
    };

    // Serves until `stop_fd` becomes readable or a reply asks to stop.
    void serve(int stop_fd, const Handler &handler, const Refusal &refuse);
    // Serves until events.on_readable returns false or a reply asks to stop.
    void serve(const Events &events, const Handler &handler, const Refusal &refuse);

    // Bytes looked at for a newline since start: each byte received once, however a request is
    // split across reads (a 16 MiB request must not be rescanned at every 64 KiB read).
    uint64_t bytes_searched() const { return searched_.load(std::memory_order_relaxed); }

private:
    std::string path_;
    ControlLimits limits_;
    Fd listener_;
    std::atomic<uint64_t> searched_{0};
};

} // namespace mtuguard
