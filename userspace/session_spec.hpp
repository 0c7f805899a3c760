// A session as written on the command line, in the config file and on the control socket:
//   ADDR[/PREFIX],dtls-mtu=N,tls-mtu=N[,transport=dtls|tls][,mss-clamp=on|off]
//   ADDR[/PREFIX],cipher=C[,link-mtu=N][,padding=exact|conservative][,transport=...][,mss-clamp=...]
// An address is one client's tunnel address; a prefix gives defaults to a whole pool. With a
// cipher the MTUs are computed (link MTU 1500 unless given); explicit MTUs win over computed.
// mss-clamp overrides --mss-clamp for this session.
#pragma once

#include <string>
#include <string_view>

#include "address.hpp"
#include "mtuguard_kern_user.h"

namespace mtuguard {

struct SessionSpec {
    Prefix prefix;
    mg_session session{};
};

// Throws std::invalid_argument naming the part that is wrong.
SessionSpec parse_session_spec(std::string_view text);

// Strict unsigned decimal in [min, max]; throws std::invalid_argument naming `what`.
uint64_t parse_number(std::string_view what, std::string_view text, uint64_t min, uint64_t max);

const char *transport_name(uint8_t transport);

} // namespace mtuguard
