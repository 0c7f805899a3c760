// A SessionSink for the session sources' unit tests: records what a source asks and refuses
// every add while `full`, as a session map at capacity would.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sources/session_sink.hpp"

namespace mtuguard {

// Records what the source asks; refuses every add while `full` (a session map at capacity).
struct RecordingSink final : SessionSink {
    bool full = false;
    std::vector<std::string> added, deleted;
    std::vector<SessionSpec> specs; // every add, as asked
    std::vector<std::string> transports; // every set_transport: "ADDRESS tls"
    std::set<std::string> held;
    std::vector<SessionSpec> pinned; // what sessions_of answers: the sessions an earlier daemon left
    std::array<uint64_t, size_t(SourceEvent::Count)> counts{};

    bool add_session(const SessionSpec &spec, mg_source) override
    {
        added.push_back(spec.prefix.to_string());
        specs.push_back(spec);
        if (full)
            throw ControlFailure(ControlResult::MapFull, "session map full");
        return !held.insert(spec.prefix.to_string()).second;
    }
    void delete_session(const Prefix &prefix) override
    {
        deleted.push_back(prefix.to_string());
        held.erase(prefix.to_string());
    }
    void set_transport(const Prefix &prefix, mg_transport transport) override
    {
        transports.push_back(prefix.to_string() + (transport == MG_TRANSPORT_TLS ? " tls" : " dtls"));
    }
    uint64_t reconnects = 0;
    void report_reconnect(const Prefix &) override { ++reconnects; }
    void count(SourceEvent event, uint64_t n) override { counts[size_t(event)] += n; }
    std::vector<SessionSpec> sessions_of(mg_source) const override { return pinned; }
};

} // namespace mtuguard
