#include "daemon/session_sources.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/log.hpp"

extern char **environ;

namespace mtuguard {
namespace {

constexpr size_t max_syslog_message = 8192;
constexpr size_t max_syslog_clients = 64;

std::string describe_users(const OcctlUser &user)
{
    return "user '" + user.username + "' (ID " + user.id + ")";
}

sockaddr_storage listen_address(const std::string &text, socklen_t &length)
{
    auto colon = text.rfind(':');
    std::string host = text.substr(0, colon);
    const uint16_t port = uint16_t(std::stoi(text.substr(colon + 1))); // validated by the config
    if (host.size() > 2 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    sockaddr_storage out{};
    auto *v4 = reinterpret_cast<sockaddr_in *>(&out);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&out);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof(*v4);
    } else {
        inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof(*v6);
    }
    return out;
}

Fd bound_socket(const std::string &where, int type)
{
    socklen_t length = 0;
    const sockaddr_storage address = listen_address(where, length);
    Fd fd(socket(address.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const char *kind = type == SOCK_DGRAM ? "udp" : "tcp";
    if (!fd)
        throw std::system_error(errno, std::generic_category(), std::string("--syslog-listen ") + where + " (" + kind + ")");
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), length) != 0 ||
        (type == SOCK_STREAM && listen(fd.get(), 16) != 0))
        throw std::system_error(errno, std::generic_category(), std::string("--syslog-listen ") + where + " (" + kind + ")");
    return fd;
}

} // namespace

// ---- ocserv ----------------------------------------------------------------------------------

OcservSource::OcservSource(const Config &config, Agent &agent) : config_(config), agent_(agent)
{
    // Sessions an earlier daemon took from ocserv: the first list decides whether they stay.
    for (const auto &view : agent_.list_sessions(std::nullopt)) {
        if (view.entry.session.source != MG_SOURCE_OCSERV)
            continue;
        Known known;
        known.spec.prefix = view.entry.prefix;
        known.spec.session = view.entry.session;
        known_[view.entry.prefix.to_string()] = known;
    }
}

OcservSource::~OcservSource()
{
    if (child_ > 0) {
        kill(child_, SIGKILL);
        waitpid(child_, nullptr, 0);
    }
}

SteadyClock::time_point OcservSource::next_deadline() const
{
    return child_ > 0 ? started_ + config_.occtl_timeout : next_run_;
}

void OcservSource::on_tick(SteadyClock::time_point now)
{
    if (child_ > 0 && now - started_ >= config_.occtl_timeout)
        finish(true);
    else if (child_ <= 0 && now >= next_run_)
        start(now);
}

void OcservSource::start(SteadyClock::time_point now)
{
    started_ = now;
    next_run_ = now + config_.ocserv_interval;
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        agent_.count(SourceEvent::OcctlFailed);
        return;
    }
    Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> args = {config_.occtl};
    if (!config_.occtl_socket.empty())
        args.insert(args.end(), {"--socket-file", config_.occtl_socket});
    args.insert(args.end(), {"--json", "show", "users"});
    std::vector<char *> argv;
    for (auto &arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int err = posix_spawn(&child_, config_.occtl.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        child_ = -1;
        agent_.count(SourceEvent::OcctlFailed);
        if (!last_failed_)
            log::error("ocserv: cannot run " + config_.occtl + ": " + std::strerror(err));
        last_failed_ = true;
        return;
    }
    fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
    output_ = std::move(read_end);
    buffer_.clear();
    overflow_ = false;
}

void OcservSource::on_readable()
{
    char chunk[65536];
    for (;;) {
        const ssize_t n = read(output_.get(), chunk, sizeof(chunk));
        if (n > 0) {
            if (buffer_.size() + size_t(n) > max_occtl_document_bytes)
                overflow_ = true;
            else
                buffer_.append(chunk, size_t(n));
            continue;
        }
        if (n == 0)
            finish(false);
        return; // EAGAIN: more later
    }
}

