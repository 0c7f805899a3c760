// mtuguardctl: talks to a running mtuguardd over its control socket (sessions, counters,
// status, detach) and computes tunnel MTUs from a cipher (mtu-calc, no daemon needed).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "kernel/pins.hpp"
#include "common/mtu_calc.hpp"
#include "common/session_spec.hpp"

using nlohmann::json;
using namespace mtuguard;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr const char *help_text = R"(Usage: mtuguardctl [--socket PATH] [-o table|json] COMMAND ...

Commands:
  session add ADDR[/PREFIX] (--dtls-mtu N --tls-mtu N | --cipher C [--base-mtu N]
              [--padding exact|conservative]) [--transport dtls|tls] [--mss-clamp on|off]
              [--public ADDR]            the client's public address, for transport tracking
  session add --file FILE        one session spec per line (ADDR,dtls-mtu=N,tls-mtu=N,...),
                                 sent in batches of 65536, each applied all or nothing
  session del ADDR[/PREFIX]
  session transport ADDR[/PREFIX] dtls|tls
  session list [ADDR[/PREFIX]] [--limit N]
                                 with per-session oversize packets, ICMP sent, last oversize
                                 (the first 10000 unless --limit says otherwise)
  tracking [--limit N]           sessions with a known client: observed transport, DTLS/TLS
                                 traffic seen, reconnects, storms
  stats                          packets by verdict reason, per interface and family
  status                         programs, interfaces, modes, session map use, version
  mtu-calc --cipher C (--link-mtu N | --tcp-mss N) [--tls-version 1.2|1.3]
           [--dtls-version 1.0|1.2] [--outer ipv4|ipv6] [--padding exact|conservative]
  diagnose [ADDR]                what looks wrong, in plain words, and what to do about it
  detach [--pin-path DIR]        remove the programs and the pinned state (stops enforcement)

Options:
  --socket PATH     the daemon's control socket (default /run/mtuguard/control.sock)
  -o, --output FMT  table (default) or json, for every command that reads
  -h, --help        this help; `mtuguardctl COMMAND --help` for one command
  --version

Exit status: 0 ok, 1 runtime failure (daemon unreachable, request refused), 2 usage error.

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
                    "         [--mss-clamp on|off]\n"
                    "       mtuguardctl session add ADDR[/PREFIX] --cipher C [--base-mtu N] [--padding exact|conservative]\n"
                    "       mtuguardctl session add --file FILE\n\n"
                    "Adds a session (an exact tunnel address) or a pool (a prefix), or replaces it whole.\n"
                    "transport defaults to tls. --base-mtu is the outer link MTU (default 1500).\n"
                    "--mss-clamp overrides the daemon's --mss-clamp for this session.\n"
                    "--public names the client's public address: with --outside-iface the daemon then switches\n"
                    "the session's transport as it sees DTLS come and go, and counts its reconnects.\n"
                    "A full session map is refused; nothing is evicted.\n\n"
                    "Examples:\n  mtuguardctl session add 10.8.0.5 --dtls-mtu 1418 --tls-mtu 1347\n"
                    "  mtuguardctl session add 10.8.0.0/16 --cipher aes256-gcm --transport dtls\n"
                    "  mtuguardctl session add --file sessions.txt\n"},
    {"session del", "Usage: mtuguardctl session del ADDR[/PREFIX]\n\nExample:\n  mtuguardctl session del 10.8.0.5\n"},
    {"session transport", "Usage: mtuguardctl session transport ADDR[/PREFIX] dtls|tls\n\n"
                          "Switches the MTU enforced for the session: the DTLS MTU while on DTLS, else the TLS MTU.\n"
                          "New TCP connections get the new MSS; existing ones learn it from ICMP.\n\n"
                          "Example:\n  mtuguardctl session transport 10.8.0.5 tls\n"},
    {"session list", "Usage: mtuguardctl [-o json] session list [ADDR[/PREFIX]] [--limit N]\n\n"
                     "Every session and pool, or one, with its oversize packets, ICMP errors sent for it and\n"
                     "the time of its last oversize packet (exact sessions only; counted without locks, so two\n"
                     "CPUs racing on one session can lose a count — `stats` is exact).\n\n"
                     "Example:\n  mtuguardctl session list 10.8.0.5\n"},
    {"tracking", "Usage: mtuguardctl [-o json] tracking [--limit N]\n\n"
                 "Sessions whose client's public address is known (ocserv, ASA syslog, --public): the transport\n"
                 "observed for them, what the observation programs saw of their client (TLS SYNs, DTLS datagrams\n"
                 "each way, DTLS ClientHellos, UDP to other ports), reconnects and whether they are in a storm.\n\n"
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
                 "after their error), sessions on TLS collecting oversize packets (the DTLS-to-TLS MTU mismatch),\n"
                 "DTLS blocked on the path or sent to another port, reconnect storms, MSS clamping that cannot\n"
                 "see the clients, a nearly full session map.\n"
                 "Exit status 0 whatever it finds; 1 only when the daemon cannot be asked.\n\n"
                 "Examples:\n  mtuguardctl diagnose\n  mtuguardctl diagnose 10.8.0.5\n"},
    {"detach", "Usage: mtuguardctl detach [--pin-path DIR]\n\n"
               "Asks the running daemon to remove its programs and pinned state and exit; with no daemon\n"
               "running, removes what one left pinned under DIR (default /sys/fs/bpf/mtuguard).\n"
               "Enforcement stops until mtuguardd starts again.\n\nExample:\n  mtuguardctl detach\n"},
};

