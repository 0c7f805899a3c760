// Control socket requests through the real handler (handle_control_request) into a real Agent:
// the program loaded, its maps in the kernel, no interface attached, nothing pinned. The input is
// one request per line, so sequences (add, then transport, then list) are reached. Every answer
// must be one JSON object with "ok" (and, refused, a known "error"), and the agent's session
// counts must match what its maps hold after every request: a refused request changes nothing
// half-way. Each input starts from no sessions. Needs root to load the program;
// MTUGUARD_SKIP_PRIVILEGED=1 without root exits 77 (skipped).
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/agent.hpp"
#include "daemon/control_protocol.hpp"
#include "fuzz_check.hpp"

using namespace mtuguard;

namespace {

std::unique_ptr<Agent> agent;

void check_counts(std::string_view input)
{
    const auto views = agent->list_sessions(std::nullopt);
    uint64_t hosts = 0, pools = 0, dtls = 0;
    for (const auto &view : views) {
        if (view.entry.prefix.is_host()) {
            ++hosts;
            dtls += view.entry.session.transport == MG_TRANSPORT_DTLS;
        } else {
            ++pools;
        }
    }
    const SessionCounts counts = agent->sessions();
    FUZZ_CHECK(counts.map_entries == hosts, input);
    FUZZ_CHECK(counts.pools == pools, input);
    FUZZ_CHECK(counts.by_transport[MG_TRANSPORT_DTLS] == dtls, input);
    FUZZ_CHECK(counts.by_transport[MG_TRANSPORT_TLS] == hosts - dtls, input);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    if (geteuid() != 0) {
        if (const char *skip = std::getenv("MTUGUARD_SKIP_PRIVILEGED"); skip && std::string(skip) == "1") {
            std::fprintf(stderr, "SKIP: loading the BPF program needs root (MTUGUARD_SKIP_PRIVILEGED=1)\n");
            std::exit(77);
        }
        std::fprintf(stderr, "control_request_fuzz loads the BPF program and needs root; "
                             "MTUGUARD_SKIP_PRIVILEGED=1 skips it\n");
        std::exit(1);
    }
    Config config;
    config.max_sessions = 16; // small, so that full maps are reached
    config.pin_path.clear();
    config.control_socket.clear();
    config.metrics_listen.clear();
    agent = std::make_unique<Agent>(config);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view input = fuzz::text(data, size);
    std::string_view rest = input;
    for (int line = 0; line < 16 && !rest.empty(); ++line) {
        const size_t end = rest.find('\n');
        const std::string_view request = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);

        const ControlServer::Reply reply = handle_control_request(*agent, request);
        FUZZ_CHECK(reply.line.find('\n') == std::string::npos, reply.line); // one line per answer
        const nlohmann::json answer = nlohmann::json::parse(reply.line); // throws (a crash) if not JSON
        FUZZ_CHECK(answer.is_object() && answer.contains("ok") && answer["ok"].is_boolean(), reply.line);
        if (!answer["ok"].get<bool>()) {
            FUZZ_CHECK(answer.contains("error") && answer["error"].is_string(), reply.line);
            const std::string error = answer["error"];
            FUZZ_CHECK(std::find(std::begin(control_result_names), std::end(control_result_names), error) !=
                           std::end(control_result_names),
                       reply.line);
        }
        check_counts(input);
    }
    for (const auto &view : agent->list_sessions(std::nullopt))
        agent->delete_session(view.entry.prefix);
    agent->keep_attached(false);
    return 0;
}
