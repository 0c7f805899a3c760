#include "ctl/diagnose.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard::ctl {
namespace {

using nlohmann::json;
using Add = std::function<void(const char *, const std::string &, const std::string &)>;

// At most five of `items`, and how many more.
std::string list(const std::vector<std::string> &items)
{
    std::string out;
    for (size_t i = 0; i < items.size() && i < 5; ++i)
        out += (i ? "; " : "") + items[i];
    return out + (items.size() > 5 ? "; and " + std::to_string(items.size() - 5) + " more" : "");
}

// " (user alice, group staff)" of a session in session list's JSON, or "".
std::string owner(const json &s)
{
    std::string user = s.contains("user") && s["user"].is_string() ? s["user"].get<std::string>() : "";
    std::string group = s.contains("group") && s["group"].is_string() ? s["group"].get<std::string>() : "";
    if (user.empty() && group.empty())
        return "";
    return " (" + (user.empty() ? "" : "user " + user) + (user.empty() || group.empty() ? "" : ", ") +
           (group.empty() ? "" : "group " + group) + ")";
}

const char *const mismatch_remedy =
    "the client sends and expects packets that no longer fit; make both channels agree on one MTU (the ASA's "
    "`anyconnect mtu`, e.g. 1300; ocserv's `mtu =` set to what the smallest outer path carries), or let the tunnel "
    "fragment (`anyconnect ssl df-bit-ignore enable`), or raise the headend's TCP MSS (`sysopt conn tcpmss 1460`); "
    "unblock DTLS if it fell back; allow ICMP from the gateway to the servers";

// `address` cut to its first `length` bits (of its family's).
Prefix cut(const Prefix &address, unsigned length)
{
    Prefix out = address;
    out.length = length;
    const unsigned mapped = out.mapped_length();
    for (unsigned bit = mapped; bit < 128; ++bit)
        out.addr.bytes[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
    return out;
}

// How many leading bits of their family a and b share.
unsigned shared_bits(const Prefix &a, const Prefix &b)
{
    unsigned bit = a.ipv4 ? 96 : 0;
    while (bit < 128 && !((a.addr.bytes[bit / 8] ^ b.addr.bytes[bit / 8]) & (0x80 >> (bit % 8))))
        ++bit;
    return a.ipv4 ? bit - 96 : bit;
}

// Exact sessions outside every client pool are hashed, the slower lookup: named, grouped by the
// largest block a client pool may be (2^20 addresses), each with a pool that would hold them:
// their common prefix, at least a /24 (IPv6 /120), apart from the client pools there are.
void diagnose_hashed(const json &status, const json &sessions, const Add &add)
{
    std::vector<Prefix> pools;
    for (const auto &p : status.value("client_pools", json::array()))
        pools.push_back(parse_prefix(p["prefix"].get<std::string>()));
    auto overlaps = [&](const Prefix &candidate) {
        return std::any_of(pools.begin(), pools.end(), [&](const Prefix &pool) {
            return pool.ipv4 == candidate.ipv4 && (pool.covers(candidate) || candidate.covers(pool));
        });
    };
    std::map<std::string, std::vector<Prefix>> blocks;
    for (const auto &s : sessions["sessions"]) {
        if (s.value("kind", std::string("session")) != "session")
            continue;
        const Prefix address = parse_prefix(s["address"].get<std::string>());
        if (!overlaps(address))
            blocks[cut(address, address.ipv4 ? 12 : 108).to_string()].push_back(address);
    }
    std::vector<std::string> named;
    size_t hashed = 0;
    for (const auto &[block, members] : blocks) {
        const Prefix &first = members.front();
        unsigned length = first.ipv4 ? 24 : 120;
        for (const Prefix &m : members)
            length = std::min(length, shared_bits(first, m));
        // One pool for them all, or where that would overlap a pool, one per /24 (/120), each
        // made longer until it is apart.
        std::vector<Prefix> wanted = {cut(first, length)};
        if (overlaps(wanted[0])) {
            wanted.clear();
            for (const Prefix &m : members) {
                Prefix pool = cut(m, m.ipv4 ? 24 : 120);
                while (overlaps(pool))
                    pool = cut(m, pool.length + 1);
                if (std::none_of(wanted.begin(), wanted.end(), [&](const Prefix &w) { return w.covers(m); }))
                    wanted.push_back(pool);
            }
        }
        std::string options;
        for (const Prefix &pool : wanted)
            options += (options.empty() ? "--client-pool " : " --client-pool ") + pool.to_string();
        named.push_back(std::to_string(members.size()) + " in " + block + " (" + options + ")");
        hashed += members.size();
    }
    if (hashed)
        add("info", std::to_string(hashed) + " session(s) outside every client pool are hashed, the slower lookup: " +
                        list(named),
            "declare the pools the VPN gives these addresses from with --client-pool (up to 16 per family; a "
            "restart, see the operator guide), or widen them to the VPN's whole pool");
}

// What the tracking report shows about the VPN's channels (REFERENCE.md §1): clients whose
// DTLS never gets through, clients sending UDP to another port, reconnect loops.
void diagnose_tracking(const json &tracking, const Add &add)
{
    if (!tracking.value("observing", false))
        return;
    const std::string dtls_port = tracking["dtls_port"].dump(), tls_port = tracking["tls_port"].dump();
    std::vector<std::string> blocked, stopped, mismatch, storms, periodic;
    std::string mismatch_port;
    const double timeout = tracking.value("dtls_idle_timeout_seconds", 10.0);
    for (const auto &s : tracking["sessions"]) {
        const std::string user = s.contains("user") && s["user"].is_string() ? ", user " + s["user"].get<std::string>() : "";
        const std::string who = s["address"].get<std::string>() + " (client " + s["public_address"].get<std::string>() + user + ")";
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
        } else if (tls && s["observed_transport"] == "tls") {
            // DTLS worked earlier in the session and has not been seen both ways for longer than
            // the idle timeout while the session rides TLS: blocked in the middle of it.
            const double since = std::max(c["seconds_since_dtls_in"].is_number() ? c["seconds_since_dtls_in"].get<double>() : 0.0,
                                          c["seconds_since_dtls_out"].is_number() ? c["seconds_since_dtls_out"].get<double>() : 0.0);
            if (since > timeout)
                stopped.push_back(who + ": DTLS last seen both ways " + std::to_string(int(since + 0.5)) + " s ago");
        }
    }
    if (!stopped.empty())
        add("problem", std::to_string(stopped.size()) + " session(s) had DTLS and lost it mid-session, riding TLS since (" +
                           list(stopped) + ")",
            "something on the path started dropping UDP " + dtls_port + " (a firewall change, a NAT timeout, the client's "
            "network): those clients still apply the DTLS MTU; see the MTU mismatch findings, and allow UDP " + dtls_port +
            " both ways again");
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

// Connections cut short: a client that reconnects once, soon after connecting, is neither a storm
// nor periodic, yet it is the black hole's first symptom. Since the daemon started, so a share
// and not a rate: at least kEarlyMin early reconnects making at least a fifth of the connections.
void diagnose_early_reconnects(const json &tracking, const Add &add)
{
    constexpr uint64_t kEarlyMin = 3;
    const uint64_t early = tracking.value("early_reconnects", uint64_t(0)),
                   connections = tracking.value("connections", uint64_t(0));
    if (early < kEarlyMin || early * 5 < connections)
        return;
    std::vector<std::string> clients;
    for (const auto &s : tracking["sessions"])
        if (s.value("early_reconnects", uint64_t(0)))
            clients.push_back(s["address"].get<std::string>() + " (client " + s["public_address"].get<std::string>() +
                              ", " + s["early_reconnects"].dump() + ")");
    add("warning", std::to_string(early) + " of " + std::to_string(connections) + " client connections ended in a reconnect within " +
                       tracking["early_reconnect_seconds"].dump() + " s of their start (--early-reconnect)" +
                       (clients.empty() ? "" : ": " + list(clients)),
        "clients that reconnect soon after connecting are often re-applying their MTU after a black hole: check "
        "the findings above for DTLS blocked or an MTU mismatch, and that ICMP frag-needed reaches the servers");
}

} // namespace

json diagnose(const json &status, const json &stats, const json &tracking, const json &sessions,
              const std::optional<json> &session)
{
    json findings = json::array();
    auto add = [&](const char *severity, const std::string &finding, const std::string &advice) {
        findings.push_back({{"severity", severity}, {"finding", finding}, {"advice", advice}});
    };
    const json &settings = status["settings"];
    const bool answers = settings["on_oversize"] == "icmp" || settings["on_oversize"] == "clear-df";
    const bool clamping = settings.value("mss_clamp", true);
    for (const auto &i : status["interfaces"]) {
        const std::string name = i["name"];
        if (!i["attached"].get<bool>())
            add("problem", name + ": the program is not attached: nothing is enforced there",
                "check `ip -d link show " + name + "` for another XDP program; restart mtuguardd");
        // The tc programs clamp both directions on every interface: the servers' SYN-ACKs coming
        // in and the clients' SYNs going out. Without them neither is clamped there.
        if (clamping && i["attached"].get<bool>() && i.value("mss_clamp", std::string("none")) == "none")
            add("warning", name + ": MSS clamping is on but its tc programs are not attached there: TCP handshakes "
                                  "through it keep the MSS they were sent with",
                "check `tc filter show dev " + name + " ingress` and egress for a conflicting setup; restart mtuguardd");
        if (answers && i.value("direction", "to_client") == "to_client") {
            if (i["icmp_source4"].is_null())
                add("problem", name + ": no IPv4 address to send frag-needed from", "add one, or set --icmp-source");
            if (i["icmp_source6"].is_null())
                add("warning", name + ": no IPv6 address to send Packet Too Big from", "add one, or set --icmp-source");
        }
    }
    // ICMP errors counted as sent that the driver dropped: on a veth in native mode, a peer without
    // an XDP program of its own. Named per interface, with the count the driver keeps.
    for (const auto &i : stats["interfaces"]) {
        const uint64_t lost = i.contains("icmp_tx_errors") && i["icmp_tx_errors"].is_number_unsigned()
                                  ? i["icmp_tx_errors"].get<uint64_t>()
                                  : 0;
        if (lost)
            add("problem", i["name"].get<std::string>() + ": " + std::to_string(lost) + " ICMP errors sent with XDP_TX were "
                               "dropped by the driver (xdp_tx_errors): the senders were never told the MTU",
                "on a veth in native mode the peer needs an XDP program of its own (one that passes every packet "
                "is enough); or run mtuguardd with --xdp-mode generic; see runbook.md");
    }
    auto sum = [&](mg_reason reason) {
        const char *name = mg_reason_name(reason);
        uint64_t n = 0;
        for (const auto &i : stats["interfaces"])
            for (uint32_t family = 0; family < MG_FAMILY_COUNT; ++family)
                if (i["counters"][mg_family_name(family)].contains(name))
                    n += i["counters"][mg_family_name(family)][name]["packets"].get<uint64_t>();
        return n;
    };
    const uint64_t sent = sum(MG_REASON_ICMP_SENT), limited = sum(MG_REASON_ICMP_RATELIMITED),
                   dropped = sum(MG_REASON_DROPPED);
    const uint64_t no_address = sum(MG_REASON_SUPPRESSED_NO_ADDRESS), within = sum(MG_REASON_WITHIN_MTU);
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
            "address to them; meanwhile MSS clamping (--mss-clamp on, the default) keeps new TCP "
            "connections small enough");
    if (sent && within && sent * 50 > within)
        add("warning", std::to_string(sent) + " ICMP errors against " + std::to_string(within) +
                           " packets within MTU: senders keep sending too big",
            "the errors may be filtered before the servers: allow ICMP type 3 code 4 and ICMPv6 type 2 toward "
            "them; MSS clamping (--mss-clamp on, the default) fixes TCP even then");
    const json &count = status["sessions"];
    if (count["capacity"].get<uint64_t>() && count["exact"].get<uint64_t>() * 10 > count["capacity"].get<uint64_t>() * 9)
        add("warning", "the session map is over 90% full (" + count["exact"].dump() + " of " + count["capacity"].dump() + ")",
            "remove stale sessions or raise --max-sessions (needs `mtuguardctl detach` and a restart)");
    if (session) {
        const json &s = *session;
        std::string line = s["address"].get<std::string>() + owner(s) + ": on " + s["transport"].get<std::string>() +
                           ", enforcing MTU " + s["effective_mtu"].dump() + " (DTLS " + s["dtls_mtu"].dump() +
                           ", TLS " + s["tls_mtu"].dump() + ")" +
                           (s.contains("headend_mtu") && s["headend_mtu"].is_number()
                                ? ", the headend's threshold " + s["headend_mtu"].dump()
                                : "");
        if (s.value("mtu_mismatch", false))
            add("warning", line + "; in MTU mismatch: its client applies " + s["client_mtu"].dump(), mismatch_remedy);
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
    // The MTU mismatch, gateway-wide: sessions whose client applies a larger MTU than is enforced
    // now (the seed's TLS fallback under a DTLS-sized client; ocserv's lowered tun), by name.
    std::vector<std::string> mismatched;
    for (const auto &s : sessions["sessions"])
        if (s.value("mtu_mismatch", false))
            mismatched.push_back(s["address"].get<std::string>() + owner(s) + ": client " + s["client_mtu"].dump() +
                                 ", enforced " + s["effective_mtu"].dump() + " (" + s["transport"].get<std::string>() +
                                 ")" + (s.value("oversize_packets", uint64_t(0))
                                            ? ", " + s["oversize_packets"].dump() + " oversize packets"
                                            : ""));
    if (!mismatched.empty() && !session)
        add("warning", std::to_string(mismatched.size()) + " session(s) in MTU mismatch, their clients applying a larger "
                           "MTU than the gateway enforces: " + list(mismatched),
            mismatch_remedy);
    diagnose_tracking(tracking, add);
    diagnose_early_reconnects(tracking, add);
    const bool clean = findings.empty();
    if (!session)
        diagnose_hashed(status, sessions, add); // information only: not "wrong"
    if (clean)
        add("ok", "nothing looks wrong: programs attached, no ICMP error withheld or lost, no silent drops", "");
    return findings;
}

} // namespace mtuguard::ctl
