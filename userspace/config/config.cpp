#include "config/config.hpp"
#include "config/ocserv_conf.hpp"
#include "config/options.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace mtuguard {
namespace {

void validate_listen(const std::string &option, const std::string &listen)
{
    auto colon = listen.rfind(':');
    std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
    std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    try {
        Prefix address = parse_address(host);
        if (!address.ipv4 && listen.front() != '[')
            throw std::invalid_argument("write an IPv6 address as [ADDR]:PORT");
        parse_number("port", port, 1, 65535);
    } catch (const std::invalid_argument &e) {
        throw UsageError(option + " " + listen + ": expected HOST:PORT (" + e.what() + ")");
    }
}

RateLimit parse_rate(const std::string &rate_option, const std::string &rate,
                     const std::string &burst_option, const std::string &burst)
{
    RateLimit limit;
    limit.rate = parse_number("--" + rate_option, rate, 0, 10'000'000);
    limit.burst = parse_number("--" + burst_option, burst, 1, 1'000'000);
    return limit;
}

void validate_sessions(const std::vector<SessionSpec> &sessions)
{
    std::set<std::string> seen;
    for (const auto &spec : sessions) {
        if (!seen.insert(spec.prefix.to_string()).second)
            throw UsageError("--session " + spec.prefix.to_string() + ": given twice");
    }
}

bool has_client_pool(const Config &config, bool ipv4)
{
    return std::any_of(config.client_pools.begin(), config.client_pools.end(),
                       [&](const Prefix &pool) { return pool.ipv4 == ipv4; });
}

// Addresses in a pool prefix; an IPv6 prefix of /64 or shorter, far beyond any client pool, as
// the largest count there is (a shift by 64 bits or more is undefined).
uint64_t pool_size(const Prefix &pool)
{
    const int bits = (pool.ipv4 ? 32 : 128) - pool.length;
    return bits >= 64 ? UINT64_MAX : uint64_t(1) << bits;
}

// Why `pool` cannot join the client pools `chosen`, or "" when it can: a family holds at most
// MG_MAX_CLIENT_POOLS pools of at most MG_MAX_CLIENT_POOL addresses, apart, and
// MG_MAX_CLIENT_POOL_SLOTS addresses together (their slots are allocated whole).
std::string pool_conflict(const std::vector<Prefix> &chosen, const Prefix &pool)
{
    if (!fits_client_pool(pool))
        return "larger than 2^20 addresses (IPv4 /12, IPv6 /108 at most)";
    uint64_t total = pool_size(pool);
    unsigned count = 1;
    for (const Prefix &other : chosen) {
        if (other.ipv4 != pool.ipv4)
            continue;
        if (other.covers(pool) || pool.covers(other))
            return "overlaps the client pool " + other.to_string() + ": give only the larger, it holds both";
        total += pool_size(other);
        ++count;
    }
    if (count > MG_MAX_CLIENT_POOLS)
        return "more than " + std::to_string(MG_MAX_CLIENT_POOLS) +
               " client pools of one family: give fewer, larger pools (sessions outside them are hashed)";
    if (total > MG_MAX_CLIENT_POOL_SLOTS)
        return "the family's client pools would hold more than 2^22 addresses together: give smaller pools "
               "(sessions outside them are hashed)";
    return "";
}

// With --ocserv, ocserv's own pools (ocserv_conf.hpp): those of its configuration and of each
// group's file under its config-per-group directory.
std::vector<Prefix> ocserv_pools(const Config &config)
{
    const bool named = !config.ocserv_config.empty();
    const std::string path = named ? config.ocserv_config : "/etc/ocserv/ocserv.conf";
    std::ifstream file(path);
    if (!file) {
        if (named)
            throw UsageError("--ocserv-config " + path + ": cannot open");
        return {}; // ocserv elsewhere, or its file not readable here: the hash serves
    }
    auto read = [](const std::string &name, std::istream &in) {
        try {
            return parse_ocserv_pools(in);
        } catch (const std::invalid_argument &e) {
            throw UsageError("--ocserv-config " + name + ": " + e.what() + " (or name the pool with --client-pool)");
        }
    };
    const OcservPools main = read(path, file);
    std::vector<Prefix> out;
    for (const auto &pool : {main.ipv4, main.ipv6})
        if (pool)
            out.push_back(*pool);
    for (const std::string &group : ocserv_group_files(main)) {
        std::ifstream group_file(group);
        if (!group_file)
            throw UsageError("--ocserv-config " + path + ": its group file " + group + " cannot be opened");
        const OcservPools pools = read(group, group_file);
        for (const auto &pool : {pools.ipv4, pools.ipv6})
            if (pool)
                out.push_back(*pool);
    }
    return out;
}

// A family without --client-pool takes its pool prefixes (--session ADDR/PREFIX) and, with
// --ocserv, ocserv's pools, largest first, each that can join those taken (pool_conflict: one
// inside another is already covered): a VPN hands its clients addresses from its pools, and a
// session there is then found by the address's offset instead of by a hash, the cheaper lookup
// on every packet.
void default_client_pools(Config &config)
{
    const bool explicit4 = has_client_pool(config, true), explicit6 = has_client_pool(config, false);
    if (explicit4 && explicit6)
        return;
    std::vector<Prefix> candidates;
    for (const auto &spec : config.sessions)
        if (!spec.prefix.is_host())
            candidates.push_back(spec.prefix);
    if (config.ocserv)
        for (const Prefix &pool : ocserv_pools(config))
            candidates.push_back(pool);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Prefix &a, const Prefix &b) { return pool_size(a) > pool_size(b); });
    for (const Prefix &pool : candidates)
        if (!(pool.ipv4 ? explicit4 : explicit6) && pool_conflict(config.client_pools, pool).empty())
            config.client_pools.push_back(pool);
}

