// Fuzzes the ASA syslog path as the daemon runs it: the input as one UDP datagram through
// parse_asa_line, and as a TCP stream through SyslogFramer in several chunkings, each framed
// message parsed. Every chunking must frame the same messages, the framer must never hold more
// than max_message bytes, and a malformed or not_asa result must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sources/asa_syslog.hpp"

namespace {

void check(const mtuguard::AsaParse &parsed)
{
    using mtuguard::AsaParseStatus;
    if ((parsed.status == AsaParseStatus::malformed || parsed.status == AsaParseStatus::not_asa) &&
        parsed.error.empty())
        std::abort();
    if (parsed.status == AsaParseStatus::ok && parsed.message.id == 0)
        std::abort();
}

struct Framed {
    std::vector<std::string> messages;
    uint64_t oversize = 0, malformed = 0;
};

Framed frame(std::string_view input, size_t chunk)
{
    // Small enough that oversize handling is reached often.
    constexpr size_t kMaxMessage = 512;
    mtuguard::SyslogFramer framer(kMaxMessage);
    Framed out;
    auto sink = [&](std::string_view message) {
        if (message.empty() || message.size() > kMaxMessage)
            std::abort();
        check(mtuguard::parse_asa_line(message));
        out.messages.emplace_back(message);
    };
    for (size_t at = 0; at < input.size(); at += chunk) {
        framer.feed(input.substr(at, chunk), sink);
        if (framer.buffered() > kMaxMessage)
            std::abort();
    }
    out.oversize = framer.oversize();
    out.malformed = framer.malformed();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view input(reinterpret_cast<const char *>(data), size);
    check(mtuguard::parse_asa_line(mtuguard::syslog_datagram(input)));

    const Framed whole = frame(input, input.size() ? input.size() : 1);
    for (size_t chunk : {1, 3, 17}) {
        const Framed split = frame(input, chunk);
        if (split.messages != whole.messages || split.oversize != whole.oversize ||
            split.malformed != whole.malformed)
            std::abort();
    }
    return 0;
}
