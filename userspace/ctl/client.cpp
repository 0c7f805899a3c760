#include "ctl/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd.hpp"
#include "ctl/arguments.hpp"

namespace mtuguard::ctl {

using nlohmann::json;

json Client::call(const json &request)
{
    Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(address.sun_path))
        throw Usage("--socket " + path_ + ": path too long");
    std::memcpy(address.sun_path, path_.c_str(), path_.size());
    if (!fd || connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
        const int error = errno;
        throw Failure("cannot reach mtuguardd at " + path_ + ": " + std::strerror(error) +
                          (error == ENOENT || error == ECONNREFUSED ? " (is it running?)"
                           : error == EACCES ? " (the control socket is for root and group mtuguard)"
                                             : ""),
                      error);
    }
    std::string line = request.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            throw Failure(std::string("sending to mtuguardd: ") + std::strerror(errno));
        sent += n;
    }
    std::string answer;
    char buffer[65536];
    while (answer.find('\n') == std::string::npos) {
        pollfd p{fd.get(), POLLIN, 0};
        if (poll(&p, 1, 60000) != 1)
            throw Failure("mtuguardd did not answer within 60 s", ETIMEDOUT);
        ssize_t n = read(fd.get(), buffer, sizeof(buffer));
        if (n <= 0)
            throw Failure("mtuguardd closed the connection without an answer");
        answer.append(buffer, n);
    }
    json reply = json::parse(answer.substr(0, answer.find('\n')));
    if (!reply.value("ok", false))
        throw Failure(reply.value("message", "request refused") + " (" + reply.value("error", "?") + ")");
    return reply;
}

} // namespace mtuguard::ctl