// Seconds with up to three decimals ("2", "0.5"), as milliseconds in [min_ms, max_ms].
std::chrono::milliseconds parse_seconds(const std::string &option, const std::string &text, uint64_t min_ms, uint64_t max_ms)
{
    auto dot = text.find('.');
    std::string whole = text.substr(0, dot), fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    try {
        if (whole.empty() || fraction.size() > 3 || (dot != std::string::npos && fraction.empty()))
            throw std::invalid_argument("expected seconds such as 5 or 0.5");
        uint64_t ms = parse_number("seconds", whole, 0, max_ms / 1000) * 1000;
        if (!fraction.empty())
            ms += parse_number("fraction", fraction, 0, 999) * (fraction.size() == 1 ? 100 : fraction.size() == 2 ? 10 : 1);
        if (ms < min_ms || ms > max_ms)
            throw std::invalid_argument("out of range " + std::to_string(min_ms / 1000.0).substr(0, 5) + "-" +
                                        std::to_string(max_ms / 1000));
        return std::chrono::milliseconds(ms);
    } catch (const std::invalid_argument &e) {
        throw UsageError("--" + option + " " + text + ": " + e.what());
    }
}

bool parse_on_off(const std::string &option, const std::string &value)
{
    if (value != "on" && value != "off")
        throw UsageError("--" + option + " " + value + ": expected on or off");
    return value == "on";
}

