// Session specs and addresses as every session source writes them. Bad text may only throw
// std::invalid_argument; what parses must be a session the data path can hold (MTUs within
// range, a prefix length within its family) and must read back the same from its own text. Names
// (user=, group=, and session_name() over any bytes) come out clean and short.
#include <stdexcept>
#include <string>

#include "common/address.hpp"
#include "fuzz_check.hpp"
#include "common/session_spec.hpp"

using namespace mtuguard;

namespace {

// Accepted text names one address: nothing may hide after a NUL (C string functions would stop
// there and accept "10.8.0.5\0junk" as 10.8.0.5).
void check_prefix(const Prefix &prefix, std::string_view input)
{
    FUZZ_CHECK(input.substr(0, input.find(',')).find('\0') == std::string_view::npos, input);
    FUZZ_CHECK(prefix.length <= (prefix.ipv4 ? 32u : 128u), input);
    const std::string printed = prefix.to_string();
    FUZZ_CHECK(parse_prefix(printed) == prefix, printed);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view input = fuzz::text(data, size);
    try {
        const SessionSpec spec = parse_session_spec(input);
        check_prefix(spec.prefix, input);
        const mg_session &s = spec.session;
        FUZZ_CHECK(s.dtls_mtu >= MG_MIN_MTU && s.dtls_mtu <= 65535, input);
        FUZZ_CHECK(s.tls_mtu >= MG_MIN_MTU && s.tls_mtu <= 65535, input);
        FUZZ_CHECK(s.transport == MG_TRANSPORT_DTLS || s.transport == MG_TRANSPORT_TLS, input);
        FUZZ_CHECK(s.mss_clamp == MG_MSS_DEFAULT || s.mss_clamp == MG_MSS_ON || s.mss_clamp == MG_MSS_OFF, input);
        // An owner is kept as given: already what session_name() makes of any name.
        for (const std::string *name : {&spec.user, &spec.group})
            FUZZ_CHECK(name->size() < MG_NAME_MAX && session_name(*name) == *name, input);
    } catch (const std::invalid_argument &) {
    }
    // Whatever a source sends, a kept name is short, clean and stays as it is when cleaned again.
    const std::string name = session_name(input);
    FUZZ_CHECK(name.size() < MG_NAME_MAX && session_name(name) == name, input);
    try {
        check_prefix(parse_prefix(input), input);
    } catch (const std::invalid_argument &) {
    }
    try {
        const Prefix address = parse_address(input);
        FUZZ_CHECK(address.is_host(), input);
    } catch (const std::invalid_argument &) {
    }
    return 0;
}
