#include "config/options.hpp"

#include <sstream>

namespace po = boost::program_options;

namespace mtuguard {
namespace {

constexpr const char *usage = "Usage: mtuguardd --iface IF [--iface IF ...] --session SPEC [...] [options]\n"
                              "\n"
                              "Holds every packet toward a VPN client to the MTU of the tunnel it rides now\n"
                              "(the DTLS MTU while DTLS is up, else the TLS MTU), with an XDP program on the\n"
                              "gateway interfaces that face the inside servers. Oversize packets that may\n"
                              "not be fragmented are dropped and answered with ICMP fragmentation-needed /\n"
                              "ICMPv6 Packet Too Big, so senders learn the MTU instead of black-holing.\n";

constexpr const char *examples = R"(
Sessions (SPEC):
  ADDR[/PREFIX],dtls-mtu=N,tls-mtu=N[,transport=dtls|tls]
  ADDR is a client's tunnel address (IPv4 or IPv6); a /PREFIX gives defaults to a
  whole address pool, an exact address wins over a pool. MTUs are 576-65535.
  transport defaults to tls: the smaller MTU, which cannot black-hole.
  Sessions inside a client pool of their family are found by the address's
  offset in it instead of by a hash: give the VPN's address pools as pool prefixes
  (each of at most 2^20 addresses becomes a client pool, up to 16 per family) or
  with --client-pool.

Config file: the same option names in INI syntax (one "session = SPEC" line per
session); an option given on the command line replaces the file's value(s).

Signals: SIGINT and SIGTERM stop (removing everything unless --keep-attached);
SIGQUIT stops leaving everything attached and pinned for the next daemon (the
systemd unit sends it for a restart).
SIGHUP re-reads the configuration (this command line and its --config file as
they are now) and applies it without re-attaching: sessions, --on-oversize,
--mss-clamp, the --icmp-* options, --keep-attached, --transport-tracking,
--dtls-idle-timeout, the --storm-* options and --early-reconnect; sessions added through
mtuguardctl or a session source stay. A configuration that does not parse, or
whose sessions do not fit the running map, is refused whole and logged; the
running one is kept. --iface, --client-iface, --xdp-mode, --max-sessions,
--client-pool, --pin-path, --control-socket, --metrics-listen, --outside-iface, the ports and
the session sources change only with a restart: a reload logs them and applies
the rest. Under systemd (Type=notify) mtuguardd reports
readiness once attached, its status and reloads, and feeds the watchdog.

Exit status: 0 after a clean stop, 1 when loading or attaching fails, 2 for a
usage or configuration error (nothing is attached then).

Examples:
  # The Cisco case: DTLS MTU 1418, TLS MTU 1347, client currently on TLS
  mtuguardd --iface eth1 --session 10.8.0.5,dtls-mtu=1418,tls-mtu=1347,transport=tls

  # A whole IPv4 and IPv6 pool, drop silently instead of answering
  mtuguardd --iface eth1 --on-oversize drop \
      --session 10.8.0.0/16,dtls-mtu=1418,tls-mtu=1347 \
      --session 2001:db8:8::/64,dtls-mtu=1418,tls-mtu=1347

  # Sessions from ocserv; its ipv4-network (in /etc/ocserv/ocserv.conf) is the
  # client pool, where sessions are found by offset
  mtuguardd --iface eth1 --ocserv

  # From a config file, one interface more on the command line
  mtuguardd --config /etc/mtuguard/mtuguard.conf --iface eth2
)";

// add_options() with one more form, ("name", "VALUE", default or nullptr, "help"): a setting kept
// as text in scalars["name"] until validation, so that its name is written once.
class OptionAdder {
public:
    OptionAdder(po::options_description &group, std::map<std::string, std::string> &scalars)
        : add_(group.add_options()), scalars_(scalars)
    {
    }

    OptionAdder &operator()(const char *name, const char *help)
    {
        add_(name, help);
        return *this;
    }

    OptionAdder &operator()(const char *name, const po::value_semantic *value, const char *help)
    {
        add_(name, value, help);
        return *this;
    }

    OptionAdder &operator()(const char *name, const char *value_name, const char *fallback, const char *help)
    {
        auto *value = po::value<std::string>(&scalars_[name])->value_name(value_name);
        add_(name, fallback ? value->default_value(fallback) : value, help);
        return *this;
    }

private:
    po::options_description_easy_init add_;
    std::map<std::string, std::string> &scalars_;
};

OptionAdder add_options(po::options_description &group, std::map<std::string, std::string> &scalars)
{
    return OptionAdder(group, scalars);
}

} // namespace

