// The ocserv session source's input: the output of `occtl --json show users`, one JSON array
// with an object per connected user (REFERENCE.md §3). occtl prints what ocserv tells it, and
// what it prints has changed between releases, so everything is read defensively:
//   - every key is optional (occtl leaves a key out when the value is empty: no "IPv6" on an
//     IPv4-only pool, no "MTU" before the tun device is up, no "DTLS cipher" without DTLS);
//   - "ID" and "raw_connected_at" are JSON numbers, "MTU", "RX", "TX" strings; both spellings
//     are accepted for each of the three we read;
//   - keys may repeat ("Routes" comes as [] and then as "defaultroute"); the last one wins;
//   - unknown keys and nested values under keys we do not read are skipped unseen.
// A bad user entry is reported and skipped; only a document that is not a JSON array of entries
// at all is an error. Parsing streams through the document (nlohmann's SAX interface) and keeps
// only the fields below, so memory follows the number of users, not the document's shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.hpp"

namespace mtuguard {

struct OcctlUser {
    std::string id;                  // "ID": number or decimal string, kept as decimal text
    std::string username;            // "Username"
    std::string groupname;           // "Groupname": ocserv's config-per-group group, or "(none)"
    std::string device;              // "Device": the per-session tun device, e.g. vpns0
    std::optional<Prefix> remote_ip; // "Remote IP": the client's public address
    // "IPv4" / "IPv6": the client's tunnel address. A host address, or with a prefix shorter
    // than the family's full length, the network routed to the client (host bits cleared).
    std::optional<Prefix> ipv4;
    std::optional<Prefix> ipv6;
    std::optional<uint32_t> mtu;     // "MTU": 68-65535
    std::string full_session;        // "Full session": stable across reconnects
    std::string connected_at;        // "raw_connected_at": decimal text; changes on reconnect
    // "DTLS cipher": set once DTLS is negotiated and NOT cleared when the session falls back to
    // TLS, so it says DTLS was up once, never that it is up now.
    std::string dtls_cipher;
};

struct OcctlUsers {
    std::vector<OcctlUser> users;
    // One message per unusable entry: "entry 3 (ID 17, user 'alice'): MTU 'abc' is not ..."
    std::vector<std::string> rejected;
};

// Whole-document limits: far beyond any real headend (tens of thousands of sessions at ~1.5 KB
// each), low enough that a runaway or hostile producer cannot exhaust the daemon's memory.
inline constexpr size_t max_occtl_document_bytes = 64u << 20;
inline constexpr size_t max_occtl_entries = 1u << 18;

// Throws std::invalid_argument naming what is wrong when the document as a whole is unusable:
// empty, larger than max_occtl_document_bytes, not JSON (with the parser's line and column), not an
// array, or with more than max_occtl_entries entries. Bad entries only land in `rejected`.
OcctlUsers parse_occtl_users(std::string_view json);

} // namespace mtuguard
