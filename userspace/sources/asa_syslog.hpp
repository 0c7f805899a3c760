// The Cisco ASA session source's input: the headend's syslog, read for the dozen messages that
// say where a session's tunnel address is, which channel (TLS or DTLS) it rides, when it
// reconnects and when the headend itself drops or reports oversize packets (REFERENCE.md §4).
//
// A message is found by its "%ASA-<severity>-<id>:" marker wherever it sits in the line, so the
// RFC 3164 prefix ("<166>Nov 22 10:00:00 asa1 : "), the RFC 5424 one
// ("<166>1 2026-11-22T10:00:00Z asa1 - - - "), the ASA's own timestamp and device-id forms, and
// no prefix at all all work. "%FTD-" (Firepower Threat Defense runs the same code) and a
// message class ("%ASA-vpn-6-722036:") are accepted too.
//
// Syslog over TCP arrives as a byte stream; SyslogFramer cuts it into messages (RFC 6587).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.hpp"

namespace mtuguard {

enum class AsaEvent {
    address_assigned,   // 722051: tunnel address(es) ↔ public address
    svc_first,          // 722033: first TCP|UDP channel of a session; UDP = DTLS up
    svc_new,            // 722034: new channel, no existing one: a reconnect
    svc_replacing,      // 722032: new channel replacing the old one: a reconnect
    svc_closing,        // 722037: a channel closes (reason)
    session_end,        // 722038: the session ends (reason)
    large_packet_out,   // 722036: dropped toward the client: len over threshold
    large_packet_in,    // 722035: from the client: len over threshold
    pmtud_sent,         // 602101: the headend sent ICMP fragmentation-needed
    dtls_disabled,      // 722043: DTLS cannot come up (reason)
    connection_lost,    // 716058: the client went away, the session waits to resume
    connection_resumed, // 716059: the client came back (from resumed_from)
};

enum class SvcChannel { none, tcp, udp };

struct AsaMessage {
    uint32_t id = 0;        // 722051, ...
    unsigned severity = 0;  // 0-7 as the headend logged it
    AsaEvent event = AsaEvent::address_assigned;
    std::string group, user;         // "Group <g> User <u>"; empty for 602101
    std::optional<Prefix> public_ip; // "IP <a>": the client's public address; none for 602101
    // 722051; "0.0.0.0" and "::" (the ASA's "none") leave them empty.
    std::optional<Prefix> tunnel_v4, tunnel_v6;
    // 722033, 722034, 722032; 722037 where its reason names the channel (UDP/DTLS, TCP/TLS/SSL)
    SvcChannel channel = SvcChannel::none;
    uint32_t packet_len = 0, threshold = 0; // 722036, 722035; 602101: packet and effective MTU
    std::string reason;                     // 722037, 722038, 722043, without the final '.'
    std::optional<Prefix> resumed_from;     // 716059
    std::optional<Prefix> dest_addr, src_addr; // 602101
    std::string protocol;                      // 602101 "prot=", lower case
};

enum class AsaParseStatus {
    ok,
    not_asa,   // no %ASA-<severity>-<id>: marker
    ignored,   // an ASA message whose id we do not use
    malformed, // one of ours, but a field is missing or wrong
};

struct AsaParse {
    AsaParseStatus status = AsaParseStatus::not_asa;
    AsaMessage message; // id and severity are set for ignored and malformed as well
    std::string error;  // names what was wrong, for not_asa and malformed
};

// Never throws; any input gives one of the four statuses.
AsaParse parse_asa_line(std::string_view line);

const char *asa_event_name(AsaEvent event);         // "address_assigned", ...
const char *asa_status_name(AsaParseStatus status); // "ok", "not_asa", ...

// Syslog over UDP: a datagram is one message; a trailing newline (some senders add one), CR
// or NUL is not part of it.
std::string_view syslog_datagram(std::string_view datagram);

// Cuts a syslog-over-TCP stream into messages. RFC 6587 allows two framings and senders pick
// per connection, so each message is looked at on its own:
//   octet counting  "<len> <message>": a message that starts with a digit 1-9; the count is
//                   at most 10 digits followed by one space;
//   newline         "<message>\n": anything else (a syslog message starts with '<', a bare
//                   ASA line with '%'); a trailing CR and NULs are dropped.
// Bytes between messages that are only LF, CR or NUL are skipped. A message longer than
// max_message is dropped and counted in oversize(): an octet-counted one by skipping exactly its
// count, a newline-framed one up to the next newline. A count that is not a count ("12x", "0 ",
// eleven digits) is counted in malformed() and the stream resynchronises at the next newline.
// Memory stays within max_message whatever is fed.
class SyslogFramer {
public:
    explicit SyslogFramer(size_t max_message = 8192);

    // Calls sink once per complete message, in order. The view is valid only during the call.
    void feed(std::string_view bytes, const std::function<void(std::string_view)> &sink);

    uint64_t oversize() const { return oversize_; }
    uint64_t malformed() const { return malformed_; }
    uint64_t messages() const { return messages_; }
    // Bytes held for a message not yet complete; never more than max_message.
    size_t buffered() const { return buffer_.size(); }

private:
    enum class State { between, count, counted_body, line, skip_count, skip_line };

    void deliver(const std::function<void(std::string_view)> &sink);

    size_t max_message_;
    State state_ = State::between;
    std::string buffer_;
    uint64_t count_ = 0;     // digits read so far, then bytes of the counted body still due
    unsigned count_digits_ = 0;
    uint64_t oversize_ = 0, malformed_ = 0, messages_ = 0;
};

} // namespace mtuguard