po::options_description make_options(RawOptions &raw)
{
    auto &[ifaces, client_ifaces, sessions, client_pools, icmp_sources, outside_ifaces, asa_groups, scalars, keep_attached, ocserv] = raw;
    po::options_description general("General");
    add_options(general, scalars)
        ("help,h", "show this help and exit")
        ("version", "show the version and exit")
        ("check-config", "check the options, the --config file, the sessions and the interfaces, print what "
                         "would run and exit: 0 when all is well, 2 naming what is wrong; loads and attaches "
                         "nothing (systemctl reload runs it first)")
        ("config", "FILE", nullptr, "read options from FILE (INI syntax, same names as here)");

    po::options_description enforcement("Enforcement");
    add_options(enforcement, scalars)
        ("iface", po::value(&ifaces)->value_name("IF"),
         "interface whose ingress is enforced: the one facing the inside servers; the MSS is clamped "
         "there in tc both ways, the servers' SYN-ACKs coming in and the clients' SYNs going out (repeatable)")
        ("client-iface", po::value(&client_ifaces)->value_name("IF"),
         "interface that receives the clients' traffic (a tun device such as ocserv's vpnsN, or the "
         "side facing the VPN headend), where it does not leave through an --iface: their TCP SYNs get "
         "the MSS clamped there; one that does not exist yet is waited for and attached when it "
         "appears (repeatable)")
        ("xdp-mode", "MODE", "auto", "auto (native, else generic), native (driver XDP) or generic (skb XDP)")
        ("session", po::value(&sessions)->value_name("SPEC"), "a session or pool, see below (repeatable)")
        ("max-sessions", "N", "65536", "exact sessions at most (1-4194304)")
        ("client-pool", po::value(&client_pools)->value_name("PREFIX"),
         "an address pool the VPN gives its clients, at most 2^20 addresses (IPv4 /12, IPv6 /108 "
         "or longer; up to 16 per family, apart, 2^22 addresses together): its sessions are found by "
         "the address's offset, the fastest lookup, for 32 bytes of kernel memory per address of the "
         "pool (repeatable). Default, for a family without one: its pool prefixes (--session "
         "ADDR/PREFIX) and ocserv's pools that fit, largest first; 'off': none, every session hashed")
        ("mss-clamp", "on|off", "on",
         "lower the MSS of sessions' TCP SYN and SYN-ACK to the tunnel MTU - 40 (IPv4) / - 60 (IPv6), "
         "in tc on every --iface and --client-iface; a session's mss-clamp=on|off overrides it")
        ("on-oversize", "ACTION", "icmp",
         "for oversize packets with DF set (all IPv6): icmp (drop and answer with the MTU), "
         "drop, clear-df (clear DF and pass, as the ASA's df-bit-ignore; IPv6 gets icmp), "
         "monitor (count only). IPv4 without DF always passes: the tunnel fragments it.");

    po::options_description icmp("ICMP errors");
    add_options(icmp, scalars)
        ("icmp-rate", "PPS", "1000", "errors per second the gateway sends in all (0 = unlimited)")
        ("icmp-burst", "N", "200", "errors the global limit lets through at once")
        ("icmp-rate-per-source", "PPS", "100", "errors per second toward one sender (0 = unlimited)")
        ("icmp-burst-per-source", "N", "20", "errors the per-sender limit lets through at once")
        ("icmp-source", po::value(&icmp_sources)->value_name("ADDR"),
         "send errors from ADDR instead of the interface's own address (one per family)");

    po::options_description lifecycle("Control and restarts");
    add_options(lifecycle, scalars)
        ("control-socket", "PATH", "/run/mtuguard/control.sock",
         "Unix socket for mtuguardctl ('' disables); mode 0660 with group mtuguard if that group exists, else 0600")
        ("pin-path", "DIR", "/sys/fs/bpf/mtuguard",
         "bpffs directory for the pinned maps and links; a daemon started on it re-adopts the running "
         "programs and sessions without a gap ('' pins nothing)")
        ("keep-attached", po::bool_switch(&keep_attached),
         "on SIGINT/SIGTERM leave the programs attached and the state pinned, for a restart or upgrade "
         "(SIGQUIT, SIGKILL and crashes leave them too); without it a stop removes everything");

    po::options_description metrics("Metrics");
    add_options(metrics, scalars)
        ("metrics-listen", "HOST:PORT", "127.0.0.1:9784",
         "serve Prometheus metrics on http://HOST:PORT/metrics; IPv6 as [ADDR]:PORT; '' disables");

    po::options_description tracking("Transport tracking and reconnects");
    add_options(tracking, scalars)
        ("outside-iface", po::value(&outside_ifaces)->value_name("IF"),
         "interface facing the VPN clients (the headend's public side): its TLS and DTLS traffic is "
         "watched, per client, with tc programs that only count (repeatable)")
        ("tls-port", "PORT", "443", "TCP port of the VPN's TLS channel")
        ("dtls-port", "PORT", "443", "UDP port of the VPN's DTLS channel")
        ("dtls-idle-timeout", "SECONDS", "10",
         "a session whose client sent TLS but no DTLS both ways for this long is on TLS (1-3600)")
        ("transport-tracking", "on|off", "on",
         "switch sessions' transports as observed; off keeps them as configured")
        ("storm-reconnects", "N", "5",
         "reconnects of one client within --storm-window that make a reconnect storm (2-1000)")
        ("storm-window", "SECONDS", "300", "the window --storm-reconnects counts in (10-86400)")
        ("early-reconnect", "SECONDS", "120",
         "a reconnect at most this long after its client's connection started is an early "
         "reconnect, counted on its own (1-86400)");

    po::options_description sources("Session sources");
    add_options(sources, scalars)
        ("ocserv", po::bool_switch(&ocserv),
         "take sessions from ocserv: poll 'occtl --json show users' for users, tunnel addresses, MTUs "
         "and public addresses; a vanished user's session is removed")
        ("occtl", "PATH", "/usr/bin/occtl", "the occtl program")
        ("ocserv-config", "PATH", nullptr,
         "ocserv's configuration (default /etc/ocserv/ocserv.conf, skipped when absent): with "
         "--ocserv, its ipv4-network and ipv6-network, and those of its config-per-group files, are "
         "default client pools of the families without --client-pool")
        ("occtl-socket", "PATH", nullptr,
         "ocserv's occtl socket (occtl --socket-file), when not occtl's default")
        ("ocserv-interval", "SECONDS", "1", "how often occtl is asked (0.1-3600)")
        ("occtl-timeout", "SECONDS", "5",
         "an occtl that has not answered by then is killed and counted (0.1-600)")
        ("syslog-listen", "ADDR:PORT", nullptr,
         "receive Cisco ASA syslog on ADDR:PORT, UDP and TCP (newline or octet-counted framing): "
         "sessions from 722051, transports and reconnects from the SVC messages, the headend's "
         "threshold for a session from 722036/722035 and 602101 (enforced at once, on TLS)")
        ("asa-group", po::value(&asa_groups)->value_name("GROUP,PARAMS"),
         "MTUs of the ASA sessions of group policy GROUP (a group without its own: the --session "
         "pool prefix that covers the address, else '*'), PARAMS as in a "
         "session spec without its address: dtls-mtu=N,tls-mtu=N or cipher=C[,link-mtu=N|tcp-mss=N] "
         "(repeatable)");

    po::options_description all;
    all.add(general).add(enforcement).add(icmp).add(lifecycle).add(metrics).add(tracking).add(sources);
    return all;
}

