// A session as written on the command line, in the config file and on the control socket:
//   ADDR[/PREFIX],dtls-mtu=N,tls-mtu=N[,transport=dtls|tls][,mss-clamp=on|off]
//   ADDR[/PREFIX],cipher=C[,link-mtu=N|tcp-mss=N][,padding=exact|conservative][,transport=...][,mss-clamp=...]
//   ...[,public=ADDR][,user=NAME][,group=NAME]
// An address is one client's tunnel address; a prefix gives defaults to a whole pool. With a
// cipher the MTUs are computed (link MTU 1500 unless given; a TCP MSS gives the TLS MTU the
// ASA's way); explicit MTUs win over computed. mss-clamp overrides --mss-clamp for this session.
// public= is the client's public address, for the transport tracker (--outside-iface). user= and
// group= say whose session it is (shown by session list, tracking, diagnose and the log; never a
// metric label): at most 63 bytes of UTF-8 without control characters or commas.
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
    // Who the session belongs to, as its source knew it (user=, group=; ASA syslog, occtl, the
    // connect-script): "" unknown. Always as session_name() leaves a name.
    std::string user, group;
    // The MTU the client was given and applies, when it is not the DTLS MTU (0): ocserv's MTU
    // at the session's first sight, which the client keeps when ocserv later lowers the tun's.
    uint16_t client_mtu = 0;
    // The threshold the headend last reported for this session (ASA 722036/722035); 0: none.
    uint16_t headend_mtu = 0;

    // The same session as written (counters aside).
    bool operator==(const SessionSpec &other) const
    {
        return prefix == other.prefix && public_address == other.public_address &&
               session.dtls_mtu == other.session.dtls_mtu && session.tls_mtu == other.session.tls_mtu &&
               session.transport == other.session.transport && session.mss_clamp == other.session.mss_clamp &&
               user == other.user && group == other.group && client_mtu == other.client_mtu &&
               headend_mtu == other.headend_mtu;
    }
    // The MTU the client applies: client_mtu, else the DTLS MTU.
    uint16_t client_applies() const { return client_mtu ? client_mtu : session.dtls_mtu; }
};

// Throws std::invalid_argument naming the part that is wrong.
SessionSpec parse_session_spec(std::string_view text);
// The parameters alone (dtls-mtu=N,tls-mtu=N,... without the address), for sessions whose
// address comes from elsewhere (ASA syslog). The prefix of the result is unset.
SessionSpec parse_session_parameters(std::string_view text);

// Strict unsigned decimal in [min, max]; throws std::invalid_argument naming `what`.
uint64_t parse_number(std::string_view what, std::string_view text, uint64_t min, uint64_t max);

const char *transport_name(uint8_t transport);

// A user or group name as a session keeps it, whatever a source sent: each control character and
// each byte that is not part of valid UTF-8 becomes '?', and the name is cut at a character
// boundary to at most MG_NAME_MAX - 1 bytes.
std::string session_name(std::string_view raw);

// The MTU a session enforces now: its transport's.
inline uint16_t enforced_mtu(const mg_session &s) { return s.transport == MG_TRANSPORT_DTLS ? s.dtls_mtu : s.tls_mtu; }

} // namespace mtuguard