void OcservSource::finish(bool timed_out)
{
    if (timed_out)
        kill(child_, SIGKILL);
    int status = 0;
    waitpid(child_, &status, 0);
    child_ = -1;
    output_ = Fd();
    std::string failure;
    if (timed_out) {
        agent_.count(SourceEvent::OcctlTimeout);
        failure = "occtl did not answer within " + std::to_string(config_.occtl_timeout.count()) + " ms: killed";
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failure = "occtl failed (" + (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                        : std::string("killed by a signal")) + ")";
    } else if (overflow_) {
        failure = "occtl printed more than " + std::to_string(max_occtl_document_bytes >> 20) + " MiB";
    } else {
        try {
            apply(parse_occtl_users(buffer_));
            agent_.count(SourceEvent::OcctlOk);
            if (last_failed_)
                log::info("ocserv: occtl answers again");
            last_failed_ = false;
            return;
        } catch (const std::invalid_argument &e) {
            failure = std::string("occtl's output is not a list of users: ") + e.what();
        }
    }
    if (!timed_out)
        agent_.count(SourceEvent::OcctlFailed);
    if (!last_failed_)
        log::error("ocserv: " + failure + "; keeping the sessions as they were");
    last_failed_ = true;
}

void OcservSource::apply(const OcctlUsers &users)
{
    for (const auto &message : users.rejected)
        log::warning("ocserv: skipped " + message);
    agent_.count(SourceEvent::OcctlRejectedUser, users.rejected.size());

    std::map<std::string, Known> now;
    for (const auto &user : users.users) {
        if (!user.mtu || *user.mtu < MG_MIN_MTU) {
            agent_.count(SourceEvent::OcctlRejectedUser);
            log::warning("ocserv: skipped " + describe_users(user) + ": " +
                         (user.mtu ? "MTU " + std::to_string(*user.mtu) + " is below 576" : std::string("no MTU yet")));
            continue;
        }
        for (const auto &address : {user.ipv4, user.ipv6}) {
            // A routed network (a prefix) is the client's LAN, not its tunnel address.
            if (!address || !address->is_host())
                continue;
            Known known{user.id, user.full_session, user.connected_at, {}};
            known.spec.prefix = *address;
            // ocserv announces one MTU and its tun device enforces it for both channels.
            known.spec.session.dtls_mtu = known.spec.session.tls_mtu = uint16_t(*user.mtu);
            known.spec.session.transport = MG_TRANSPORT_DTLS;
            known.spec.public_address = user.remote_ip;
            now[address->to_string()] = known;
        }
    }
    for (const auto &[key, known] : now) {
        auto before = known_.find(key);
        const bool is_new = before == known_.end();
        const bool changed = !is_new && (before->second.spec.session.dtls_mtu != known.spec.session.dtls_mtu ||
                                         !(before->second.spec.public_address == known.spec.public_address));
        const bool reconnected = !is_new && !before->second.id.empty() &&
                                 before->second.full_session == known.full_session &&
                                 (before->second.id != known.id || before->second.connected_at != known.connected_at);
        try {
            if (is_new || changed)
                agent_.add_session(known.spec, MG_SOURCE_OCSERV);
            if (reconnected)
                agent_.report_reconnect(known.spec.prefix);
        } catch (const ControlFailure &e) {
            log::error("ocserv: session " + key + ": " + e.what());
            now.erase(key); // not made: tried again with the next list
            if (now.empty())
                break;
        }
    }
    for (const auto &[key, known] : known_) {
        if (now.count(key))
            continue;
        try {
            agent_.delete_session(known.spec.prefix);
        } catch (const ControlFailure &) {
            // Already deleted through mtuguardctl.
        }
    }
    known_ = std::move(now);
}

// ---- ASA syslog ------------------------------------------------------------------------------

AsaSyslogSource::AsaSyslogSource(const Config &config, Agent &agent)
    : config_(config), agent_(agent), udp_(bound_socket(config.syslog_listen, SOCK_DGRAM)),
      tcp_(bound_socket(config.syslog_listen, SOCK_STREAM))
{
    log::info("ASA syslog on " + config.syslog_listen + " (udp and tcp)");
}

void AsaSyslogSource::add_fds(std::vector<pollfd> &fds) const
{
    fds.push_back({udp_.get(), POLLIN, 0});
    fds.push_back({clients_.size() < max_syslog_clients ? tcp_.get() : -1, POLLIN, 0});
    for (const auto &client : clients_)
        fds.push_back({client->fd.get(), POLLIN, 0});
}

