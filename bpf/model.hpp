// The reference model: the per-packet decisions of mtuguard.bpf.c (the XDP verdict; the tc
// programs' MSS clamp) written once more in plain C++, from the rules rather than from the BPF
// code, over the same ABI header and reason enum.
// Tests run it and the real program on the same packets and require the same verdict, reason
// and output bytes. It is an oracle, not a second data path: it runs in tests and tools only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "mtuguard_kern_user.h"

namespace mtuguard::model {

struct State {
    mg_settings settings{};
    std::map<std::vector<uint8_t>, mg_session> sessions; // key: the 16 mapped address bytes
    std::vector<std::pair<mg_pool_key, mg_session>> pools;
    std::optional<mg_iface> iface; // the ingress interface's entry, if registered
    // Stands in for the token buckets: whether a token is granted for this source.
    std::function<bool(const mg_addr &source)> icmp_allowed = [](const mg_addr &) { return true; };

    void add_session(const mg_addr &addr, const mg_session &session);
    void add_pool(const mg_pool_key &key, const mg_session &session);
};

struct Verdict {
    uint32_t xdp_action = 0;
    mg_reason reason = MG_REASON_NOT_IP;
    mg_family family = MG_FAMILY_OTHER;
    std::vector<uint8_t> frame; // the frame as it leaves the program
};

// The XDP program: the MTU decision. It never changes a TCP option.
Verdict decide(std::span<const uint8_t> frame, const State &state);

struct MssVerdict {
    int mss_outcome = -1;       // enum mg_mss_outcome for a session's TCP SYN or SYN-ACK, else -1
    std::vector<uint8_t> frame; // the frame as it leaves the program
};

// The tc programs: a session's SYN or SYN-ACK has its MSS clamped. `from_client`: the session
// is the source address (egress on an --iface, ingress on a --client-iface), else the
// destination.
MssVerdict clamp(std::span<const uint8_t> frame, const State &state, bool from_client);

// RFC 1071 one's complement sum, folded and complemented.
uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t seed = 0);

} // namespace mtuguard::model