// --name value / --name=value options after the command words; positional words kept in order.
struct Args {
    std::vector<std::string> words;
    std::map<std::string, std::string> options;
    bool help = false;

    Args(const std::vector<std::string> &argv, const std::vector<std::string> &known)
    {
        for (size_t i = 0; i < argv.size(); ++i) {
            const std::string &a = argv[i];
            if (a == "-h" || a == "--help") {
                help = true;
            } else if (a.rfind("--", 0) == 0) {
                std::string name = a.substr(2), value;
                if (auto eq = name.find('='); eq != std::string::npos) {
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
    std::optional<std::string> get(const std::string &name) const
    {
        auto it = options.find(name);
        return it == options.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
};

uint32_t number(const std::string &option, const std::string &text, uint64_t min, uint64_t max)
{
    try {
        return parse_number("--" + option, text, min, max);
    } catch (const std::invalid_argument &e) {
        throw Usage(e.what());
    }
}

class Client {
public:
    explicit Client(const std::string &path) : path_(path) {}

    json call(const json &request)
    {
        Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (path_.size() >= sizeof(address.sun_path))
            throw Usage("--socket " + path_ + ": path too long");
        std::memcpy(address.sun_path, path_.c_str(), path_.size());
        if (!fd || connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0)
            throw Failure("cannot reach mtuguardd at " + path_ + ": " + std::strerror(errno) +
                          (errno == ENOENT || errno == ECONNREFUSED ? " (is it running?)"
                           : errno == EACCES ? " (the control socket is for root and group mtuguard)"
                                             : ""));
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
                throw Failure("mtuguardd did not answer within 60 s");
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

private:
    std::string path_;
};

std::string format_time(const json &seconds)
{
    if (seconds.is_null())
        return "-";
    std::time_t t = static_cast<std::time_t>(seconds.get<double>());
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return text;
}

void print_sessions(const json &reply)
{
    std::cout << std::left << std::setw(26) << "ADDRESS" << std::setw(8) << "KIND" << std::setw(10) << "TRANSPORT"
              << std::setw(9) << "DTLS" << std::setw(9) << "TLS" << std::setw(10) << "EFFECTIVE" << std::setw(12)
              << "SOURCE" << std::setw(10) << "OVERSIZE" << std::setw(10) << "ICMP" << "LAST OVERSIZE\n";
    for (const auto &s : reply["sessions"]) {
        std::cout << std::setw(26) << s["address"].get<std::string>() << std::setw(8) << s["kind"].get<std::string>()
                  << std::setw(10) << s["transport"].get<std::string>() << std::setw(9) << s["dtls_mtu"].get<int>()
                  << std::setw(9) << s["tls_mtu"].get<int>() << std::setw(10) << s["effective_mtu"].get<int>()
                  << std::setw(12) << s["source"].get<std::string>();
        if (s.contains("oversize_packets"))
            std::cout << std::setw(10) << s["oversize_packets"].get<uint64_t>() << std::setw(10)
                      << s["icmp_sent"].get<uint64_t>() << format_time(s["last_oversize"]);
        else
            std::cout << std::setw(10) << "-" << std::setw(10) << "-" << "-";
        std::cout << "\n";
    }
}

void print_stats(const json &reply)
{
    for (const auto &iface : reply["interfaces"]) {
        std::cout << iface["name"].get<std::string>() << "\n";
        std::cout << "  " << std::left << std::setw(28) << "REASON" << std::right << std::setw(14) << "IPv4 PACKETS"
                  << std::setw(14) << "IPv6 PACKETS" << std::setw(14) << "OTHER" << std::setw(16) << "BYTES" << "\n";
        const json &c = iface["counters"];
        for (const auto &[reason, _] : c["ipv4"].items()) {
            uint64_t v4 = c["ipv4"][reason]["packets"], v6 = c["ipv6"][reason]["packets"],
                     other = c["other"][reason]["packets"];
            uint64_t bytes = c["ipv4"][reason]["bytes"].get<uint64_t>() + c["ipv6"][reason]["bytes"].get<uint64_t>() +
                             c["other"][reason]["bytes"].get<uint64_t>();
            if (v4 + v6 + other == 0)
                continue;
            std::cout << "  " << std::left << std::setw(28) << reason << std::right << std::setw(14) << v4
                      << std::setw(14) << v6 << std::setw(14) << other << std::setw(16) << bytes << "\n";
        }
        for (const auto &[direction, outcomes] : iface["mss_syn_packets"].items())
            for (const auto &[outcome, count] : outcomes.items())
                if (count.get<uint64_t>())
                    std::cout << "  " << std::left << std::setw(28) << ("mss " + direction + " " + outcome)
                              << std::right << std::setw(14) << count.get<uint64_t>() << "  TCP SYNs\n";
    }
}

void print_tracking(const json &reply)
{
    if (!reply.value("observing", false))
        std::cout << "not observing: start mtuguardd with --outside-iface to track transports\n";
    std::cout << "reconnects " << reply["reconnects"] << ", sessions in storm " << reply["sessions_in_storm"]
              << ", periodic " << reply["periodic_reconnect_sessions"] << "\n";
    for (const auto &s : reply["sessions"]) {
        std::cout << s["address"].get<std::string>() << " client " << s["public_address"].get<std::string>() << " ("
                  << s["source"].get<std::string>() << "): observed "
                  << (s["observed_transport"].is_null() ? "-" : s["observed_transport"].get<std::string>())
                  << ", reconnects " << s["reconnects"] << (s["storm"].get<bool>() ? " STORM" : "")
                  << (s["periodic"].get<bool>() ? " PERIODIC" : "") << "\n";
        if (s.contains("client")) {
            const json &c = s["client"];
            std::cout << "    tls syns " << c["tls_syns"] << ", dtls in " << c["dtls_in"] << " out " << c["dtls_out"]
                      << ", client hellos " << c["dtls_client_hellos"] << ", other udp " << c["other_udp"] << "\n";
        }
    }
    if (reply.value("truncated", false))
        std::cout << "(" << reply["sessions"].size() << " of " << reply["total"] << " shown; --limit N for more)\n";
}

void print_status(const json &s)
{
    std::cout << "mtuguardd " << s["version"].get<std::string>() << ", pid " << s["pid"] << ", up "
              << s["uptime_seconds"] << " s" << (s["adopted"].get<bool>() ? ", re-adopted pinned state" : "") << "\n"
              << "pin path    " << s["pin_path"].get<std::string>() << "\n"
              << "sessions    " << s["sessions"]["exact"] << " of " << s["sessions"]["capacity"] << " (map), "
              << s["sessions"]["pools"] << " pool(s); " << s["sessions"]["dtls"] << " on DTLS, "
              << s["sessions"]["tls"] << " on TLS\n"
              << "on oversize " << s["settings"]["on_oversize"].get<std::string>() << ", ICMP limit "
              << s["settings"]["icmp_rate"] << "/s burst " << s["settings"]["icmp_burst"] << ", per source "
              << s["settings"]["icmp_rate_per_source"] << "/s burst " << s["settings"]["icmp_burst_per_source"] << "\n";
    for (const auto &i : s["interfaces"])
        std::cout << "interface   " << i["name"].get<std::string>() << " (ifindex " << i["ifindex"] << ", mtu "
                  << i["mtu"] << "): " << (i["attached"].get<bool>() ? "attached" : "NOT attached") << ", "
                  << i["mode"].get<std::string>() << " mode, program id " << i["program_id"] << "\n";
}

// Plain-word findings from the daemon's status, counters and, optionally, one session.
// What the tracking report shows about the VPN's channels (REFERENCE.md §1): clients whose
// DTLS never gets through, clients sending UDP to another port, reconnect loops.
void diagnose_tracking(const json &tracking, const std::function<void(const char *, const std::string &, const std::string &)> &add)
{
    if (!tracking.value("observing", false))
        return;
    const std::string dtls_port = tracking["dtls_port"].dump(), tls_port = tracking["tls_port"].dump();
    std::vector<std::string> blocked, mismatch, storms, periodic;
    std::string mismatch_port;
    for (const auto &s : tracking["sessions"]) {
        const std::string who = s["address"].get<std::string>() + " (client " + s["public_address"].get<std::string>() + ")";
        if (s.value("storm", false))
            storms.push_back(who);
        if (s.value("periodic", false))
            periodic.push_back(who + " every ~" + std::to_string(int(s["reconnect_interval_seconds"].get<double>() + 0.5)) + " s");
        if (!s.contains("client"))
            continue;
        const json &c = s["client"];
        const uint64_t tls = c["tls_packets"], dtls_in = c["dtls_in"], dtls_out = c["dtls_out"], other = c["other_udp"];
        if (tls && other && !dtls_in) {
            mismatch.push_back(who);
            mismatch_port = c["other_udp_port"].dump();
        } else if (tls && (!dtls_in || !dtls_out)) {
            blocked.push_back(who + (dtls_in ? ": " + std::to_string(dtls_in) + " DTLS datagrams in, none answered" : ": no DTLS at all"));
        }
    }
    auto list = [](const std::vector<std::string> &items) {
        std::string out;
        for (size_t i = 0; i < items.size() && i < 5; ++i)
            out += (i ? "; " : "") + items[i];
        return out + (items.size() > 5 ? "; and " + std::to_string(items.size() - 5) + " more" : "");
    };
    if (!mismatch.empty())
        add("problem", std::to_string(mismatch.size()) + " client(s) send UDP to port " + mismatch_port + " but none to the DTLS port " +
                           dtls_port + ": a DTLS port mismatch (" + list(mismatch) + ")",
            "make the headend listen for DTLS on the port it announces, or run mtuguardd with --dtls-port " + mismatch_port +
                "; until then those clients ride TLS and need its smaller MTU");
    if (!blocked.empty())
        add("problem", std::to_string(blocked.size()) + " client(s) use TLS (tcp/" + tls_port + ") but their DTLS (udp/" + dtls_port +
                           ") does not get through: DTLS blocked on the path (" + list(blocked) + ")",
            "allow UDP " + dtls_port + " both ways between clients and the headend; or make both channels agree on "
            "one MTU (the ASA's `anyconnect mtu`, e.g. 1300); or let the tunnel fragment (`anyconnect ssl "
            "df-bit-ignore enable`, --on-oversize clear-df)");
    if (!storms.empty() || !periodic.empty())
        add("problem", std::to_string(storms.size()) + " session(s) in a reconnect storm" +
                           (periodic.empty() ? "" : ", " + std::to_string(periodic.size()) + " reconnecting like clockwork (" + list(periodic) + ")") +
                           (storms.empty() ? "" : ": " + list(storms)),
            "a client that reconnects about every minute is applying a new MTU after a black hole: check the "
            "findings above for DTLS blocked or an MTU mismatch, and that ICMP frag-needed reaches the servers");
}

json diagnose(const json &status, const json &stats, const json &tracking, const json &sessions,
              const std::optional<json> &session)
{
    json findings = json::array();
    auto add = [&](const char *severity, const std::string &finding, const std::string &advice) {
        findings.push_back({{"severity", severity}, {"finding", finding}, {"advice", advice}});
    };
    const json &settings = status["settings"];
    const bool answers = settings["on_oversize"] == "icmp" || settings["on_oversize"] == "clear-df";
    bool client_side = false;
    for (const auto &i : status["interfaces"]) {
        const std::string name = i["name"];
        client_side |= i.value("direction", "") == "from_client";
        if (!i["attached"].get<bool>())
            add("problem", name + ": the program is not attached: nothing is enforced there",
                "check `ip -d link show " + name + "` for another XDP program; restart mtuguardd");
        if (answers && i.value("direction", "to_client") == "to_client") {
            if (i["icmp_source4"].is_null())
                add("problem", name + ": no IPv4 address to send frag-needed from", "add one, or set --icmp-source");
            if (i["icmp_source6"].is_null())
                add("warning", name + ": no IPv6 address to send Packet Too Big from", "add one, or set --icmp-source");
        }
    }
    auto sum = [&](const std::string &reason) {
        uint64_t n = 0;
        for (const auto &i : stats["interfaces"])
            for (const auto &family : {"ipv4", "ipv6", "other"})
                if (i["counters"][family].contains(reason))
                    n += i["counters"][family][reason]["packets"].get<uint64_t>();
        return n;
    };
    const uint64_t sent = sum("icmp_sent"), limited = sum("icmp_ratelimited"), dropped = sum("dropped");
    const uint64_t no_address = sum("suppressed_no_address"), within = sum("within_mtu");
    if (limited)
        add("problem", std::to_string(limited) + " oversize packets were dropped without the ICMP error their sender "
                           "needed: the rate limit was exhausted (" + std::to_string(sent) + " errors sent)",
            "raise --icmp-rate / --icmp-burst (global) or --icmp-rate-per-source; see runbook.md");
    if (dropped)
        add(settings["on_oversize"] == "drop" ? "warning" : "info",
            std::to_string(dropped) + " oversize packets were dropped silently (--on-oversize drop)",
            "senders learn nothing from a silent drop; --on-oversize icmp answers them");
    if (no_address)
        add("problem", std::to_string(no_address) + " oversize packets got no error: no address to answer from",
            "add an address to the interface or set --icmp-source");
    uint64_t unheeded = 0;
    for (const auto &i : stats["interfaces"])
        unheeded += i.value("icmp_unheeded", uint64_t(0));
    if (unheeded)
        add("problem", "ICMP black hole suspected: " + std::to_string(unheeded) + " oversize packets came from flows "
                           "that had been sent an ICMP error a second or more before, and kept sending too big",
            "the errors do not reach the servers: allow ICMP type 3 code 4 and ICMPv6 type 2 from the gateway's inside "
            "address to them; meanwhile MSS clamping (--mss-clamp on with a --client-iface) keeps new TCP "
            "connections small enough");
    if (sent && within && sent * 50 > within)
        add("warning", std::to_string(sent) + " ICMP errors against " + std::to_string(within) +
                           " packets within MTU: senders keep sending too big",
            "the errors may be filtered before the servers: allow ICMP type 3 code 4 and ICMPv6 type 2 toward "
            "them; MSS clamping (--mss-clamp on with a --client-iface) fixes TCP even then");
    if (settings.value("mss_clamp", true) && !client_side)
        add("info", "MSS clamping sees only the servers' SYN-ACKs: no --client-iface is configured",
            "name the interface where the clients' packets arrive with --client-iface, so the MSS the servers send "
            "with is clamped too");
    const json &count = status["sessions"];
    if (count["capacity"].get<uint64_t>() && count["exact"].get<uint64_t>() * 10 > count["capacity"].get<uint64_t>() * 9)
        add("warning", "the session map is over 90% full (" + count["exact"].dump() + " of " + count["capacity"].dump() + ")",
            "remove stale sessions or raise --max-sessions (needs `mtuguardctl detach` and a restart)");
    if (session) {
        const json &s = *session;
        std::string line = s["address"].get<std::string>() + ": on " + s["transport"].get<std::string>() +
                           ", enforcing MTU " + s["effective_mtu"].dump() + " (DTLS " + s["dtls_mtu"].dump() +
                           ", TLS " + s["tls_mtu"].dump() + ")";
        if (s.contains("oversize_packets") && s["oversize_packets"].get<uint64_t>()) {
            add(s["transport"] == "tls" ? "warning" : "info",
                line + "; " + s["oversize_packets"].dump() + " oversize packets, " + s["icmp_sent"].dump() +
                    " ICMP errors sent",
                s["transport"] == "tls" && s["dtls_mtu"].get<int>() > s["tls_mtu"].get<int>()
                    ? "the seed's case: the client fell back to TLS but servers send for the DTLS MTU; if DTLS is "
                      "blocked on the path, unblock UDP to the headend's DTLS port, or lower the tunnel MTU so both agree"
                    : "");
        } else {
            add("info", line + "; no oversize packets", "");
        }
    }
    // The seed's MTU mismatch, gateway-wide: sessions on TLS (the smaller MTU) collecting oversize
    // packets sized for DTLS.
    std::vector<std::string> mismatched;
    for (const auto &s : sessions["sessions"])
        if (s["transport"] == "tls" && s["dtls_mtu"].get<int>() > s["tls_mtu"].get<int>() &&
            s.value("oversize_packets", uint64_t(0)))
            mismatched.push_back(s["address"].get<std::string>());
    if (!mismatched.empty() && !session)
        add("warning", std::to_string(mismatched.size()) + " session(s) on TLS get oversize packets (an MTU mismatch: "
                           "servers send for the DTLS MTU), e.g. " + mismatched.front(),
            "`mtuguardctl diagnose " + mismatched.front() + "` for one of them; if DTLS is blocked, unblock it, or make "
            "both channels agree on one MTU");
    diagnose_tracking(tracking, add);
    if (findings.empty())
        add("ok", "nothing looks wrong: programs attached, no ICMP error withheld, no silent drops", "");
    return findings;
}

int run(const std::vector<std::string> &argv)
{
    std::string socket_path = "/run/mtuguard/control.sock", output = "table";
    size_t i = 0;
    for (; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if ((a == "--socket" || a == "-o" || a == "--output") && i + 1 < argv.size())
            (a == "--socket" ? socket_path : output) = argv[++i];
        else if (a.rfind("--socket=", 0) == 0)
            socket_path = a.substr(9);
        else if (a.rfind("--output=", 0) == 0)
            output = a.substr(9);
        else if (a == "--version") {
            std::cout << "mtuguardctl " MTUGUARD_VERSION "\n";
            return exit_ok;
        } else if (a == "-h" || a == "--help") {
            std::cout << help_text;
            return exit_ok;
        } else
            break;
    }
    if (output != "table" && output != "json")
        throw Usage("-o " + output + ": expected table or json");
    if (i == argv.size())
        throw Usage("no command given");
    const bool as_json = output == "json";
    std::vector<std::string> rest(argv.begin() + i, argv.end());
    std::string command = rest[0];
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
        {"session add", {"dtls-mtu", "tls-mtu", "transport", "mss-clamp", "cipher", "base-mtu", "padding", "public", "file"}},
        {"tracking", {"limit"}},
        {"session del", {}}, {"session transport", {}}, {"session list", {"limit"}}, {"stats", {}}, {"status", {}},
        {"mtu-calc", {"cipher", "link-mtu", "tcp-mss", "tls-version", "dtls-version", "outer", "padding"}},
        {"detach", {"pin-path"}},
        {"diagnose", {}},
    };
    Args args(rest, known.at(command));
    if (args.help) {
        std::cout << command_help.at(command);
        return exit_ok;
    }
    auto words = [&](size_t min, size_t max) {
        if (args.words.size() < min || args.words.size() > max)
            throw Usage(command + ": expected " + (max == 0 ? "no arguments" : min == max ? std::to_string(min) + " argument(s)" : "at most " + std::to_string(max) + " argument(s)") + " (see mtuguardctl " + command + " --help)");
    };
    Client client(socket_path);

    if (command == "mtu-calc") {
        words(0, 0);
        MtuRequest request;
        request.cipher = args.get("cipher").value_or("");
        if (request.cipher.empty())
            throw Usage("mtu-calc needs --cipher (one of: " + [] {
                std::string all;
                for (const auto &c : cipher_names())
                    all += (all.empty() ? "" : ", ") + c;
                return all;
            }() + ")");
        if (auto v = args.get("link-mtu"))
            request.link_mtu = number("link-mtu", *v, 1, 65535);
        if (auto v = args.get("tcp-mss"))
            request.tcp_mss = number("tcp-mss", *v, 1, 65535);
        request.tls_version = args.get("tls-version").value_or("1.2");
        request.dtls_version = args.get("dtls-version").value_or("1.2");
        std::string outer = args.get("outer").value_or("ipv4"), padding = args.get("padding").value_or("conservative");
        if (outer != "ipv4" && outer != "ipv6")
            throw Usage("--outer " + outer + ": expected ipv4 or ipv6");
        if (padding != "conservative" && padding != "exact")
            throw Usage("--padding " + padding + ": expected exact or conservative");
        request.outer = outer == "ipv4" ? Outer::Ipv4 : Outer::Ipv6;
        request.padding = padding == "exact" ? Padding::Exact : Padding::Conservative;
        MtuResult result;
        try {
            result = calculate_mtu(request);
        } catch (const std::invalid_argument &e) {
            throw Usage(e.what());
        }
        if (as_json)
            std::cout << to_json(result).dump(2) << "\n";
        else
            std::cout << format_result(result);
        return exit_ok;
    }
    if (command == "session add") {
        std::vector<std::string> specs;
        if (auto file = args.get("file")) {
            words(0, 0);
            if (args.options.size() > 1)
                throw Usage("session add --file takes no other option: the file holds whole specs");
            std::ifstream in(*file);
            if (!in)
                throw Usage("--file " + *file + ": cannot open");
            std::string line;
            for (size_t number = 1; std::getline(in, line); ++number) {
                line.erase(0, line.find_first_not_of(" \t"));
                if (line.empty() || line[0] == '#')
                    continue;
                try {
                    parse_session_spec(line);
                } catch (const std::invalid_argument &e) {
                    throw Usage(*file + ":" + std::to_string(number) + ": " + e.what());
                }
                specs.push_back(line);
            }
            if (specs.empty())
                throw Usage("--file " + *file + ": no sessions in it");
        } else {
            words(1, 1);
            std::string spec = args.words[0];
            for (const char *key : {"dtls-mtu", "tls-mtu", "transport", "mss-clamp", "cipher", "padding", "public"})
                if (auto v = args.get(key))
                    spec += std::string(",") + key + "=" + *v;
            if (auto v = args.get("base-mtu"))
                spec += ",link-mtu=" + *v;
            try {
                parse_session_spec(spec); // a usage error here, before the daemon sees it
            } catch (const std::invalid_argument &e) {
                throw Usage(e.what());
            }
            specs.push_back(spec);
        }
        // A file goes in batches, each applied whole or not at all, so a million sessions do not
        // make one request of tens of megabytes.
        constexpr size_t batch = 65536;
        json reply;
        for (size_t done = 0; done < specs.size(); done += batch) {
            std::vector<std::string> part(specs.begin() + done, specs.begin() + std::min(specs.size(), done + batch));
            try {
                reply = client.call({{"command", "session.add"}, {"sessions", part}});
            } catch (const Failure &e) {
                throw Failure(std::string(e.what()) + (done ? "; the first " + std::to_string(done) +
                                                                  " sessions of the file were added"
                                                            : ""));
            }
        }
        if (as_json)
            std::cout << json{{"ok", true}, {"added", specs.size()}}.dump(2) << "\n";
        else
            std::cout << (specs.size() == 1 ? (reply.value("replaced", 0) ? "replaced " : "added ") + specs[0]
                                            : "added " + std::to_string(specs.size()) + " sessions")
                      << "\n";
        return exit_ok;
    }
    if (command == "session del") {
        words(1, 1);
        client.call({{"command", "session.del"}, {"address", args.words[0]}});
        if (!as_json)
            std::cout << "deleted " << args.words[0] << "\n";
        return exit_ok;
    }
    if (command == "session transport") {
        words(2, 2);
        if (args.words[1] != "dtls" && args.words[1] != "tls")
            throw Usage("session transport: '" + args.words[1] + "' is not dtls or tls");
        client.call({{"command", "session.transport"}, {"address", args.words[0]}, {"transport", args.words[1]}});
        if (!as_json)
            std::cout << args.words[0] << " now on " << args.words[1] << "\n";
        return exit_ok;
    }
    if (command == "session list") {
        words(0, 1);
        json request = {{"command", "session.list"}};
        if (!args.words.empty())
            request["address"] = args.words[0];
        if (auto limit = args.get("limit"))
            request["limit"] = number("limit", *limit, 1, 100'000'000);
        json reply = client.call(request);
        if (as_json) {
            std::cout << reply.dump(2) << "\n";
        } else {
            print_sessions(reply);
            if (reply.value("truncated", false))
                std::cout << "(" << reply["sessions"].size() << " of " << reply["total"]
                          << " shown; --limit N for more)\n";
        }
        return exit_ok;
    }
    if (command == "tracking") {
        words(0, 0);
        json request = {{"command", "tracking"}};
        if (auto limit = args.get("limit"))
            request["limit"] = number("limit", *limit, 1, 100'000'000);
        json reply = client.call(request);
        if (as_json)
            std::cout << reply.dump(2) << "\n";
        else
            print_tracking(reply);
        return exit_ok;
    }
    if (command == "diagnose") {
        words(0, 1);
        json status = client.call({{"command", "status"}});
        json stats = client.call({{"command", "stats"}});
        json tracking = client.call({{"command", "tracking"}, {"limit", 100000}});
        json sessions = client.call({{"command", "session.list"}, {"limit", 100000}});
        std::optional<json> session;
        if (!args.words.empty())
            session = client.call({{"command", "session.list"}, {"address", args.words[0]}})["sessions"].at(0);
        json findings = diagnose(status, stats, tracking, sessions, session);
        if (as_json) {
            std::cout << json{{"ok", true}, {"findings", findings}}.dump(2) << "\n";
        } else {
            for (const auto &f : findings)
                std::cout << f["severity"].get<std::string>() << ": " << f["finding"].get<std::string>() << "\n"
                          << (f["advice"].get<std::string>().empty() ? "" : "  -> " + f["advice"].get<std::string>() + "\n");
        }
        return exit_ok;
    }
    if (command == "stats" || command == "status") {
        words(0, 0);
        json reply = client.call({{"command", command}});
        if (as_json)
            std::cout << reply.dump(2) << "\n";
        else if (command == "stats")
            print_stats(reply);
        else
            print_status(reply);
        return exit_ok;
    }
    // detach
    words(0, 0);
    try {
        client.call({{"command", "detach"}});
        // The daemon removes its socket last, after detaching everything.
        for (int waited = 0; access(socket_path.c_str(), F_OK) == 0 && waited < 100; ++waited)
            usleep(100000);
        std::cout << "detached: mtuguardd removed its programs and pinned state and stopped\n";
    } catch (const Failure &) {
        const std::string pin_path = args.get("pin-path").value_or("/sys/fs/bpf/mtuguard");
        int removed = remove_pins(pin_path);
        std::cout << "no mtuguardd running; removed " << removed << " pinned object(s) under " << pin_path << "\n";
    }
    return exit_ok;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const Usage &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\nTry 'mtuguardctl --help'.\n";
        return exit_usage;
    } catch (const Failure &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\n";
        return exit_runtime;
    } catch (const std::exception &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\n";
        return exit_runtime;
    }
}