void AsaSyslogSource::on_events(const std::vector<pollfd> &fds, size_t first)
{
    if (fds[first].revents & POLLIN)
        read_udp();
    if (fds[first + 1].revents & POLLIN)
        accept_client();
    // Clients are matched to their pollfd by position; the ones accepted above come after them.
    std::vector<Client *> closed;
    for (size_t i = first + 2; i < fds.size() && i - first - 2 < clients_.size(); ++i) {
        Client &client = *clients_[i - first - 2];
        if (fds[i].revents && !read_tcp(client))
            closed.push_back(&client);
    }
    std::erase_if(clients_, [&](const auto &c) { return std::find(closed.begin(), closed.end(), c.get()) != closed.end(); });
}

void AsaSyslogSource::accept_client()
{
    Fd fd(accept4(tcp_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd)
        clients_.push_back(std::make_unique<Client>(Client{std::move(fd), SyslogFramer(max_syslog_message)}));
}

void AsaSyslogSource::read_udp()
{
    static char datagram[65536];
    for (int i = 0; i < 256; ++i) { // a flood must not starve the tracker's tick
        const ssize_t n = recv(udp_.get(), datagram, sizeof(datagram), 0);
        if (n < 0)
            return;
        if (size_t(n) > max_syslog_message) {
            agent_.count(SourceEvent::SyslogOversize);
            continue;
        }
        handle(syslog_datagram(std::string_view(datagram, size_t(n))));
    }
}

bool AsaSyslogSource::read_tcp(Client &client)
{
    char chunk[16384];
    const ssize_t n = recv(client.fd.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0)
        return false;
    const uint64_t dropped = client.framer.oversize() + client.framer.malformed();
    client.framer.feed(std::string_view(chunk, size_t(n)), [&](std::string_view message) { handle(message); });
    agent_.count(SourceEvent::SyslogOversize, client.framer.oversize() + client.framer.malformed() - dropped);
    return true;
}

void AsaSyslogSource::handle(std::string_view message)
{
    const AsaParse parsed = parse_asa_line(message);
    switch (parsed.status) {
    case AsaParseStatus::not_asa: agent_.count(SourceEvent::SyslogNotAsa); return;
    case AsaParseStatus::ignored: agent_.count(SourceEvent::SyslogIgnored); return;
    case AsaParseStatus::malformed:
        agent_.count(SourceEvent::SyslogMalformed);
        return;
    case AsaParseStatus::ok: apply(parsed.message); return;
    }
}

const SessionSpec *AsaSyslogSource::group_spec(const std::string &group) const
{
    auto it = config_.asa_groups.find(group);
    if (it == config_.asa_groups.end())
        it = config_.asa_groups.find("*");
    return it == config_.asa_groups.end() ? nullptr : &it->second;
}

void AsaSyslogSource::address_assigned(const AsaMessage &message, const std::string &key)
{
    const SessionSpec *spec = group_spec(message.group);
    if (!spec) {
        agent_.count(SourceEvent::SyslogNoMtu);
        if (!warned_groups_[message.group])
            log::warning("ASA syslog: group '" + message.group + "' has no --asa-group (nor '*'): its sessions are not made");
        warned_groups_[message.group] = true;
        return;
    }
    Session session{{}, *message.public_ip};
    for (const auto &address : {message.tunnel_v4, message.tunnel_v6}) {
        if (!address)
            continue;
        SessionSpec made = *spec;
        made.prefix = *address;
        made.public_address = message.public_ip;
        try {
            agent_.add_session(made, MG_SOURCE_ASA);
            session.tunnel.push_back(*address);
        } catch (const ControlFailure &e) {
            log::error("ASA syslog: session " + address->to_string() + " of user '" + message.user + "': " + e.what());
        }
    }
    // A reassigned address set replaces the old one.
    if (auto old = sessions_.find(key); old != sessions_.end()) {
        for (const auto &prefix : old->second.tunnel) {
            if (std::find(session.tunnel.begin(), session.tunnel.end(), prefix) == session.tunnel.end()) {
                try {
                    agent_.delete_session(prefix);
                } catch (const ControlFailure &) {
                }
            }
        }
    }
    sessions_[key] = session;
    agent_.count(SourceEvent::SyslogApplied);
}

void AsaSyslogSource::apply(const AsaMessage &message)
{
    switch (message.event) {
    case AsaEvent::large_packet_out: agent_.count(SourceEvent::HeadendOversizeOut); return;
    case AsaEvent::large_packet_in: agent_.count(SourceEvent::HeadendOversizeIn); return;
    case AsaEvent::pmtud_sent: agent_.count(SourceEvent::HeadendPmtud); return;
    default: break;
    }
    const std::string key = message.group + '\n' + message.user + '\n' +
                            (message.public_ip ? message.public_ip->to_string() : std::string());
    if (message.event == AsaEvent::address_assigned) {
        address_assigned(message, key);
        return;
    }
    auto found = sessions_.find(key);
    if (found == sessions_.end()) {
        agent_.count(SourceEvent::SyslogUnknownSession);
        return;
    }
    const std::vector<Prefix> &tunnel = found->second.tunnel;
    auto each = [&](auto &&operation) {
        for (const auto &prefix : tunnel) {
            try {
                operation(prefix);
            } catch (const ControlFailure &) {
                // Deleted through mtuguardctl meanwhile: nothing to do.
            }
        }
    };
    switch (message.event) {
    case AsaEvent::svc_first:
    case AsaEvent::svc_new:
    case AsaEvent::svc_replacing:
        // A UDP channel is DTLS up; a new TCP channel for a session that had one is a reconnect.
        if (message.channel == SvcChannel::udp)
            each([&](const Prefix &p) { agent_.set_transport(p, MG_TRANSPORT_DTLS); });
        else if (message.event != AsaEvent::svc_first)
            each([&](const Prefix &p) { agent_.report_reconnect(p); });
        break;
    case AsaEvent::dtls_disabled:
        each([&](const Prefix &p) { agent_.set_transport(p, MG_TRANSPORT_TLS); });
        break;
    case AsaEvent::connection_resumed:
        each([&](const Prefix &p) { agent_.report_reconnect(p); });
        break;
    case AsaEvent::session_end:
        each([&](const Prefix &p) { agent_.delete_session(p); });
        sessions_.erase(found);
        break;
    default: // 722037 (one channel closes), 716058 (waiting to resume): nothing changes yet
        break;
    }
    agent_.count(SourceEvent::SyslogApplied);
}

// ---- the thread ------------------------------------------------------------------------------

SessionSources::SessionSources(const Config &config, Agent &agent)
    : agent_(agent), stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (!stop_)
        throw std::system_error(errno, std::generic_category(), "eventfd");
    if (config.ocserv)
        ocserv_ = std::make_unique<OcservSource>(config, agent);
    if (!config.syslog_listen.empty())
        syslog_ = std::make_unique<AsaSyslogSource>(config, agent);
}

