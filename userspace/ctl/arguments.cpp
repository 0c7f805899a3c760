#include "ctl/arguments.hpp"

#include <algorithm>
#include <iostream>

#include "common/session_spec.hpp"

namespace mtuguard::ctl {

const char *const help_text = R"(Usage: mtuguardctl [--socket PATH] [-o table|json | -j] COMMAND ...

Commands:
  session add ADDR[/PREFIX] (--dtls-mtu N --tls-mtu N | --cipher C [--base-mtu N]
              [--padding exact|conservative]) [--transport dtls|tls] [--mss-clamp on|off]
              [--public ADDR]            the client's public address, for transport tracking
              [--user NAME] [--group NAME]  whose session it is (shown, never a metric label)
  session add --file FILE        one session spec per line (ADDR,dtls-mtu=N,tls-mtu=N,...),
                                 sent in batches of 65536, each applied all or nothing
  session del ADDR[/PREFIX]
  session transport ADDR[/PREFIX] dtls|tls
  session list [ADDR[/PREFIX]] [--limit N] [--sort oversize|icmp|last|address] [--top N]
               [--transport dtls|tls] [--oversize]
                                 with per-session oversize packets, ICMP sent, last oversize
                                 (the first 10000 unless --limit says otherwise)
  tracking [--limit N]           sessions with a known client: observed transport, DTLS/TLS
                                 traffic seen, reconnects, early ones, storms
  stats                          packets by verdict reason, per interface and family
  status                         programs, interfaces, modes, session map use, version
  mtu-calc --cipher C (--link-mtu N | --tcp-mss N) [--tls-version 1.2|1.3]
           [--dtls-version 1.0|1.2] [--outer ipv4|ipv6] [--padding exact|conservative]
  diagnose [ADDR]                what looks wrong, in plain words, and what to do about it
  detach [--pin-path DIR] [--force]
                                 remove the programs and the pinned state (stops enforcement)

Options:
  --socket PATH     the daemon's control socket (default /run/mtuguard/control.sock);
  --control-socket PATH  the same, as mtuguardd spells it
  -o, --output FMT  table (default) or json, for every command (writes answer {"ok": true, ...});
                    before or after the command
  -j, --json        the same as -o json
  -h, --help        this help; `mtuguardctl COMMAND --help` for one command
  --version

Exit status: 0 ok, 1 runtime failure (daemon unreachable, request refused), 2 usage error,
3 diagnose named a warning or a problem.

Examples:
  # The seed case: a client on TLS with the ASA's MTUs
  mtuguardctl session add 10.8.0.5 --dtls-mtu 1418 --tls-mtu 1347 --transport tls
  # DTLS came back for it
  mtuguardctl session transport 10.8.0.5 dtls
  # MTUs computed from the cipher (ocserv's AES-256-GCM on a 1500-byte path: 1434)
  mtuguardctl session add 10.8.0.6 --cipher aes256-gcm --transport dtls
  # What MTU does the ASA announce for DTLS 1.0 AES-SHA1?
  mtuguardctl mtu-calc --cipher aes256-sha1 --dtls-version 1.0 --link-mtu 1500 --padding exact
  mtuguardctl -o json session list | jq '.sessions[] | select(.oversize_packets > 0)'
)";

