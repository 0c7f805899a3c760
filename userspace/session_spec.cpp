#include "session_spec.hpp"

#include <charconv>
#include <stdexcept>

namespace mtuguard {

uint64_t parse_number(std::string_view what, std::string_view text, uint64_t min, uint64_t max)
{
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min ||
        value > max)
        throw std::invalid_argument(std::string(what) + " '" + std::string(text) +
                                    "' is not a whole number from " + std::to_string(min) +
                                    " to " + std::to_string(max));
    return value;
}

const char *transport_name(uint8_t transport)
{
    return transport == MG_TRANSPORT_DTLS ? "dtls" : "tls";
}

SessionSpec parse_session_spec(std::string_view text)
{
    SessionSpec spec;
    bool have_dtls = false, have_tls = false, have_transport = false;

    auto comma = text.find(',');
    spec.prefix = parse_prefix(text.substr(0, comma));
    // Until something says DTLS is up, the TLS MTU is the one that cannot black-hole.
    spec.session.transport = MG_TRANSPORT_TLS;

    while (comma != std::string_view::npos) {
        text.remove_prefix(comma + 1);
        comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        auto equals = item.find('=');
        if (equals == std::string_view::npos)
            throw std::invalid_argument("'" + std::string(item) + "' is not KEY=VALUE");
        std::string_view key = item.substr(0, equals), value = item.substr(equals + 1);

        auto once = [&](bool &seen) {
            if (seen)
                throw std::invalid_argument(std::string(key) + " given twice");
            seen = true;
        };
        if (key == "dtls-mtu") {
            once(have_dtls);
            spec.session.dtls_mtu = parse_number(key, value, MG_MIN_MTU, 65535);
        } else if (key == "tls-mtu") {
            once(have_tls);
            spec.session.tls_mtu = parse_number(key, value, MG_MIN_MTU, 65535);
        } else if (key == "transport") {
            once(have_transport);
            if (value == "dtls")
                spec.session.transport = MG_TRANSPORT_DTLS;
            else if (value == "tls")
                spec.session.transport = MG_TRANSPORT_TLS;
            else
                throw std::invalid_argument("transport '" + std::string(value) +
                                            "' is not dtls or tls");
        } else {
            throw std::invalid_argument("unknown key '" + std::string(key) +
                                        "' (expected dtls-mtu, tls-mtu, transport)");
        }
    }
    if (!have_dtls || !have_tls)
        throw std::invalid_argument(std::string("missing ") + (have_dtls ? "tls-mtu" : "dtls-mtu"));
    return spec;
}

} // namespace mtuguard
