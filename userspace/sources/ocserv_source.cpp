#include "sources/ocserv_source.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.hpp"

extern char **environ;

namespace mtuguard {
namespace {

std::string describe_users(const OcctlUser &user)
{
    return "user '" + user.username + "' (ID " + user.id + ")";
}

} // namespace

OcservSource::OcservSource(const Config &config, SessionSink &sink) : config_(config), sink_(sink)
{
    // Sessions an earlier daemon took from ocserv: the first list decides whether they stay.
    for (const SessionSpec &spec : sink_.sessions_of(MG_SOURCE_OCSERV)) {
        Known known;
        known.spec = spec;
        // Their transport is what the last daemon made of them: occtl's cipher moves none back.
        known.dtls_cipher = true;
        known_[spec.prefix.to_string()] = known;
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
        sink_.count(SourceEvent::OcctlFailed);
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
    std::vector<char *> argv(args.size() + 1, nullptr); // execve's form: null-terminated
    std::transform(args.begin(), args.end(), argv.begin(), [](std::string &arg) { return arg.data(); });
    // The daemon's threads block the signals it takes through signalfd; occtl starts with none
    // blocked and every signal at its default, so that it can be stopped like any program.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int err = posix_spawn(&child_, config_.occtl.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        child_ = -1;
        sink_.count(SourceEvent::OcctlFailed);
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
        sink_.count(SourceEvent::OcctlTimeout);
        failure = "occtl did not answer within " + std::to_string(config_.occtl_timeout.count()) + " ms: killed";
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failure = "occtl failed (" + (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                        : std::string("killed by a signal")) + ")";
    } else if (overflow_) {
        failure = "occtl printed more than " + std::to_string(max_occtl_document_bytes >> 20) + " MiB";
    } else {
        try {
            apply(parse_occtl_users(buffer_));
            sink_.count(SourceEvent::OcctlOk);
            if (last_failed_)
                log::info("ocserv: occtl answers again");
            last_failed_ = false;
            return;
        } catch (const std::invalid_argument &e) {
            failure = std::string("occtl's output is not a list of users: ") + e.what();
        }
    }
    if (!timed_out)
        sink_.count(SourceEvent::OcctlFailed);
    if (!last_failed_)
        log::error("ocserv: " + failure + "; keeping the sessions as they were");
    last_failed_ = true;
}

void OcservSource::apply(const OcctlUsers &users)
{
    for (const auto &message : users.rejected)
        log::warning("ocserv: skipped " + message);
    sink_.count(SourceEvent::OcctlRejectedUser, users.rejected.size());

    std::map<std::string, Known> now;
    for (const auto &user : users.users) {
        if (!user.mtu || *user.mtu < MG_MIN_MTU) {
            sink_.count(SourceEvent::OcctlRejectedUser);
            log::warning("ocserv: skipped " + describe_users(user) + ": " +
                         (user.mtu ? "MTU " + std::to_string(*user.mtu) + " is below 576" : std::string("no MTU yet")));
            continue;
        }
        for (const auto &address : {user.ipv4, user.ipv6}) {
            // A routed network (a prefix) is the client's LAN, not its tunnel address.
            if (!address || !address->is_host())
                continue;
            Known known{user.id, user.full_session, user.connected_at, {}, !user.dtls_cipher.empty()};
            known.spec.prefix = *address;
            // ocserv announces one MTU and its tun device enforces it for both channels.
            known.spec.session.dtls_mtu = known.spec.session.tls_mtu = uint16_t(*user.mtu);
            // A session starts on what occtl knows: DTLS once its cipher was negotiated, TLS
            // before (or never). Later lists keep the session's transport (the tracker's, or
            // the ASA's); occtl does not clear the cipher when DTLS falls back.
            known.spec.session.transport = user.dtls_cipher.empty() ? MG_TRANSPORT_TLS : MG_TRANSPORT_DTLS;
            known.spec.public_address = user.remote_ip;
            known.spec.user = session_name(user.username);
            // ocserv names a user without a group "(none)".
            known.spec.group = user.groupname == "(none)" ? "" : session_name(user.groupname);
            // What ocserv announced at connect, which the client keeps: the MTU at first sight.
            known.spec.client_mtu = known.spec.session.dtls_mtu;
            now[address->to_string()] = known;
        }
    }
    std::vector<std::string> refused;
    for (auto &[key, known] : now) {
        auto before = known_.find(key);
        const bool is_new = before == known_.end();
        // The first sight is of one ocserv session: its reconnects keep it (vpnc-script leaves the
        // client's tun device as connect set it up), another session given the address has its
        // own. A session from the pins has no ocserv session known: it keeps the pinned one.
        if (!is_new && before->second.spec.client_mtu &&
            (before->second.full_session.empty() || before->second.full_session == known.full_session))
            known.spec.client_mtu = before->second.spec.client_mtu;
        const SessionSpec &was = is_new ? known.spec : before->second.spec;
        const bool changed = was.session.dtls_mtu != known.spec.session.dtls_mtu ||
                             was.client_mtu != known.spec.client_mtu ||
                             !(was.public_address == known.spec.public_address) || was.user != known.spec.user ||
                             was.group != known.spec.group;
        const bool reconnected = !is_new && !before->second.id.empty() &&
                                 before->second.full_session == known.full_session &&
                                 (before->second.id != known.id || before->second.connected_at != known.connected_at);
        try {
            if (is_new || changed)
                sink_.add_session(known.spec, MG_SOURCE_OCSERV);
            // DTLS came up after the session was first listed: the one news occtl has of it.
            if (!is_new && !before->second.dtls_cipher && known.dtls_cipher)
                sink_.set_transport(known.spec.prefix, MG_TRANSPORT_DTLS);
            if (reconnected)
                sink_.report_reconnect(known.spec.prefix);
        } catch (const ControlFailure &e) {
            log::error("ocserv: session " + key + ": " + e.what());
            refused.push_back(key);
        }
    }
    // Not made: a new session is tried again with the next list; one that was there keeps what
    // it had (not deleted below), so a change refused now is tried again too.
    for (const auto &key : refused) {
        auto before = known_.find(key);
        if (before == known_.end())
            now.erase(key);
        else
            now[key] = before->second;
    }
    for (const auto &[key, known] : known_) {
        if (now.count(key))
            continue;
        try {
            sink_.delete_session(known.spec.prefix);
        } catch (const ControlFailure &) {
            // Already deleted through mtuguardctl.
        }
    }
    known_ = std::move(now);
}

} // namespace mtuguard