const std::map<std::string, std::string> command_help = {
    {"session add", "Usage: mtuguardctl session add ADDR[/PREFIX] --dtls-mtu N --tls-mtu N [--transport dtls|tls]\n"
                    "         [--mss-clamp on|off] [--public ADDR] [--user NAME] [--group NAME]\n"
                    "       mtuguardctl session add ADDR[/PREFIX] --cipher C [--base-mtu N] [--padding exact|conservative]\n"
                    "       mtuguardctl session add --file FILE\n\n"
                    "Adds a session (an exact tunnel address) or a pool (a prefix), or replaces it whole.\n"
                    "transport defaults to tls. --base-mtu is the outer link MTU (default 1500).\n"
                    "--mss-clamp overrides the daemon's --mss-clamp for this session.\n"
                    "--public names the client's public address: with --outside-iface the daemon then switches\n"
                    "the session's transport as it sees DTLS come and go, and counts its reconnects.\n"
                    "--user and --group say whose session it is: session list, tracking, diagnose and the\n"
                    "daemon's log name them (at most 63 bytes of UTF-8, no commas or control characters).\n"
                    "A full session map is refused; nothing is evicted.\n\n"
                    "Examples:\n  mtuguardctl session add 10.8.0.5 --dtls-mtu 1418 --tls-mtu 1347\n"
                    "  mtuguardctl session add 10.8.0.0/16 --cipher aes256-gcm --transport dtls\n"
                    "  mtuguardctl session add --file sessions.txt\n"},
    {"session del", "Usage: mtuguardctl session del ADDR[/PREFIX]\n\nExample:\n  mtuguardctl session del 10.8.0.5\n"},
    {"session transport", "Usage: mtuguardctl session transport ADDR[/PREFIX] dtls|tls\n\n"
                          "Switches the MTU enforced for the session: the DTLS MTU while on DTLS, else the TLS MTU.\n"
                          "New TCP connections get the new MSS; existing ones learn it from ICMP.\n\n"
                          "Example:\n  mtuguardctl session transport 10.8.0.5 tls\n"},
    {"session list", "Usage: mtuguardctl [-o json] session list [ADDR[/PREFIX]] [--limit N]\n"
                     "         [--sort oversize|icmp|last|address] [--top N] [--transport dtls|tls] [--oversize]\n\n"
                     "Every session and pool, or one, with its oversize packets, ICMP errors sent for it and\n"
                     "the time of its last oversize packet (exact sessions only; counted without locks, so two\n"
                     "CPUs racing on one session can lose a count — `stats` is exact). Times are local with the\n"
                     "zone in the table, UTC in ISO 8601 in JSON. The first 10000 unless --limit says otherwise;\n"
                     "with --sort, --top, --transport or --oversize every session is read and then picked:\n"
                     "  --sort KEY        most oversize packets, most ICMP errors, latest oversize packet first,\n"
                     "                    or by address\n"
                     "  --top N           the first N after sorting\n"
                     "  --transport T     only sessions on DTLS or on TLS\n"
                     "  --oversize        only sessions that got oversize packets\n\n"
                     "Examples:\n  mtuguardctl session list 10.8.0.5\n"
                     "  mtuguardctl session list --oversize --transport tls --sort oversize --top 10\n"},
    {"tracking", "Usage: mtuguardctl [-o json] tracking [--limit N]\n\n"
                 "Sessions whose client's public address is known (ocserv, ASA syslog, --public): the transport\n"
                 "observed for them, what the observation programs saw of their client (TLS SYNs, DTLS datagrams\n"
                 "each way, DTLS ClientHellos, UDP to other ports), reconnects and whether they are in a storm.\n"
                 "The first line counts the reconnects, the early ones (within --early-reconnect of the start of\n"
                 "the connection they end; the EARLY column per client) and the connections started.\n\n"
                 "Example:\n  mtuguardctl tracking\n  mtuguardctl -o json tracking | jq '.sessions[] | select(.storm)'\n"},
    {"stats", "Usage: mtuguardctl [-o json] stats\n\nPackets and bytes by verdict reason, per interface and "
              "family, since the maps were created.\n\nExample:\n  mtuguardctl -o json stats\n"},
    {"status", "Usage: mtuguardctl [-o json] status\n\nThe daemon's version, uptime, interfaces with their XDP "
               "mode and program id, session map use and settings.\n\nExample:\n  mtuguardctl status\n"},
    {"mtu-calc", "Usage: mtuguardctl [-o json] mtu-calc --cipher C (--link-mtu N | --tcp-mss N)\n"
                 "         [--tls-version 1.2|1.3] [--dtls-version 1.0|1.2] [--outer ipv4|ipv6]\n"
                 "         [--padding exact|conservative]\n\n"
                 "The TLS and DTLS tunnel MTU for a cipher, with every byte of overhead. CBC padding is\n"
                 "counted conservatively (a whole block, GnuTLS/ocserv) unless --padding exact (Cisco ASA).\n\n"
                 "Examples:\n  mtuguardctl mtu-calc --cipher aes256-gcm --link-mtu 1500\n"
                 "  mtuguardctl mtu-calc --cipher rc4-sha1 --tcp-mss 1380\n"},
    {"diagnose", "Usage: mtuguardctl [-o json] diagnose [ADDR]\n\n"
                 "Reads the daemon's status, counters, sessions and tracking (and one session's, with ADDR) and\n"
                 "says in plain words what looks wrong and what to do: programs not attached, no address to answer\n"
                 "from, ICMP errors withheld by the rate limit, an ICMP black hole (flows still too big a second\n"
                 "after their error), sessions in MTU mismatch (their clients apply a larger MTU than is enforced),\n"
                 "each with its user and both MTUs,\n"
                 "DTLS blocked on the path or sent to another port, reconnect storms, many connections ending in\n"
                 "a reconnect soon after their start (early reconnects: at least 3 and a fifth of the connections),\n"
                 "MSS clamping whose tc programs are not attached, a nearly full session map.\n"
                 "Exit status 0 when it names nothing of severity warning or worse, 3 when it does (so a\n"
                 "monitoring check or a systemd timer can run it as is), 1 when the daemon cannot be asked.\n\n"
                 "Examples:\n  mtuguardctl diagnose\n  mtuguardctl diagnose 10.8.0.5\n"},
    {"detach", "Usage: mtuguardctl detach [--pin-path DIR] [--force]\n\n"
               "Asks the running daemon to remove its programs and pinned state and exit; with no daemon\n"
               "running, removes what one left pinned under DIR (default /sys/fs/bpf/mtuguard).\n"
               "Enforcement stops until mtuguardd starts again.\n\n"
               "Without an answer from the daemon the pins are removed only when none can be running: its\n"
               "socket absent or listened on by nobody, and no mtuguardd holding DIR (a running one locks\n"
               "it). Any other failure to reach it (no permission, no answer within 60 s) exits 1 and\n"
               "removes nothing; --force removes the pins anyway.\n\n"
               "Examples:\n  mtuguardctl detach\n  mtuguardctl detach --pin-path /sys/fs/bpf/mtuguard --force\n"},
};