SessionSources::~SessionSources()
{
    if (thread_.joinable()) {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(stop_.get(), &one, sizeof(one));
        thread_.join();
    }
}

bool SessionSources::active() const { return ocserv_ || syslog_ || agent_.tracking().observing; }

void SessionSources::start()
{
    if (active())
        thread_ = std::thread([this] { run(); });
}

void SessionSources::run()
{
    auto next_track = SteadyClock::now();
    for (;;) {
        const auto now = SteadyClock::now();
        if (now >= next_track) {
            agent_.track_transports();
            next_track = now + agent_.tracking_interval();
        }
        if (ocserv_)
            ocserv_->on_tick(now);

        auto deadline = next_track;
        if (ocserv_)
            deadline = std::min(deadline, ocserv_->next_deadline());
        std::vector<pollfd> fds = {{stop_.get(), POLLIN, 0}, {ocserv_ ? ocserv_->fd() : -1, POLLIN, 0}};
        if (syslog_)
            syslog_->add_fds(fds);
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (poll(fds.data(), fds.size(), int(std::max<int64_t>(0, wait.count()) + 1)) < 0 && errno != EINTR)
            return;
        if (fds[0].revents)
            return;
        if (fds[1].revents && ocserv_)
            ocserv_->on_readable();
        if (syslog_)
            syslog_->on_events(fds, 2);
    }
}

} // namespace mtuguard
