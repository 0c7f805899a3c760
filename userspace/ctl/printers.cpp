#include "ctl/printers.hpp"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>

namespace mtuguard::ctl {

using nlohmann::json;

std::string format_time(const json &iso)
{
    if (!iso.is_string())
        return "-";
    std::tm utc{};
    const std::string text = iso.get<std::string>();
    if (!strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &utc))
        return text;
    const std::time_t t = timegm(&utc);
    std::tm local{};
    localtime_r(&t, &local);
    char out[48];
    std::strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S %Z", &local);
    return out;
}

void print_sessions(const json &reply)
{
    // As wide as the longest address (an IPv6 pool with its prefix takes up to 43 characters) and
    // the longest user name.
    size_t width = 7, user_width = 4;
    bool mismatch = false;
    auto text = [](const json &s, const char *key) {
        return s.contains(key) && s[key].is_string() ? s[key].get<std::string>() : std::string("-");
    };
    for (const auto &s : reply["sessions"]) {
        width = std::max(width, s["address"].get<std::string>().size());
        user_width = std::max(user_width, text(s, "user").size());
        mismatch = mismatch || s.value("mtu_mismatch", false);
    }
    width += 2;
    user_width += 2;
    std::cout << std::left << std::setw(int(width)) << "ADDRESS" << std::setw(int(user_width)) << "USER" << std::setw(8)
              << "KIND" << std::setw(10) << "TRANSPORT" << std::setw(7) << "DTLS" << std::setw(7) << "TLS"
              << std::setw(10) << "EFFECTIVE" << std::setw(8) << "CLIENT" << std::setw(9) << "HEADEND" << std::setw(12)
              << "SOURCE" << std::setw(10) << "OVERSIZE" << std::setw(10) << "ICMP" << "LAST OVERSIZE\n";
    for (const auto &s : reply["sessions"]) {
        const std::string client = s.contains("client_mtu")
                                       ? std::to_string(s["client_mtu"].get<int>()) + (s.value("mtu_mismatch", false) ? "*" : "")
                                       : "-";
        const std::string headend = s.contains("headend_mtu") && s["headend_mtu"].is_number()
                                        ? std::to_string(s["headend_mtu"].get<int>())
                                        : "-";
        std::cout << std::setw(int(width)) << s["address"].get<std::string>() << std::setw(int(user_width))
                  << text(s, "user") << std::setw(8) << s["kind"].get<std::string>() << std::setw(10)
                  << s["transport"].get<std::string>() << std::setw(7) << s["dtls_mtu"].get<int>() << std::setw(7)
                  << s["tls_mtu"].get<int>() << std::setw(10) << s["effective_mtu"].get<int>() << std::setw(8) << client
                  << std::setw(9) << headend << std::setw(12) << s["source"].get<std::string>();
        if (s.contains("oversize_packets"))
            std::cout << std::setw(10) << s["oversize_packets"].get<uint64_t>() << std::setw(10)
                      << s["icmp_sent"].get<uint64_t>() << format_time(s["last_oversize"]);
        else
            std::cout << std::setw(10) << "-" << std::setw(10) << "-" << "-";
        std::cout << "\n";
    }
    if (mismatch)
        std::cout << "* MTU mismatch: the client applies a larger MTU than the gateway enforces now "
                     "(mtuguardctl diagnose says what to do)\n";
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
        // The driver's count of those errors it failed to send; absent from older daemons' answers.
        if (iface.contains("icmp_tx_errors") && !iface["icmp_tx_errors"].is_null())
            std::cout << "  " << std::left << std::setw(28) << "icmp_tx_errors" << std::right << std::setw(14)
                      << iface["icmp_tx_errors"].get<uint64_t>() << "  ICMP errors the driver dropped (XDP_TX)\n";
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
    std::cout << "reconnects " << reply["reconnects"];
    if (reply.contains("early_reconnects"))
        std::cout << ", early " << reply["early_reconnects"] << " (within " << reply["early_reconnect_seconds"]
                  << " s of the start) of " << reply["connections"] << " connections";
    std::cout << ", sessions in storm " << reply["sessions_in_storm"] << ", periodic "
              << reply["periodic_reconnect_sessions"] << "\n";
    if (reply["sessions"].empty())
        return;
    size_t address = 7, client = 6, user = 4;
    auto user_of = [](const json &s) {
        return s.contains("user") && s["user"].is_string() ? s["user"].get<std::string>() : std::string("-");
    };
    for (const auto &s : reply["sessions"]) {
        address = std::max(address, s["address"].get<std::string>().size());
        client = std::max(client, s["public_address"].get<std::string>().size());
        user = std::max(user, user_of(s).size());
    }
    auto count = [](const json &c, const char *key) { return c.is_null() ? std::string("-") : c[key].dump(); };
    std::cout << std::left << std::setw(int(address + 2)) << "ADDRESS" << std::setw(int(user + 2)) << "USER"
              << std::setw(int(client + 2)) << "CLIENT" << std::setw(12) << "SOURCE" << std::setw(10) << "OBSERVED" << std::setw(12) << "RECONNECTS"
              << std::setw(7) << "EARLY"
              << std::setw(18) << "FLAGS" << std::setw(10) << "TLS SYNS" << std::setw(10) << "DTLS IN" << std::setw(10)
              << "DTLS OUT" << std::setw(8) << "HELLOS" << "OTHER UDP\n";
    for (const auto &s : reply["sessions"]) {
        const json client_counts = s.contains("client") ? s["client"] : json(nullptr);
        std::string flags = std::string(s["storm"].get<bool>() ? "STORM " : "") + (s["periodic"].get<bool>() ? "PERIODIC" : "");
        std::cout << std::setw(int(address + 2)) << s["address"].get<std::string>() << std::setw(int(user + 2))
                  << user_of(s) << std::setw(int(client + 2)) << s["public_address"].get<std::string>() << std::setw(12) << s["source"].get<std::string>()
                  << std::setw(10)
                  << (s["observed_transport"].is_null() ? "-" : s["observed_transport"].get<std::string>())
                  << std::setw(12) << s["reconnects"].dump() << std::setw(7)
                  << (s.contains("early_reconnects") ? s["early_reconnects"].dump() : "-") << std::setw(18) << (flags.empty() ? "-" : flags)
                  << std::setw(10) << count(client_counts, "tls_syns") << std::setw(10) << count(client_counts, "dtls_in")
                  << std::setw(10) << count(client_counts, "dtls_out") << std::setw(8)
                  << count(client_counts, "dtls_client_hellos") << count(client_counts, "other_udp") << "\n";
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
    for (const auto &p : s.value("client_pools", json::array()))
        std::cout << "client pool " << p["prefix"].get<std::string>() << ": " << p["sessions"] << " session(s) in "
                  << p["addresses"] << " addresses\n";
    for (const auto &i : s["interfaces"])
        std::cout << "interface   " << i["name"].get<std::string>() << " (ifindex " << i["ifindex"] << ", mtu "
                  << i["mtu"] << "): " << (i["attached"].get<bool>() ? "attached" : "NOT attached") << ", "
                  << i["mode"].get<std::string>() << " mode, program id " << i["program_id"] << "; MSS clamp in tc: "
                  << i.value("mss_clamp", std::string("none"))
                  << (i.contains("icmp_tx_errors") && !i["icmp_tx_errors"].is_null()
                          ? ", " + i["icmp_tx_errors"].dump() + " ICMP errors dropped by the driver"
                          : "")
                  << "\n";
}

} // namespace mtuguard::ctl
