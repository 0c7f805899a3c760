// A session as written on the command line, in the config file and on the control socket:
//   ADDR[/PREFIX],dtls-mtu=N,tls-mtu=N[,transport=dtls|tls][,mss-clamp=on|off]
//   ADDR[/PREFIX],cipher=C[,link-mtu=N|tcp-mss=N][,padding=exact|conservative][,transport=...][,mss-clamp=...]
//   ...[,public=ADDR]
// An address is one client's tunnel address; a prefix gives defaults to a whole pool. With a
// cipher the MTUs are computed (link MTU 1500 unless given; a TCP MSS gives the TLS MTU the
// ASA's way); explicit MTUs win over computed. mss-clamp overrides --mss-clamp for this session.
// public= is the client's public address, for the transport tracker (--outside-iface).
#pragma once

#include <string>
#include <optional>
#include <string_view>

#include "common/address.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

struct SessionSpec {
    Prefix prefix;
    mg_session session{};
    // The client's public address (public=ADDR): lets the transport tracker watch its channels.
    std::optional<Prefix> public_address;

    // The same session as written (counters aside).
    bool operator==(const SessionSpec &other) const
    {
        return prefix == other.prefix && public_address == other.public_address &&
               session.dtls_mtu == other.session.dtls_mtu && session.tls_mtu == other.session.tls_mtu &&
               session.transport == other.session.transport && session.mss_clamp == other.session.mss_clamp;
    }
};

// Throws std::invalid_argument naming the part that is wrong.
SessionSpec parse_session_spec(std::string_view text);
// The parameters alone (dtls-mtu=N,tls-mtu=N,... without the address), for sessions whose
// address comes from elsewhere (ASA syslog). The prefix of the result is unset.
SessionSpec parse_session_parameters(std::string_view text);

// Strict unsigned decimal in [min, max]; throws std::invalid_argument naming `what`.
uint64_t parse_number(std::string_view what, std::string_view text, uint64_t min, uint64_t max);

const char *transport_name(uint8_t transport);

} // namespace mtuguard