void parse_tracking(RawOptions &raw, Config &config)
{
    auto &scalars = raw.scalars;
    auto number = [&](const char *option, uint64_t min, uint64_t max) {
        try {
            return parse_number(std::string("--") + option, scalars[option], min, max);
        } catch (const std::invalid_argument &e) {
            throw UsageError(e.what());
        }
    };
    for (const auto &iface : raw.outside_ifaces) {
        if (iface.empty() || iface.size() >= 16)
            throw UsageError("--outside-iface '" + iface + "': not a valid interface name");
        // tc, not XDP: an --iface may be observed too, but naming one twice is a mistake.
        if (std::count(raw.outside_ifaces.begin(), raw.outside_ifaces.end(), iface) > 1)
            throw UsageError("--outside-iface " + iface + ": given twice");
    }
    config.outside_ifaces = raw.outside_ifaces;
    config.tls_port = uint16_t(number("tls-port", 1, 65535));
    config.dtls_port = uint16_t(number("dtls-port", 1, 65535));
    config.dtls_idle_timeout = parse_seconds("dtls-idle-timeout", scalars["dtls-idle-timeout"], 1000, 3'600'000);
    config.transport_tracking = parse_on_off("transport-tracking", scalars["transport-tracking"]);
    config.storm_reconnects = unsigned(number("storm-reconnects", 2, 1000));
    config.storm_window = std::chrono::seconds(number("storm-window", 10, 86400));
    config.early_reconnect = std::chrono::seconds(number("early-reconnect", 1, 86400));

    config.ocserv = raw.ocserv;
    config.occtl = scalars["occtl"];
    if (config.occtl.empty() || config.occtl.front() != '/')
        throw UsageError("--occtl " + config.occtl + ": must be an absolute path");
    config.occtl_socket = scalars["occtl-socket"];
    config.ocserv_config = scalars["ocserv-config"];
    config.ocserv_interval = parse_seconds("ocserv-interval", scalars["ocserv-interval"], 100, 3'600'000);
    config.occtl_timeout = parse_seconds("occtl-timeout", scalars["occtl-timeout"], 100, 600'000);

    config.syslog_listen = scalars["syslog-listen"];
    if (!config.syslog_listen.empty())
        validate_listen("--syslog-listen", config.syslog_listen);
    for (const auto &text : raw.asa_groups) {
        auto comma = text.find(',');
        const std::string group = text.substr(0, comma);
        if (group.empty() || comma == std::string::npos)
            throw UsageError("--asa-group " + text + ": expected GROUP,dtls-mtu=N,tls-mtu=N (or GROUP,cipher=C...)");
        SessionSpec spec;
        try {
            spec = parse_session_parameters(text.substr(comma + 1));
        } catch (const std::invalid_argument &e) {
            throw UsageError("--asa-group " + text + ": " + e.what());
        }
        if (!config.asa_groups.emplace(group, spec).second)
            throw UsageError("--asa-group " + group + ": given twice");
    }
    if (!config.asa_groups.empty() && config.syslog_listen.empty())
        throw UsageError("--asa-group: goes with --syslog-listen (ASA sessions come from its syslog)");
}

// A parser's std::invalid_argument as the usage error of `--option value`.
template <class Parse> auto wrap(const std::string &option, const std::string &value, Parse &&parse)
{
    try {
        return parse();
    } catch (const std::invalid_argument &e) {
        throw UsageError("--" + option + " " + value + ": " + e.what());
    }
}

// --iface and --client-iface: valid names, each once, at most as many as there are counter slots.
void parse_interfaces(const RawOptions &raw, Config &config)
{
    config.ifaces = raw.ifaces;
    config.client_ifaces = raw.client_ifaces;
    if (config.ifaces.empty())
        throw UsageError("--iface: at least one interface is required");
    std::set<std::string> unique_ifaces;
    for (const auto *list : {&config.ifaces, &config.client_ifaces}) {
        const char *option = list == &config.ifaces ? "--iface" : "--client-iface";
        for (const auto &iface : *list) {
            if (iface.empty() || iface.size() >= 16)
                throw UsageError(std::string(option) + " '" + iface + "': not a valid interface name");
            if (!unique_ifaces.insert(iface).second)
                throw UsageError(std::string(option) + " " + iface + ": given twice (as --iface or --client-iface)");
        }
    }
    if (unique_ifaces.size() > MG_MAX_IFACES - 1)
        throw UsageError("--iface, --client-iface: at most " + std::to_string(MG_MAX_IFACES - 1) + " interfaces");
}

// What is enforced and how: --mss-clamp, --xdp-mode, the sessions, --max-sessions,
// --on-oversize and the ICMP rate limits.
void parse_enforcement(RawOptions &raw, Config &config)
{
    auto &scalars = raw.scalars;
    const std::string &mss = scalars["mss-clamp"];
    if (mss != "on" && mss != "off")
        throw UsageError("--mss-clamp " + mss + ": expected on or off");
    config.mss_clamp = mss == "on";

    const std::string &mode = scalars["xdp-mode"];
    if (mode == "auto")
        config.xdp_mode = XdpMode::Auto;
    else if (mode == "native")
        config.xdp_mode = XdpMode::Native;
    else if (mode == "generic")
        config.xdp_mode = XdpMode::Generic;
    else
        throw UsageError("--xdp-mode " + mode + ": expected auto, native or generic");

    for (const auto &text : raw.sessions)
        config.sessions.push_back(wrap("session", text, [&] { return parse_session_spec(text); }));
    validate_sessions(config.sessions);

    try {
        config.max_sessions = parse_number("--max-sessions", scalars["max-sessions"], 1, 4'194'304);
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
    size_t exact = 0;
    for (const auto &spec : config.sessions)
        exact += spec.prefix.is_host();
    if (exact > config.max_sessions)
        throw UsageError("--max-sessions " + std::to_string(config.max_sessions) + ": " +
                         std::to_string(exact) + " sessions are configured");
    if (config.sessions.size() - exact > MG_MAX_POOLS)
        throw UsageError("--session: at most " + std::to_string(MG_MAX_POOLS) + " pool prefixes");

    const std::string &action = scalars["on-oversize"];
    bool known = false;
    for (int a = 0; a < MG_ACTION_COUNT; ++a) {
        if (action == action_name(static_cast<mg_action>(a))) {
            config.on_oversize = static_cast<mg_action>(a);
            known = true;
        }
    }
    if (!known)
        throw UsageError("--on-oversize " + action + ": expected icmp, drop, clear-df or monitor");

    try {
        config.icmp_global = parse_rate("icmp-rate", scalars["icmp-rate"], "icmp-burst",
                                        scalars["icmp-burst"]);
        config.icmp_per_source =
            parse_rate("icmp-rate-per-source", scalars["icmp-rate-per-source"],
                       "icmp-burst-per-source", scalars["icmp-burst-per-source"]);
    } catch (const std::invalid_argument &e) {
        throw UsageError(e.what());
    }
}

// --client-pool, --icmp-source, --keep-attached, the paths and --metrics-listen. Returns true
// for --client-pool off: no client pool, not even a default one.
bool parse_addresses(RawOptions &raw, Config &config)
{
    const auto &client_pools = raw.client_pools;
    const bool pools_off = client_pools.size() == 1 && client_pools[0] == "off";
    for (const auto &text : pools_off ? std::vector<std::string>{} : client_pools) {
        if (text == "off")
            throw UsageError("--client-pool off: given with pools; it goes alone");
        Prefix pool = wrap("client-pool", text, [&] { return parse_prefix(text); });
        if (const std::string why = pool_conflict(config.client_pools, pool); !why.empty())
            throw UsageError("--client-pool " + text + ": " + why);
        config.client_pools.push_back(pool);
    }

    for (const auto &text : raw.icmp_sources) {
        Prefix address = wrap("icmp-source", text, [&] { return parse_address(text); });
        auto &slot = address.ipv4 ? config.icmp_source4 : config.icmp_source6;
        if (slot)
            throw UsageError("--icmp-source " + text + ": one address per family");
        slot = address;
    }

    config.keep_attached = raw.keep_attached;
    for (const char *option : {"control-socket", "pin-path"}) {
        const std::string &path = raw.scalars[option];
        if (!path.empty() && path.front() != '/')
            throw UsageError(std::string("--") + option + " " + path + ": must be an absolute path");
    }
    config.control_socket = raw.scalars["control-socket"];
    config.pin_path = raw.scalars["pin-path"];
    while (config.pin_path.size() > 1 && config.pin_path.back() == '/')
        config.pin_path.pop_back();

    config.metrics_listen = raw.scalars["metrics-listen"];
    if (!config.metrics_listen.empty())
        validate_listen("--metrics-listen", config.metrics_listen);
    return pools_off;
}

} // namespace

bool fits_client_pool(const Prefix &pool)
{
    const unsigned host_bits = (pool.ipv4 ? 32 : 128) - pool.length;
    return host_bits < 32 && (1u << host_bits) <= MG_MAX_CLIENT_POOL;
}

const char *action_name(mg_action action)
{
    switch (action) {
    case MG_ACTION_ICMP: return "icmp";
    case MG_ACTION_DROP: return "drop";
    case MG_ACTION_CLEAR_DF: return "clear-df";
    case MG_ACTION_MONITOR: return "monitor";
    default: return "?";
    }
}

const char *xdp_mode_name(XdpMode mode)
{
    switch (mode) {
    case XdpMode::Native: return "native";
    case XdpMode::Generic: return "generic";
    default: return "auto";
    }
}

CommandLine parse_command_line(int argc, const char *const argv[])
{
    RawOptions raw;
    po::options_description options = make_options(raw);
    CommandLine result;
    po::variables_map vm;

    bool written_with_percent = false;
    for (int i = 1; i < argc; ++i)
        written_with_percent |= std::strchr(argv[i], '%') != nullptr;
    try {
        po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
        if (vm.count("config")) {
            const std::string path = vm["config"].as<std::string>();
            std::ifstream file(path);
            if (!file)
                throw UsageError("--config " + path + ": cannot open");
            std::stringstream text;
            text << file.rdbuf();
            written_with_percent |= text.str().find('%') != std::string::npos;
            // Stored after the command line: program_options keeps the first value, so the
            // command line wins, and a list given there replaces the file's list.
            po::store(po::parse_config_file(text, options), vm);
        }
        po::notify(vm);
    } catch (const po::error &e) {
        throw UsageError(error_message(e, written_with_percent));
    }

    result.help_text = help_text(options);
    result.help = vm.count("help");
    result.version = vm.count("version");
    result.check_config = vm.count("check-config");
    if (result.help || result.version)
        return result;

    Config &config = result.config;
    parse_interfaces(raw, config);
    parse_enforcement(raw, config);
    const bool pools_off = parse_addresses(raw, config);
    parse_tracking(raw, config);
    if (!pools_off)
        default_client_pools(config);
    return result;
}

} // namespace mtuguard
