// The daemon's settings, declared once (options.cpp) for the command line and the INI config
// file alike. The rest of the daemon sees only this plain struct, never program_options.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/address.hpp"
#include "mtuguard_kern_user.h"
#include "common/session_spec.hpp"

namespace mtuguard {

enum class XdpMode { Auto, Native, Generic };

struct RateLimit {
    uint64_t rate = 0;  // per second; 0 = unlimited
    uint64_t burst = 0;
};

struct Config {
    std::vector<std::string> ifaces;        // toward clients: MTU enforced
    std::vector<std::string> client_ifaces; // from clients: SYN MSS clamped
    XdpMode xdp_mode = XdpMode::Auto;
    bool mss_clamp = true;
    std::vector<SessionSpec> sessions;
    uint32_t max_sessions = 65536;
    std::vector<Prefix> client_pools; // at most one per family
    mg_action on_oversize = MG_ACTION_ICMP;
    RateLimit icmp_global{1000, 200};
    RateLimit icmp_per_source{100, 20};
    std::optional<Prefix> icmp_source4;
    std::optional<Prefix> icmp_source6;
    std::string metrics_listen = "127.0.0.1:9784"; // empty: no /metrics
    std::string control_socket = "/run/mtuguard/control.sock"; // empty: no control socket
    std::string pin_path = "/sys/fs/bpf/mtuguard";             // empty: nothing pinned
    bool keep_attached = false; // on stop, leave programs and state pinned and enforcing

    // Transport tracking and reconnects (observation on the client-facing side).
    std::vector<std::string> outside_ifaces;
    uint16_t tls_port = 443;
    uint16_t dtls_port = 443;
    std::chrono::milliseconds dtls_idle_timeout{10000};
    bool transport_tracking = true;
    unsigned storm_reconnects = 5;
    std::chrono::seconds storm_window{300};
    std::chrono::seconds early_reconnect{120};

    // Session sources besides the static ones and mtuguardctl.
    bool ocserv = false;
    std::string occtl = "/usr/bin/occtl";
    std::string occtl_socket; // occtl --socket-file; empty: occtl's default
    std::string ocserv_config; // read for the default client pools; empty: ocserv's default path
    std::chrono::milliseconds ocserv_interval{1000};
    std::chrono::milliseconds occtl_timeout{5000};
    std::string syslog_listen; // ADDR:PORT, UDP and TCP; empty: none
    // ASA sessions' MTUs by group policy; "*" for every group without its own entry.
    std::map<std::string, SessionSpec> asa_groups;
};

// A bad option, value or config file: the message names it; the daemon exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct CommandLine {
    Config config;
    bool help = false;
    bool version = false;
    bool check_config = false; // validate and describe, then exit
    std::string help_text;
};

// Parses argv (and the --config file it names). Throws UsageError.
CommandLine parse_command_line(int argc, const char *const argv[]);

// A client pool's slots are allocated whole: MG_MAX_CLIENT_POOL addresses at most.
bool fits_client_pool(const Prefix &pool);

const char *action_name(mg_action action);
const char *xdp_mode_name(XdpMode mode);

} // namespace mtuguard
