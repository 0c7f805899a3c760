#include "daemon/control_protocol.hpp"

#include <malloc.h>

#include <set>

#include <nlohmann/json.hpp>

#include "daemon/control_views.hpp"

namespace mtuguard {
namespace {

using nlohmann::json;

constexpr uint64_t default_list_limit = 10000;

struct BadRequest : std::runtime_error {
    BadRequest(ControlResult result, const std::string &message) : std::runtime_error(message), result(result) {}
    ControlResult result;
};

std::string failure(Agent &agent, ControlResult result, const std::string &message)
{
    agent.count_request(result);
    return json{{"ok", false}, {"error", control_result_names[size_t(result)]}, {"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Fields a command takes; anything else is an error rather than silently ignored.
void expect_fields(const json &request, const std::string &command, std::set<std::string> allowed)
{
    allowed.insert("command");
    for (const auto &[key, _] : request.items())
        if (!allowed.count(key))
            throw BadRequest(ControlResult::BadRequest, "unknown field '" + key + "' for " + command);
}

std::string string_field(const json &request, const char *name)
{
    auto it = request.find(name);
    if (it == request.end() || !it->is_string())
        throw BadRequest(ControlResult::BadRequest, std::string("'") + name + "' must be a string");
    return it->get<std::string>();
}

Prefix prefix_field(const json &request)
{
    try {
        return parse_prefix(string_field(request, "address"));
    } catch (const std::invalid_argument &e) {
        throw BadRequest(ControlResult::BadRequest, std::string("address: ") + e.what());
    }
}

uint64_t limit_field(const json &request)
{
    auto it = request.find("limit");
    if (it == request.end())
        return default_list_limit;
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0)
        throw BadRequest(ControlResult::BadRequest, "'limit' must be a positive whole number");
    return it->get<uint64_t>();
}

json run(Agent &agent, const json &request, bool &stop)
{
    if (!request.is_object())
        throw BadRequest(ControlResult::BadRequest, "a request is a JSON object");
    const std::string command = string_field(request, "command");

    if (command == "session.add") {
        expect_fields(request, command, {"sessions"});
        auto it = request.find("sessions");
        if (it == request.end() || !it->is_array() || it->empty())
            throw BadRequest(ControlResult::BadRequest, "'sessions' must be a non-empty array of session specs");
        std::vector<SessionSpec> specs;
        for (const auto &item : *it) {
            if (!item.is_string())
                throw BadRequest(ControlResult::BadRequest, "each session is a string ADDR,dtls-mtu=N,tls-mtu=N[,transport=T]");
            try {
                specs.push_back(parse_session_spec(item.get<std::string>()));
            } catch (const std::invalid_argument &e) {
                throw BadRequest(ControlResult::BadRequest, item.get<std::string>() + ": " + e.what());
            }
        }
        if (specs.size() == 1) {
            bool replaced = agent.add_session(specs[0], MG_SOURCE_CONTROL);
            return {{"added", 1}, {"replaced", replaced ? 1 : 0}};
        }
        agent.add_sessions(specs, MG_SOURCE_CONTROL);
        return {{"added", specs.size()}};
    }
    if (command == "session.del") {
        expect_fields(request, command, {"address"});
        agent.delete_session(prefix_field(request));
        return json::object();
    }
    if (command == "session.transport") {
        expect_fields(request, command, {"address", "transport"});
        const std::string transport = string_field(request, "transport");
        if (transport != "dtls" && transport != "tls")
            throw BadRequest(ControlResult::BadRequest, "transport '" + transport + "' is not dtls or tls");
        agent.set_transport(prefix_field(request), transport == "dtls" ? MG_TRANSPORT_DTLS : MG_TRANSPORT_TLS);
        return json::object();
    }
    if (command == "session.list") {
        expect_fields(request, command, {"address", "limit"});
        std::optional<Prefix> only;
        if (request.contains("address"))
            only = prefix_field(request);
        // A million sessions would make an answer of hundreds of megabytes: a limit keeps the
        // daemon's memory flat, and "total" says how many there are.
        const uint64_t limit = limit_field(request);
        json sessions = json::array();
        const auto views = agent.list_sessions(only);
        for (size_t i = 0; i < views.size() && i < limit; ++i)
            sessions.push_back(session_json(views[i]));
        return {{"sessions", sessions}, {"total", views.size()}, {"truncated", views.size() > limit}};
    }
    if (command == "tracking") {
        expect_fields(request, command, {"limit"});
        const uint64_t limit = limit_field(request);
        return tracking_json(agent.tracking_report(limit));
    }
    if (command == "stats") {
        expect_fields(request, command, {});
        return stats_json(agent);
    }
    if (command == "status") {
        expect_fields(request, command, {});
        return status_json(agent.status());
    }
    if (command == "detach") {
        expect_fields(request, command, {});
        agent.keep_attached(false);
        stop = true;
        return {{"detached", true}};
    }
    throw BadRequest(ControlResult::UnknownCommand, "unknown command '" + command +
                                                        "' (session.add, session.del, session.transport, "
                                                        "session.list, tracking, stats, status, detach)");
}

} // namespace

ControlServer::Reply handle_control_request(Agent &agent, std::string_view text)
{
    ControlServer::Reply reply;
    try {
        json answer = run(agent, json::parse(text), reply.stop);
        answer["ok"] = true;
        agent.count_request(ControlResult::Ok);
        // Session specs echo the client's bytes: never let invalid UTF-8 abort the answer.
        reply.line = answer.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const json::exception &e) {
        reply.line = failure(agent, ControlResult::BadRequest, std::string("not valid JSON: ") + e.what());
    } catch (const BadRequest &e) {
        reply.line = failure(agent, e.result, e.what());
    } catch (const ControlFailure &e) {
        reply.line = failure(agent, e.result, e.what());
    } catch (const std::exception &e) {
        reply.line = failure(agent, ControlResult::Failed, e.what());
    }
    // A bulk batch's text, its parsed form and its specs are freed here, scattered among the
    // entries of the session index allocated meanwhile: malloc keeps such holes, so each batch
    // would leave its high-water mark in the daemon's RSS (30 MiB over a million sessions).
    if (text.size() > 1024 * 1024)
        malloc_trim(0);
    return reply;
}

std::string refuse_control_request(Agent &agent, std::string_view reason)
{
    return failure(agent, ControlResult::TooLarge, std::string(reason));
}

} // namespace mtuguard