// HOST:PORT with HOST an IPv4 address or a bracketed IPv6 address.

std::string help_text(const po::options_description &options)
{
    std::ostringstream help;
    help << usage << "\n" << options << examples;
    return help.str();
}

// program_options (1.74) builds an error's message in what() by replacing each %placeholder% of
// its template with the option or value as written, over and over until none is left: written
// with the placeholder in it ("--on-over%canonical_option%", "keep-attached = %value%"), the
// message never finishes and grows until memory runs out. When what was written has a '%', the
// message is built here instead, in one pass: the option's name, other placeholders elided.
std::string error_message(const po::error &error, bool written_with_percent)
{
    const auto *named = dynamic_cast<const po::error_with_option_name *>(&error);
    if (!named || !written_with_percent)
        return error.what();
    const std::string &pattern = named->m_error_template;
    std::string message;
    for (size_t i = 0; i < pattern.size();) {
        const size_t close = pattern[i] == '%' ? pattern.find('%', i + 1) : std::string::npos;
        if (close == std::string::npos) {
            message += pattern[i++];
            continue;
        }
        message += pattern.compare(i, close + 1 - i, "%canonical_option%") == 0 ? named->get_option_name() : "...";
        i = close + 1;
    }
    return message;
}

} // namespace mtuguard