Args::Args(const std::vector<std::string> &argv, const std::vector<std::string> &known,
           const std::vector<std::string> &flags)
{
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if (a == "-h" || a == "--help") {
            help = true;
        } else if (a.rfind("--", 0) == 0) {
            std::string name = a.substr(2), value;
            if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
                value = "yes";
            } else if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            } else if (i + 1 < argv.size()) {
                value = argv[++i];
            } else {
                throw Usage("--" + name + " needs a value");
            }
            if (std::find(known.begin(), known.end(), name) == known.end())
                throw Usage("unknown option --" + name);
            if (!options.emplace(name, value).second)
                throw Usage("--" + name + " given twice");
        } else {
            words.push_back(a);
        }
    }
}

std::optional<std::string> Args::get(const std::string &name) const
{
    auto it = options.find(name);
    return it == options.end() ? std::nullopt : std::optional<std::string>(it->second);
}

uint32_t number(const std::string &option, const std::string &text, uint64_t min, uint64_t max)
{
    try {
        return parse_number("--" + option, text, min, max);
    } catch (const std::invalid_argument &e) {
        throw Usage(e.what());
    }
}

void Invocation::expect_words(size_t min, size_t max) const
{
    if (args.words.size() < min || args.words.size() > max)
        throw Usage(command + ": expected " +
                    (max == 0          ? "no arguments"
                     : min == max      ? std::to_string(min) + " argument(s)"
                                       : "at most " + std::to_string(max) + " argument(s)") +
                    " (see mtuguardctl " + command + " --help)");
}

namespace {

// -o FMT, --output FMT, --output=FMT or -j (as `ip` and `bpftool` spell JSON output) at argv[i]:
// stores the format and steps past it. Taken before or after the command, so that a script can
// add it to any command line.
bool take_output(const std::vector<std::string> &argv, size_t &i, std::string &output)
{
    const std::string &a = argv[i];
    if ((a == "-o" || a == "--output") && i + 1 < argv.size())
        output = argv[++i];
    else if (a.rfind("--output=", 0) == 0)
        output = a.substr(9);
    else if (a == "-j" || a == "--json")
        output = "json";
    else
        return false;
    return true;
}

} // namespace

Invocation parse_invocation(const std::vector<std::string> &argv)
{
    Invocation in;
    std::string &socket_path = in.socket_path, output = "table";
    size_t i = 0;
    for (; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if (take_output(argv, i, output))
            continue;
        // --control-socket as mtuguardd spells it, --socket for short
        if ((a == "--socket" || a == "--control-socket") && i + 1 < argv.size())
            socket_path = argv[++i];
        else if (a.rfind("--socket=", 0) == 0 || a.rfind("--control-socket=", 0) == 0)
            socket_path = a.substr(a.find('=') + 1);
        else if (a == "--version") {
            std::cout << "mtuguardctl " MTUGUARD_VERSION "\n";
            in.done = true;
            return in;
        } else if (a == "-h" || a == "--help") {
            std::cout << help_text;
            in.done = true;
            return in;
        } else
            break;
    }
    if (i == argv.size())
        throw Usage("no command given");
    std::vector<std::string> rest;
    for (size_t j = i; j < argv.size(); ++j)
        if (!take_output(argv, j, output))
            rest.push_back(argv[j]);
    if (output != "table" && output != "json")
        throw Usage("-o " + output + ": expected table or json");
    in.as_json = output == "json";
    std::string &command = in.command;
    command = rest[0];
    if (command == "session") {
        if (rest.size() < 2 || rest[1].rfind("-", 0) == 0)
            throw Usage("session needs add, del, transport or list");
        command += " " + rest[1];
        rest.erase(rest.begin());
    }
    rest.erase(rest.begin());
    if (!command_help.count(command))
        throw Usage("unknown command '" + command + "'");

    static const std::map<std::string, std::vector<std::string>> known = {
        {"session add", {"dtls-mtu", "tls-mtu", "transport", "mss-clamp", "cipher", "base-mtu", "padding", "public", "user", "group", "file"}},
        {"tracking", {"limit"}},
        {"session del", {}}, {"session transport", {}}, {"session list", {"limit", "sort", "top", "transport", "oversize"}}, {"stats", {}}, {"status", {}},
        {"mtu-calc", {"cipher", "link-mtu", "tcp-mss", "tls-version", "dtls-version", "outer", "padding"}},
        {"detach", {"pin-path", "force"}},
        {"diagnose", {}},
    };
    in.args = Args(rest, known.at(command), {"force", "oversize"});
    if (in.args.help) {
        std::cout << command_help.at(command);
        in.done = true;
    }
    return in;
}

} // namespace mtuguard::ctl
