#include "ctl/printers.hpp"

#include <ctime>
#include <iomanip>
#include <iostream>

namespace mtuguard::ctl {

using nlohmann::json;

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
                  << i["mode"].get<std::string>() << " mode, program id " << i["program_id"] << "; MSS clamp in tc: "
                  << i.value("mss_clamp", std::string("none")) << "\n";
}

} // namespace mtuguard::ctl
