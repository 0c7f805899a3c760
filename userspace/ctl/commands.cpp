#include "ctl/commands.hpp"

#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/mtu_calc.hpp"
#include "common/session_spec.hpp"
#include "ctl/client.hpp"
#include "ctl/diagnose.hpp"
#include "ctl/printers.hpp"
#include "kernel/pins.hpp"

namespace mtuguard::ctl {
namespace {

using nlohmann::json;

int mtu_calc(const Invocation &in, Client &)
{
    in.expect_words(0, 0);
    MtuRequest request;
    request.cipher = in.args.get("cipher").value_or("");
    if (request.cipher.empty())
        throw Usage("mtu-calc needs --cipher (one of: " + [] {
            std::string all;
            for (const auto &c : cipher_names())
                all += (all.empty() ? "" : ", ") + c;
            return all;
        }() + ")");
    if (auto v = in.args.get("link-mtu"))
        request.link_mtu = number("link-mtu", *v, 1, 65535);
    if (auto v = in.args.get("tcp-mss"))
        request.tcp_mss = number("tcp-mss", *v, 1, 65535);
    request.tls_version = in.args.get("tls-version").value_or("1.2");
    request.dtls_version = in.args.get("dtls-version").value_or("1.2");
    std::string outer = in.args.get("outer").value_or("ipv4"), padding = in.args.get("padding").value_or("conservative");
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
    if (in.as_json)
        std::cout << to_json(result).dump(2) << "\n";
    else
        std::cout << format_result(result);
    return exit_ok;
}

int session_add(const Invocation &in, Client &client)
{
    std::vector<std::string> specs;
    if (auto file = in.args.get("file")) {
        in.expect_words(0, 0);
        if (in.args.options.size() > 1)
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
        in.expect_words(1, 1);
        std::string spec = in.args.words[0];
        for (const char *key : {"dtls-mtu", "tls-mtu", "transport", "mss-clamp", "cipher", "padding", "public", "user",
                                "group"})
            if (auto v = in.args.get(key))
                spec += std::string(",") + key + "=" + *v;
        if (auto v = in.args.get("base-mtu"))
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
    if (in.as_json)
        std::cout << json{{"ok", true}, {"added", specs.size()}}.dump(2) << "\n";
    else
        std::cout << (specs.size() == 1 ? (reply.value("replaced", 0) ? "replaced " : "added ") + specs[0]
                                        : "added " + std::to_string(specs.size()) + " sessions")
                  << "\n";
    return exit_ok;
}

int session_del(const Invocation &in, Client &client)
{
    in.expect_words(1, 1);
    client.call({{"command", "session.del"}, {"address", in.args.words[0]}});
    if (in.as_json)
        std::cout << json{{"ok", true}, {"deleted", in.args.words[0]}}.dump(2) << "\n";
    else
        std::cout << "deleted " << in.args.words[0] << "\n";
    return exit_ok;
}

int session_transport(const Invocation &in, Client &client)
{
    in.expect_words(2, 2);
    if (in.args.words[1] != "dtls" && in.args.words[1] != "tls")
        throw Usage("session transport: '" + in.args.words[1] + "' is not dtls or tls");
    client.call({{"command", "session.transport"}, {"address", in.args.words[0]}, {"transport", in.args.words[1]}});
    if (in.as_json)
        std::cout << json{{"ok", true}, {"address", in.args.words[0]}, {"transport", in.args.words[1]}}.dump(2)
                  << "\n";
    else
        std::cout << in.args.words[0] << " now on " << in.args.words[1] << "\n";
    return exit_ok;
}

// The sessions a list shows, picked and ordered on this side: --transport, --oversize, --sort
// and --top apply to what the daemon returned (all of them unless --limit says otherwise).
void select_sessions(const Invocation &in, json &reply)
{
    json &sessions = reply["sessions"];
    const auto transport = in.args.get("transport");
    if (transport && *transport != "dtls" && *transport != "tls")
        throw Usage("--transport " + *transport + ": expected dtls or tls");
    const bool oversize_only = in.args.get("oversize").has_value();
    json kept = json::array();
    for (auto &s : sessions)
        if ((!transport || s["transport"] == *transport) && (!oversize_only || s.value("oversize_packets", 0) > 0))
            kept.push_back(std::move(s));
    if (auto sort = in.args.get("sort")) {
        // Largest first for counts and times (the ones that hurt most, the latest); addresses in order.
        static const std::map<std::string, std::string> fields = {
            {"oversize", "oversize_packets"}, {"icmp", "icmp_sent"}, {"last", "last_oversize"}, {"address", ""}};
        auto field = fields.find(*sort);
        if (field == fields.end())
            throw Usage("--sort " + *sort + ": expected oversize, icmp, last or address");
        const std::string key = field->second;
        std::stable_sort(kept.begin(), kept.end(), [&](const json &a, const json &b) {
            if (key.empty())
                return a["address"].get<std::string>() < b["address"].get<std::string>();
            const json &x = a.contains(key) ? a[key] : json(nullptr), &y = b.contains(key) ? b[key] : json(nullptr);
            if (x.is_null() || y.is_null())
                return !x.is_null() && y.is_null(); // unknown last
            return x > y; // counts by value, ISO 8601 UTC times by their text: both in time order
        });
    }
    if (auto top = in.args.get("top"); top && kept.size() > number("top", *top, 1, 100'000'000))
        kept.erase(kept.begin() + number("top", *top, 1, 100'000'000), kept.end());
    sessions = std::move(kept);
}

int session_list(const Invocation &in, Client &client)
{
    in.expect_words(0, 1);
    json request = {{"command", "session.list"}};
    if (!in.args.words.empty())
        request["address"] = in.args.words[0];
    const bool selecting = in.args.get("sort") || in.args.get("top") || in.args.get("transport") || in.args.get("oversize");
    if (auto limit = in.args.get("limit"))
        request["limit"] = number("limit", *limit, 1, 100'000'000);
    else if (selecting)
        request["limit"] = 100'000'000; // picking the worst needs every session
    json reply = client.call(request);
    if (selecting)
        select_sessions(in, reply);
    if (in.as_json) {
        std::cout << reply.dump(2) << "\n";
    } else {
        print_sessions(reply);
        if (reply.value("truncated", false))
            std::cout << "(" << reply["sessions"].size() << " of " << reply["total"]
                      << " shown; --limit N for more)\n";
    }
    return exit_ok;
}

int tracking(const Invocation &in, Client &client)
{
    in.expect_words(0, 0);
    json request = {{"command", "tracking"}};
    if (auto limit = in.args.get("limit"))
        request["limit"] = number("limit", *limit, 1, 100'000'000);
    json reply = client.call(request);
    if (in.as_json)
        std::cout << reply.dump(2) << "\n";
    else
        print_tracking(reply);
    return exit_ok;
}

int diagnose_command(const Invocation &in, Client &client)
{
    in.expect_words(0, 1);
    json status = client.call({{"command", "status"}});
    json stats = client.call({{"command", "stats"}});
    json tracking = client.call({{"command", "tracking"}, {"limit", 100000}});
    json sessions = client.call({{"command", "session.list"}, {"limit", 100000}});
    std::optional<json> session;
    if (!in.args.words.empty())
        session = client.call({{"command", "session.list"}, {"address", in.args.words[0]}})["sessions"].at(0);
    json findings = diagnose(status, stats, tracking, sessions, session);
    const bool worrying = std::any_of(findings.begin(), findings.end(), [](const json &f) {
        return f["severity"] == "warning" || f["severity"] == "problem";
    });
    if (in.as_json) {
        std::cout << json{{"ok", true}, {"findings", findings}}.dump(2) << "\n";
    } else {
        for (const auto &f : findings)
            std::cout << f["severity"].get<std::string>() << ": " << f["finding"].get<std::string>() << "\n"
                      << (f["advice"].get<std::string>().empty() ? "" : "  -> " + f["advice"].get<std::string>() + "\n");
    }
    return worrying ? exit_findings : exit_ok;
}

int show(const Invocation &in, Client &client)
{
    in.expect_words(0, 0);
    json reply = client.call({{"command", in.command}});
    if (in.as_json)
        std::cout << reply.dump(2) << "\n";
    else if (in.command == "stats")
        print_stats(reply);
    else
        print_status(reply);
    return exit_ok;
}

// Without a daemon to ask, the pins go only when none can be running: its socket absent or
// listened on by nobody (ENOENT, ECONNREFUSED), and the pin directory's lock free, which a
// running mtuguardd holds all its life (a wrong --socket still finds it there). Anything else (no
// permission, no answer) may be a live daemon, whose enforcement must not vanish under it:
// refused unless --force.
int remove_orphaned_pins(const Invocation &in, const Failure &unreachable)
{
    const std::string pin_path = in.args.get("pin-path").value_or("/sys/fs/bpf/mtuguard");
    const bool force = in.args.get("force").has_value();
    if (!force && unreachable.unreachable != ENOENT && unreachable.unreachable != ECONNREFUSED)
        throw Failure(std::string(unreachable.what()) + "; not removing the pins under " + pin_path +
                      " while mtuguardd may be running (--force removes them anyway)");
    std::optional<PinDirLock> lock;
    if (exists(pin_path)) {
        try {
            lock.emplace(pin_path);
        } catch (const std::system_error &e) {
            throw Failure(e.what());
        } catch (const std::runtime_error &) { // held: a daemon runs
            if (!force)
                throw Failure(std::string(unreachable.what()) + "; nothing removed: a running mtuguardd holds " +
                              pin_path + " (name its control socket, or --force removes the pins anyway)");
        }
    }
    const int removed = remove_pins(pin_path);
    if (in.as_json)
        std::cout << json{{"ok", true}, {"daemon", false}, {"removed", removed}, {"pin_path", pin_path}}.dump(2)
                  << "\n";
    else
        std::cout << "no mtuguardd running; removed " << removed << " pinned object(s) under " << pin_path << "\n";
    return exit_ok;
}

int detach(const Invocation &in, Client &client)
{
    in.expect_words(0, 0);
    try {
        client.call({{"command", "detach"}});
    } catch (const Failure &e) {
        if (!e.unreachable)
            throw; // the daemon answered and refused: its message says why
        return remove_orphaned_pins(in, e);
    }
    // The daemon removes its socket last, after detaching everything.
    for (int waited = 0; access(in.socket_path.c_str(), F_OK) == 0 && waited < 100; ++waited)
        usleep(100000);
    if (in.as_json)
        std::cout << json{{"ok", true}, {"daemon", true}}.dump(2) << "\n";
    else
        std::cout << "detached: mtuguardd removed its programs and pinned state and stopped\n";
    return exit_ok;
}

} // namespace

int run_command(const Invocation &in)
{
    using Command = int (*)(const Invocation &, Client &);
    static const std::map<std::string, Command> commands = {
        {"mtu-calc", mtu_calc},       {"session add", session_add},       {"session del", session_del},
        {"session transport", session_transport}, {"session list", session_list}, {"tracking", tracking},
        {"diagnose", diagnose_command}, {"stats", show},                  {"status", show},
        {"detach", detach},
    };
    Client client(in.socket_path);
    return commands.at(in.command)(in, client);
}

} // namespace mtuguard::ctl
