#include "sources/asa_source.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/log.hpp"

namespace mtuguard {
namespace {

constexpr size_t max_syslog_message = 8192;
constexpr size_t max_syslog_clients = 64;
constexpr size_t max_warned_groups = 1024;

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

AsaSyslogSource::AsaSyslogSource(const Config &config, SessionSink &sink)
    : config_(config), sink_(sink), udp_(bound_socket(config.syslog_listen, SOCK_DGRAM)),
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
            sink_.count(SourceEvent::SyslogOversize);
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
    sink_.count(SourceEvent::SyslogOversize, client.framer.oversize() + client.framer.malformed() - dropped);
    return true;
}

void AsaSyslogSource::handle(std::string_view message)
{
    const AsaParse parsed = parse_asa_line(message);
    switch (parsed.status) {
    case AsaParseStatus::not_asa: sink_.count(SourceEvent::SyslogNotAsa); return;
    case AsaParseStatus::ignored: sink_.count(SourceEvent::SyslogIgnored); return;
    case AsaParseStatus::malformed:
        sink_.count(SourceEvent::SyslogMalformed);
        return;
    case AsaParseStatus::ok: apply(parsed.message); return;
    }
}

const SessionSpec *AsaSyslogSource::spec_for(const std::string &group, const Prefix &address) const
{
    if (auto it = config_.asa_groups.find(group); it != config_.asa_groups.end())
        return &it->second;
    const SessionSpec *pool = nullptr; // the longest prefix that covers the address
    for (const auto &spec : config_.sessions)
        if (!spec.prefix.is_host() && spec.prefix.covers(address) &&
            (!pool || spec.prefix.length > pool->prefix.length))
            pool = &spec;
    if (pool)
        return pool;
    auto any = config_.asa_groups.find("*");
    return any == config_.asa_groups.end() ? nullptr : &any->second;
}

void AsaSyslogSource::address_assigned(const AsaMessage &message, const std::string &key)
{
    if (!sessions_.count(key) && sessions_.size() >= config_.max_sessions) {
        sink_.count(SourceEvent::SyslogOverLimit);
        if (!warned_full_)
            log::warning("ASA syslog: " + std::to_string(sessions_.size()) +
                         " users' sessions kept, as many as --max-sessions: new users are not made until some end");
        warned_full_ = true;
        return;
    }
    warned_full_ = false;
    Session session{{}, *message.public_ip};
    bool without_mtus = false;
    for (const auto &address : {message.tunnel_v4, message.tunnel_v6}) {
        if (!address)
            continue;
        const SessionSpec *spec = spec_for(message.group, *address);
        if (!spec) {
            without_mtus = true;
            continue;
        }
        SessionSpec made = *spec;
        made.prefix = *address;
        made.public_address = message.public_ip;
        made.user = session_name(message.user);
        made.group = session_name(message.group);
        try {
            sink_.add_session(made, MG_SOURCE_ASA);
            session.tunnel.push_back(made);
        } catch (const ControlFailure &e) {
            log::error("ASA syslog: session " + address->to_string() + " of user '" + message.user + "': " + e.what());
        }
    }
    if (without_mtus) {
        sink_.count(SourceEvent::SyslogNoMtu);
        // Each group once, and at most max_warned_groups of them: group names are the sender's.
        if (warned_groups_.size() < max_warned_groups && warned_groups_.insert(message.group).second)
            log::warning("ASA syslog: group '" + message.group + "' has no --asa-group (nor '*'), and no --session " +
                         "pool prefix covers the address: its sessions are not made" +
                         (warned_groups_.size() == max_warned_groups ? "; further groups are not named" : ""));
    }
    // A reassigned address set replaces the old one.
    if (auto old = sessions_.find(key); old != sessions_.end()) {
        for (const auto &was : old->second.tunnel) {
            const bool kept = std::any_of(session.tunnel.begin(), session.tunnel.end(),
                                          [&](const SessionSpec &now) { return now.prefix == was.prefix; });
            if (kept)
                continue;
            try {
                sink_.delete_session(was.prefix);
            } catch (const ControlFailure &) {
            }
        }
    }
    // Only a session that was made is kept: what a sender's message names costs nothing else.
    forget(key);
    if (session.tunnel.empty())
        return;
    for (const auto &spec : session.tunnel)
        by_tunnel_[spec.prefix.to_string()] = key;
    sessions_[key] = session;
    sink_.count(SourceEvent::SyslogApplied);
}

// 722036 / 722035 "Transmitting / Receiving large packet L (threshold T)": the headend names the
// MTU it enforces for this session now. Below the session's DTLS MTU it is the TLS channel's
// (the session rides TLS): enforced at once, so the next oversize packet is answered here with
// T instead of vanishing at the headend. A later threshold replaces it; the session's end clears
// it with the session.
void AsaSyslogSource::headend_threshold(const AsaMessage &message, Session &session)
{
    if (!message.threshold || message.threshold == session.threshold)
        return;
    session.threshold = message.threshold;
    for (auto &spec : session.tunnel) {
        const std::string who = spec.prefix.to_string() + " (user '" + spec.user + "', group '" + spec.group + "')";
        if (message.threshold >= spec.session.dtls_mtu || message.threshold < 576) {
            log::warning("ASA syslog: the headend reports a threshold of " + std::to_string(message.threshold) +
                         " for " + who + ", not below its DTLS MTU " + std::to_string(spec.session.dtls_mtu) +
                         " (or under 576): not applied");
            continue;
        }
        SessionSpec lowered = spec;
        lowered.session.tls_mtu = uint16_t(message.threshold);
        lowered.session.transport = MG_TRANSPORT_TLS;
        lowered.headend_mtu = uint16_t(message.threshold);
        try {
            // The sink keeps an ASA session's transport across an update: the TLS MTU first, then
            // the switch to it; a packet in between meets the session as it was.
            sink_.add_session(lowered, MG_SOURCE_ASA);
            sink_.set_transport(lowered.prefix, MG_TRANSPORT_TLS);
            spec = lowered;
            log::info("ASA syslog: the headend enforces " + std::to_string(message.threshold) + " for " + who +
                      " (a packet of " + std::to_string(message.packet_len) + " bytes was too large): enforcing it, on TLS");
        } catch (const ControlFailure &e) {
            log::error("ASA syslog: threshold " + std::to_string(message.threshold) + " for " + who + ": " + e.what());
        }
    }
}

void AsaSyslogSource::forget(const std::string &key)
{
    auto found = sessions_.find(key);
    if (found == sessions_.end())
        return;
    for (const auto &spec : found->second.tunnel)
        if (auto tunnel = by_tunnel_.find(spec.prefix.to_string()); tunnel != by_tunnel_.end() && tunnel->second == key)
            by_tunnel_.erase(tunnel);
    sessions_.erase(found);
}

void AsaSyslogSource::apply(const AsaMessage &message)
{
    switch (message.event) {
    case AsaEvent::large_packet_out: sink_.count(SourceEvent::HeadendOversizeOut); break;
    case AsaEvent::large_packet_in: sink_.count(SourceEvent::HeadendOversizeIn); break;
    case AsaEvent::pmtud_sent: sink_.count(SourceEvent::HeadendPmtud); break;
    default: break;
    }
    if (message.event == AsaEvent::pmtud_sent) {
        // 602101 names no user: the session is the one whose tunnel address the packet was for.
        auto tunnel = message.dest_addr ? by_tunnel_.find(message.dest_addr->to_string()) : by_tunnel_.end();
        if (tunnel != by_tunnel_.end()) {
            headend_threshold(message, sessions_.at(tunnel->second));
            sink_.count(SourceEvent::SyslogApplied);
        }
        return;
    }
    const std::string key = message.group + '\n' + message.user + '\n' +
                            (message.public_ip ? message.public_ip->to_string() : std::string());
    if (message.event == AsaEvent::address_assigned) {
        address_assigned(message, key);
        return;
    }
    auto found = sessions_.find(key);
    if (message.event == AsaEvent::large_packet_out || message.event == AsaEvent::large_packet_in) {
        // Counted above as a headend report whether or not the session is known here.
        if (found != sessions_.end()) {
            headend_threshold(message, found->second);
            sink_.count(SourceEvent::SyslogApplied);
        }
        return;
    }
    if (found == sessions_.end()) {
        sink_.count(SourceEvent::SyslogUnknownSession);
        return;
    }
    const std::vector<SessionSpec> &tunnel = found->second.tunnel;
    auto each = [&](auto &&operation) {
        for (const auto &spec : tunnel) {
            try {
                operation(spec.prefix);
            } catch (const ControlFailure &) {
                // Deleted through mtuguardctl meanwhile: nothing to do.
            }
        }
    };
    switch (message.event) {
    case AsaEvent::svc_first:
    case AsaEvent::svc_new:
    case AsaEvent::svc_replacing:
        // A UDP channel is DTLS up. A new TCP channel for a session that had one is a reconnect,
        // and the client came back over TCP alone: on TLS until a UDP channel says otherwise.
        if (message.channel == SvcChannel::udp) {
            each([&](const Prefix &p) { sink_.set_transport(p, MG_TRANSPORT_DTLS); });
        } else if (message.event != AsaEvent::svc_first) {
            each([&](const Prefix &p) { sink_.report_reconnect(p); });
            each([&](const Prefix &p) { sink_.set_transport(p, MG_TRANSPORT_TLS); });
        }
        break;
    case AsaEvent::svc_closing:
        // The UDP (DTLS) channel went away: the session rides TLS. A TCP channel closing, or a
        // reason that names no channel, changes nothing yet (722038 ends the session).
        if (message.channel == SvcChannel::udp)
            each([&](const Prefix &p) { sink_.set_transport(p, MG_TRANSPORT_TLS); });
        break;
    case AsaEvent::dtls_disabled:
        each([&](const Prefix &p) { sink_.set_transport(p, MG_TRANSPORT_TLS); });
        break;
    case AsaEvent::connection_resumed:
        each([&](const Prefix &p) { sink_.report_reconnect(p); });
        break;
    case AsaEvent::session_end:
        each([&](const Prefix &p) { sink_.delete_session(p); });
        forget(key);
        break;
    default: // 716058 (waiting to resume): nothing changes yet
        break;
    }
    sink_.count(SourceEvent::SyslogApplied);
}

} // namespace mtuguard
