#include "common/session_spec.hpp"

#include <charconv>
#include <optional>

#include "common/mtu_calc.hpp"
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

std::string session_name(std::string_view raw)
{
    std::string out;
    size_t i = 0;
    while (i < raw.size()) {
        const auto byte = static_cast<unsigned char>(raw[i]);
        // The length of the UTF-8 sequence this byte starts (RFC 3629), 0 if it starts none.
        const size_t length = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3
                                               : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
        bool valid = length != 0 && i + length <= raw.size();
        for (size_t k = 1; valid && k < length; ++k)
            valid = (static_cast<unsigned char>(raw[i + k]) & 0xc0) == 0x80;
        // Overlong forms, surrogates and code points past U+10FFFF.
        if (valid && length == 3) {
            const auto next = static_cast<unsigned char>(raw[i + 1]);
            valid = !(byte == 0xe0 && next < 0xa0) && !(byte == 0xed && next >= 0xa0);
        } else if (valid && length == 4) {
            const auto next = static_cast<unsigned char>(raw[i + 1]);
            valid = !(byte == 0xf0 && next < 0x90) && !(byte == 0xf4 && next >= 0x90);
        }
        const bool control = length == 1 && (byte < 0x20 || byte == 0x7f);
        const std::string_view piece = valid && !control ? raw.substr(i, length) : std::string_view("?");
        if (out.size() + piece.size() > MG_NAME_MAX - 1)
            break;
        out += piece;
        i += valid ? length : 1;
    }
    return out;
}

namespace {

// A user= or group= value: given as it would be kept, or refused naming what is wrong.
std::string parse_name(std::string_view key, std::string_view value)
{
    if (value.empty())
        throw std::invalid_argument(std::string(key) + "= is empty");
    if (value.size() > MG_NAME_MAX - 1)
        throw std::invalid_argument(std::string(key) + " '" + session_name(value) + "' is longer than " +
                                    std::to_string(MG_NAME_MAX - 1) + " bytes");
    if (session_name(value) != value)
        throw std::invalid_argument(std::string(key) + " '" + session_name(value) +
                                    "' holds a control character or bytes that are not UTF-8");
    return std::string(value);
}

// KEY=VALUE items after the first comma of `text` (none when there is no comma).
SessionSpec parse_items(std::string_view text, std::string::size_type comma)
{
    SessionSpec spec;
    bool have_dtls = false, have_tls = false, have_transport = false, have_public = false, have_tcp_mss = false;
    bool have_cipher = false, have_link = false, have_padding = false, have_mss = false;
    bool have_user = false, have_group = false;
    MtuRequest mtu_request;

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
        } else if (key == "tcp-mss") {
            once(have_tcp_mss);
            mtu_request.tcp_mss = parse_number(key, value, 536, 65495);
        } else if (key == "public") {
            once(have_public);
            Prefix address = parse_address(value);
            spec.public_address = address;
        } else if (key == "user") {
            once(have_user);
            spec.user = parse_name(key, value);
        } else if (key == "group") {
            once(have_group);
            spec.group = parse_name(key, value);
        } else if (key == "padding") {
            once(have_padding);
            if (value != "exact" && value != "conservative")
                throw std::invalid_argument("padding '" + std::string(value) + "' is not exact or conservative");
            mtu_request.padding = value == "exact" ? Padding::Exact : Padding::Conservative;
        } else {
            throw std::invalid_argument("unknown key '" + std::string(key) +
                                        "' (expected dtls-mtu, tls-mtu, transport, mss-clamp, public, user, group, cipher, "
                                        "link-mtu, tcp-mss, padding)");
        }
    }
    if (have_cipher) {
        // The calculator fills in the MTUs not given explicitly (REFERENCE.md §2).
        if (!mtu_request.link_mtu && !mtu_request.tcp_mss)
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
    } else if (have_link || have_padding || have_tcp_mss) {
        throw std::invalid_argument("link-mtu, tcp-mss and padding go with cipher=C");
    }
    if (!have_dtls || !have_tls)
        throw std::invalid_argument(std::string("missing ") + (have_dtls ? "tls-mtu" : "dtls-mtu") +
                                    " (or cipher=C to compute both)");
    return spec;
}

} // namespace

SessionSpec parse_session_spec(std::string_view text)
{
    auto comma = text.find(',');
    Prefix prefix = parse_prefix(text.substr(0, comma));
    SessionSpec spec = parse_items(text, comma);
    spec.prefix = prefix;
    if (spec.public_address && !prefix.is_host())
        throw std::invalid_argument("public= names one client: it goes with an address, not a pool");
    if ((!spec.user.empty() || !spec.group.empty()) && !prefix.is_host())
        throw std::invalid_argument("user= and group= name one client: they go with an address, not a pool");
    return spec;
}

SessionSpec parse_session_parameters(std::string_view text)
{
    // parse_items reads from the first comma on: put one in front.
    const std::string items = "," + std::string(text);
    SessionSpec spec = parse_items(items, 0);
    if (spec.public_address)
        throw std::invalid_argument("public= is not a parameter here: the source knows the client's address");
    if (!spec.user.empty() || !spec.group.empty())
        throw std::invalid_argument("user= and group= are not parameters here: the source knows whose session it is");
    return spec;
}

} // namespace mtuguard
