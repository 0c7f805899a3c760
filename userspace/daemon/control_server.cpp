#include "daemon/control_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <stdexcept>
#include <vector>

namespace mtuguard {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error error(const std::string &path, const std::string &what)
{
    return std::runtime_error("--control-socket " + path + ": " + what + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::string &path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path))
        throw std::runtime_error("--control-socket " + path + ": path too long");
    std::memcpy(address.sun_path, path.c_str(), path.size());
    return address;
}

bool someone_answers(const std::string &path)
{
    Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address = address_of(path);
    return probe && connect(probe.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0;
}

struct Client {
    Fd fd;
    std::string in;
    size_t scanned = 0; // the first bytes of `in` hold no newline: each byte is looked at once
    std::string out;
    Clock::time_point last_activity = Clock::now();
    bool closing = false; // close once `out` is flushed
};

// The end of the first whole request in `client.in`, or npos; counts the bytes it looks at.
size_t next_line(Client &client, std::atomic<uint64_t> &searched)
{
    const size_t newline = client.in.find('\n', client.scanned);
    const size_t end = newline == std::string::npos ? client.in.size() : newline + 1;
    searched.fetch_add(end - client.scanned, std::memory_order_relaxed);
    client.scanned = newline == std::string::npos ? end : 0;
    return newline;
}

} // namespace

ControlServer::ControlServer(const std::string &path, ControlLimits limits) : path_(path), limits_(limits)
{
    const std::string dir = path.substr(0, path.rfind('/'));
    if (!dir.empty() && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw error(path, "creating " + dir);
    if (someone_answers(path))
        throw std::runtime_error("--control-socket " + path + ": another mtuguardd is running there");
    unlink(path.c_str());

    listener_ = Fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_)
        throw error(path, "socket");
    sockaddr_un address = address_of(path);
    // Created with no access at all, then opened up: never briefly world-accessible.
    mode_t old_mask = umask(0777);
    int bound = bind(listener_.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address));
    umask(old_mask);
    if (bound != 0)
        throw error(path, "bind");
    group *operators = getgrnam("mtuguard");
    if (operators && chown(path.c_str(), 0, operators->gr_gid) != 0)
        throw error(path, "chown to group mtuguard");
    if (chmod(path.c_str(), operators ? 0660 : 0600) != 0)
        throw error(path, "chmod");
    if (listen(listener_.get(), 128) != 0)
        throw error(path, "listen");
}

ControlServer::~ControlServer() { unlink(path_.c_str()); }

void ControlServer::serve(int stop_fd, const Handler &handler, const Refusal &refuse)
{
    serve(Events{stop_fd, [] { return false; }, nullptr}, handler, refuse);
}

void ControlServer::serve(const Events &events, const Handler &handler, const Refusal &refuse)
{
    std::list<Client> clients;
    Clock::time_point accept_paused_until{};
    std::vector<pollfd> fds;
    std::vector<Client *> owners;
    bool stopping = false;

    while (!stopping || !clients.empty()) {
        fds.clear();
        owners.clear();
        fds.push_back({events.fd, POLLIN, 0});
        for (const auto &watch : events.watches)
            fds.push_back({watch.fd, POLLIN, 0});
        const size_t listener = fds.size(), first_client = listener + 1;
        // Out of descriptors, accept() fails at once: stop asking until a client leaves or a
        // moment passes, instead of spinning on a listener that stays readable.
        const bool accepting = !stopping && clients.size() < limits_.max_clients && Clock::now() >= accept_paused_until;
        fds.push_back({listener_.get(), short(accepting ? POLLIN : 0), 0});
        for (auto &client : clients) {
            short wanted = client.closing ? 0 : POLLIN;
            if (!client.out.empty())
                wanted |= POLLOUT;
            fds.push_back({client.fd.get(), wanted, 0});
            owners.push_back(&client);
        }
        const int timeout = int(std::min<int64_t>(accepting ? 1000 : 100, events.tick_interval.count()));
        int ready = poll(fds.data(), fds.size(), std::max(timeout, 1));
        if (ready < 0 && errno != EINTR)
            throw std::runtime_error(std::string("control socket poll: ") + std::strerror(errno));
        if (events.on_tick)
            events.on_tick();
        if ((fds[0].revents & POLLIN) && !events.on_readable())
            return;
        for (size_t i = 0; i < events.watches.size(); ++i)
            if (fds[1 + i].revents & POLLIN)
                events.watches[i].on_readable();

        if (fds[listener].revents & POLLIN) {
            for (;;) {
                int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
                    break;
                }
                clients.emplace_back();
                clients.back().fd = Fd(fd);
                if (clients.size() >= limits_.max_clients)
                    break;
            }
        }

        const auto now = Clock::now();
        for (size_t i = 0; i < owners.size(); ++i) {
            Client &client = *owners[i];
            const short revents = fds[first_client + i].revents;
            if (revents & POLLIN) {
                char buffer[65536];
                ssize_t n = read(client.fd.get(), buffer, sizeof(buffer));
                if (n == 0) {
                    client.closing = true; // the peer is done sending; answers still go out
                } else if (n < 0) {
                    if (errno != EAGAIN) {
                        client.closing = true;
                        client.out.clear();
                    }
                } else {
                    client.in.append(buffer, n);
                    client.last_activity = now;
                }
                size_t newline;
                while (!client.closing && (newline = next_line(client, searched_)) != std::string::npos) {
                    std::string_view request(client.in.data(), newline);
                    Reply reply = request.size() > limits_.max_request
                                      ? Reply{refuse("request of " + std::to_string(request.size()) + " bytes exceeds the limit of " + std::to_string(limits_.max_request)), false}
                                      : handler(request);
                    client.out += reply.line + "\n";
                    client.in.erase(0, newline + 1);
                    client.scanned = 0;
                    stopping |= reply.stop;
                }
                if (!client.closing && client.in.size() > limits_.max_request) {
                    client.out += refuse("request exceeds the limit of " + std::to_string(limits_.max_request) +
                                         " bytes") + "\n";
                    client.closing = true;
                    client.in.clear();
                }
            }
            if ((revents & POLLOUT) && !client.out.empty()) {
                ssize_t n = send(client.fd.get(), client.out.data(), client.out.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    client.out.erase(0, n);
                    client.last_activity = now;
                } else if (n < 0 && errno != EAGAIN) {
                    client.closing = true;
                    client.out.clear();
                }
            }
            if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
                client.closing = true;
                if (revents & POLLNVAL)
                    client.out.clear();
            }
            if (now - client.last_activity > limits_.idle_timeout) {
                client.closing = true; // stalled mid-request, or not reading its answers
                client.out.clear();
            }
        }
        clients.remove_if([](const Client &c) { return c.closing && c.out.empty(); });
        if (stopping) {
            for (auto &client : clients)
                client.closing = true;
        }
    }
}

} // namespace mtuguard
