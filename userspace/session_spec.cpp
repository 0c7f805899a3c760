#include "session_spec.hpp"

#include <charconv>
#include <optional>

#include "mtu_calc.hpp"
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
    bool have_cipher = false, have_link = false, have_padding = false, have_mss = false;
    MtuRequest mtu_request;

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
        } else if (key == "mss-clamp") {
            once(have_mss);
            if (value != "on" && value != "off")
                throw std::invalid_argument("mss-clamp '" + std::string(value) + "' is not on or off");
            spec.session.mss_clamp = value == "on" ? MG_MSS_ON : MG_MSS_OFF;
        } else if (key == "cipher") {
            once(have_cipher);
            mtu_request.cipher = value;
        } else if (key == "link-mtu") {
            once(have_link);
            mtu_request.link_mtu = parse_number(key, value, MG_MIN_MTU, 65535);
        } else if (key == "padding") {
            once(have_padding);
            if (value != "exact" && value != "conservative")
                throw std::invalid_argument("padding '" + std::string(value) + "' is not exact or conservative");
            mtu_request.padding = value == "exact" ? Padding::Exact : Padding::Conservative;
        } else {
            throw std::invalid_argument("unknown key '" + std::string(key) +
                                        "' (expected dtls-mtu, tls-mtu, transport, mss-clamp, cipher, link-mtu, padding)");
        }
    }
    if (have_cipher) {
        // The calculator fills in the MTUs not given explicitly (REFERENCE.md §2).
        if (!mtu_request.link_mtu)
            mtu_request.link_mtu = 1500;
        MtuResult mtus = calculate_mtu(mtu_request);
        if (!have_tls && mtus.tls) {
            spec.session.tls_mtu = mtus.tls->mtu;
            have_tls = true;
        }
        if (!have_dtls && mtus.dtls) {
            spec.session.dtls_mtu = mtus.dtls->mtu;
            have_dtls = true;
        }
        if (!have_dtls)
            throw std::invalid_argument("cipher " + mtus.cipher + " gives no DTLS MTU (" + mtus.note +
                                        "): add dtls-mtu=N");
    } else if (have_link || have_padding) {
        throw std::invalid_argument("link-mtu and padding go with cipher=C");
    }
    if (!have_dtls || !have_tls)
        throw std::invalid_argument(std::string("missing ") + (have_dtls ? "tls-mtu" : "dtls-mtu") +
                                    " (or cipher=C to compute both)");
    return spec;
}

} // namespace mtuguard
