#include "sources/asa_syslog.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace mtuguard {
namespace {

struct Known {
    uint32_t id;
    AsaEvent event;
};

// The ids read, by what they say: the session's address, its channels, its end, the headend's
// own reports, DTLS off, the connection lost and back.
constexpr std::array<Known, 12> kKnown = {{
    {722051, AsaEvent::address_assigned}, {722033, AsaEvent::svc_first},        {722034, AsaEvent::svc_new},
    {722032, AsaEvent::svc_replacing},    {722037, AsaEvent::svc_closing},      {722038, AsaEvent::session_end},
    {722036, AsaEvent::large_packet_out}, {722035, AsaEvent::large_packet_in},  {602101, AsaEvent::pmtud_sent},
    {722043, AsaEvent::dtls_disabled},    {716058, AsaEvent::connection_lost},  {716059, AsaEvent::connection_resumed},
}};

// Thrown while reading one of our messages; becomes AsaParse::error.
struct Malformed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool equal_ci(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

size_t find_ci(std::string_view text, std::string_view needle)
{
    if (needle.size() > text.size())
        return std::string_view::npos;
    for (size_t i = 0; i + needle.size() <= text.size(); ++i)
        if (equal_ci(text.substr(i, needle.size()), needle))
            return i;
    return std::string_view::npos;
}

// Enough of a field to recognise it in a log line.
std::string shown(std::string_view text)
{
    constexpr size_t kShown = 64;
    if (text.size() > kShown)
        return "'" + std::string(text.substr(0, kShown)) + "...'";
    return "'" + std::string(text) + "'";
}

// Reads a message body left to right. The ASA's wording is fixed, but its capitalisation has
// changed between releases ("IPv6 address" / "IPv6 Address"), so words match case-insensitively.
class Reader {
public:
    explicit Reader(std::string_view text) : rest_(text) {}

    bool at_end() const { return rest_.empty(); }
    std::string_view rest() const { return rest_; }

    bool accept(std::string_view word)
    {
        if (rest_.size() < word.size() || !equal_ci(rest_.substr(0, word.size()), word))
            return false;
        rest_.remove_prefix(word.size());
        return true;
    }

    void expect(std::string_view word, std::string_view where)
    {
        if (!accept(word))
            throw Malformed("expected '" + std::string(word) + "' " + std::string(where) +
                            ", found " + (rest_.empty() ? std::string("end of line") : shown(rest_)));
    }

    void skip_spaces()
    {
        while (!rest_.empty() && rest_.front() == ' ')
            rest_.remove_prefix(1);
    }

    // Up to (not including) `end`, which is consumed. Names may hold spaces, commas, even '<';
    // the closing delimiter is what ends them.
    std::string_view until(std::string_view end, std::string_view what)
    {
        size_t at = find_ci(rest_, end);
        if (at == std::string_view::npos)
            throw Malformed(std::string(what) + " is not closed by '" + std::string(end) + "'");
        std::string_view field = rest_.substr(0, at);
        rest_.remove_prefix(at + end.size());
        return field;
    }

    std::string_view word()
    {
        size_t end = std::min(rest_.find_first_of(" ,()"), rest_.size());
        std::string_view token = rest_.substr(0, end);
        rest_.remove_prefix(end);
        return token;
    }

    uint32_t number(std::string_view what)
    {
        std::string_view token = word();
        uint32_t value = 0;
        bool ok = !token.empty() && token.size() <= 5;
        for (char c : token)
            ok = ok && is_digit(c);
        if (ok)
            for (char c : token)
                value = value * 10 + static_cast<uint32_t>(c - '0');
        if (!ok || value < 1 || value > 65535)
            throw Malformed(std::string(what) + " " + shown(token) +
                            " is not a whole number from 1 to 65535");
        return value;
    }

    // The end of a message: an optional '.', nothing else.
    void finish(std::string_view after)
    {
        accept(".");
        if (!rest_.empty())
            throw Malformed("unexpected text after " + std::string(after) + ": " + shown(rest_));
    }

private:
    std::string_view rest_;
};

// A client address: IPv4, IPv6, or IPv4 written as ::ffff:a.b.c.d, which is IPv4.
Prefix host_address(std::string_view text, std::string_view what)
{
    std::string_view address = text;
    if (address.size() > 7 && equal_ci(address.substr(0, 7), "::ffff:") &&
        address.find('.') != std::string_view::npos)
        address.remove_prefix(7);
    try {
        return parse_address(address);
    } catch (const std::invalid_argument &e) {
        throw Malformed(std::string(what) + " " + shown(text) + " is not an address");
    }
}

bool unspecified(const Prefix &prefix)
{
    const unsigned first = prefix.ipv4 ? 12 : 0;
    for (unsigned i = first; i < 16; ++i)
        if (prefix.addr.bytes[i])
            return false;
    return true;
}

// "Group <g> User <u> IP <a> ", common to every message we read but 602101.
void read_session(Reader &in, AsaMessage &message)
{
    in.expect("Group <", "at the start");
    message.group = in.until("> User <", "Group <...>");
    message.user = in.until("> IP <", "User <...>");
    message.public_ip = host_address(in.until(">", "IP <..."), "IP");
    in.skip_spaces();
}

SvcChannel read_channel(Reader &in)
{
    if (in.accept("TCP"))
        return SvcChannel::tcp;
    if (in.accept("UDP"))
        return SvcChannel::udp;
    throw Malformed("channel " + shown(in.word()) + " is not TCP or UDP");
}

// A reason runs to the end of the line, without the final '.'.
std::string read_reason(Reader &in, std::string_view what)
{
    std::string_view reason = in.rest();
    while (!reason.empty() && (reason.back() == '.' || reason.back() == ' '))
        reason.remove_suffix(1);
    if (reason.empty())
        throw Malformed(std::string(what) + " has no reason");
    return std::string(reason);
}

// 722051 "IPv4 Address <a> IPv6 address <b> assigned to session"; ASA releases before 9.0 wrote
// "Address <a> assigned to session" with a single address of either family.
void read_assigned(Reader &in, AsaMessage &message)
{
    auto tunnel = [](std::string_view text, std::string_view what) -> std::optional<Prefix> {
        Prefix prefix = host_address(text, what);
        if (unspecified(prefix))
            return std::nullopt;
        return prefix;
    };
    if (in.accept("IPv4 Address <")) {
        std::string_view v4 = in.until(">", "IPv4 Address <...");
        message.tunnel_v4 = tunnel(v4, "IPv4 Address");
        if (message.tunnel_v4 && !message.tunnel_v4->ipv4)
            throw Malformed("IPv4 Address " + shown(v4) + " is not IPv4");
        in.skip_spaces();
        in.expect("IPv6 Address <", "after the IPv4 address");
        std::string_view v6 = in.until(">", "IPv6 Address <...");
        message.tunnel_v6 = tunnel(v6, "IPv6 Address");
        if (message.tunnel_v6 && message.tunnel_v6->ipv4)
            throw Malformed("IPv6 Address " + shown(v6) + " is not IPv6");
    } else {
        in.expect("Address <", "after the public IP");
        std::string_view address = in.until(">", "Address <...");
        std::optional<Prefix> only = tunnel(address, "Address");
        if (only && only->ipv4)
            message.tunnel_v4 = only;
        else
            message.tunnel_v6 = only;
    }
    if (!message.tunnel_v4 && !message.tunnel_v6)
        throw Malformed("assigns neither an IPv4 nor an IPv6 tunnel address");
    in.skip_spaces();
    in.expect("assigned to session", "after the addresses");
    in.finish("'assigned to session'");
}

// 602101 "PMTU-D packet <n> bytes greater than effective mtu <m>, dest_addr=<a>, src_addr=<b>,
// prot=<p>". Cisco's guide prints the separators as " , " and "mtu <m> dest_addr", real
// headends as ", "; any run of spaces and commas separates.
void read_pmtud(Reader &in, AsaMessage &message)
{
    in.expect("PMTU-D packet ", "at the start");
    message.packet_len = in.number("packet length");
    in.expect(" bytes greater than effective mtu ", "after the packet length");
    message.threshold = in.number("effective mtu");

    bool have_dest = false, have_src = false, have_prot = false;
    auto separators = [&] {
        while (in.accept(",") || in.accept(" ")) {
        }
    };
    separators();
    while (!in.at_end()) {
        std::string_view item = in.word();
        size_t equals = item.find('=');
        if (equals == std::string_view::npos)
            throw Malformed("expected key=value after the effective mtu, found " + shown(item));
        std::string_view key = item.substr(0, equals), value = item.substr(equals + 1);
        if (equal_ci(key, "dest_addr")) {
            message.dest_addr = host_address(value, "dest_addr");
            have_dest = true;
        } else if (equal_ci(key, "src_addr")) {
            message.src_addr = host_address(value, "src_addr");
            have_src = true;
        } else if (equal_ci(key, "prot")) {
            if (value.empty())
                throw Malformed("prot is empty");
            message.protocol.clear();
            for (char c : value)
                message.protocol += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            have_prot = true;
        }
        // Other keys a later release may add are skipped.
        separators();
    }
    if (!have_dest)
        throw Malformed("dest_addr is missing");
    if (!have_src)
        throw Malformed("src_addr is missing");
    if (!have_prot)
        throw Malformed("prot is missing");
}

// "<before><TCP|UDP><after>", the whole rest of an SVC connection message; `ending` names the
// end of `after` for the error about text behind it.
void read_svc_connection(Reader &in, AsaMessage &message, std::string_view before, std::string_view after,
                         std::string_view ending)
{
    in.expect(before, "after the public IP");
    message.channel = read_channel(in);
    in.expect(after, "after the channel");
    in.finish(ending);
}

// "<label>: <reason>", the reason running to the end of the line.
// The channel a 722037 reason names, if it names one: some releases say which of the session's
// channels closes ("DPD failure for UDP", "DTLS ..."). A reason that names neither leaves none.
SvcChannel channel_named_in(std::string_view reason)
{
    SvcChannel named = SvcChannel::none;
    size_t i = 0;
    while (i < reason.size()) {
        while (i < reason.size() && !std::isalnum(static_cast<unsigned char>(reason[i])))
            ++i;
        size_t end = i;
        while (end < reason.size() && std::isalnum(static_cast<unsigned char>(reason[end])))
            ++end;
        const std::string_view word = reason.substr(i, end - i);
        if (equal_ci(word, "UDP") || equal_ci(word, "DTLS"))
            named = SvcChannel::udp;
        else if ((equal_ci(word, "TCP") || equal_ci(word, "TLS") || equal_ci(word, "SSL")) && named == SvcChannel::none)
            named = SvcChannel::tcp;
        i = end;
    }
    return named;
}

void read_labelled_reason(Reader &in, AsaMessage &message, std::string_view label)
{
    in.expect(std::string(label) + ":", "after the public IP");
    in.skip_spaces();
    message.reason = read_reason(in, label);
}

void read_body(Reader &in, AsaMessage &message)
{
    if (message.event == AsaEvent::pmtud_sent)
        return read_pmtud(in, message);

    read_session(in, message);
    switch (message.event) {
    case AsaEvent::address_assigned:
        return read_assigned(in, message);
    case AsaEvent::svc_first:
        return read_svc_connection(in, message, "First ", " SVC connection established for SVC session",
                                   "'established for SVC session'");
    case AsaEvent::svc_new:
        return read_svc_connection(in, message, "New ", " SVC connection, no existing connection",
                                   "'no existing connection'");
    case AsaEvent::svc_replacing:
        return read_svc_connection(in, message, "New ", " SVC connection replacing old connection",
                                   "'replacing old connection'");
    case AsaEvent::svc_closing:
        read_labelled_reason(in, message, "SVC closing connection");
        message.channel = channel_named_in(message.reason);
        return;
    case AsaEvent::session_end:
        return read_labelled_reason(in, message, "SVC terminating session");
    case AsaEvent::large_packet_out:
    case AsaEvent::large_packet_in:
        in.expect(message.event == AsaEvent::large_packet_out ? "Transmitting large packet "
                                                              : "Received large packet ",
                  "after the public IP");
        message.packet_len = in.number("packet length");
        in.expect(" (threshold ", "after the packet length");
        message.threshold = in.number("threshold");
        in.expect(")", "after the threshold");
        return in.finish("the threshold");
    case AsaEvent::dtls_disabled:
        return read_labelled_reason(in, message, "DTLS disabled");
    case AsaEvent::connection_lost:
        // "AnyConnect session lost connection. Waiting to resume."; the product name in front
        // has changed ("Secure Client") and is not checked.
        in.until("session lost connection", "connection lost message");
        in.accept(".");
        in.skip_spaces();
        in.expect("Waiting to resume", "after 'session lost connection'");
        return in.finish("'Waiting to resume'");
    case AsaEvent::connection_resumed:
        in.until("session resumed connection from IP <", "connection resumed message");
        message.resumed_from = host_address(in.until(">", "from IP <..."), "resumed from IP");
        return in.finish("the resumed-from IP");
    case AsaEvent::pmtud_sent:
        break;
    }
}

struct Marker {
    size_t body = 0; // first byte after "<id>:"
    unsigned severity = 0;
    uint32_t id = 0;
};

// "%ASA-<sev>-<id>:" or "%ASA-<class>-<sev>-<id>:" (also %FTD-), the first one in the line.
std::optional<Marker> find_marker(std::string_view line)
{
    for (size_t at = line.find('%'); at != std::string_view::npos; at = line.find('%', at + 1)) {
        std::string_view rest = line.substr(at + 1);
        if (rest.substr(0, 4) != "ASA-" && rest.substr(0, 4) != "FTD-")
            continue;
        rest.remove_prefix(4);
        // An optional message class: letters and a '-'.
        size_t letters = 0;
        while (letters < rest.size() && std::isalpha(static_cast<unsigned char>(rest[letters])))
            ++letters;
        if (letters > 0 && letters < rest.size() && rest[letters] == '-')
            rest.remove_prefix(letters + 1);
        if (rest.size() < 9 || rest[0] < '0' || rest[0] > '7' || rest[1] != '-')
            continue;
        Marker marker{0, static_cast<unsigned>(rest[0] - '0'), 0};
        bool digits = true;
        for (size_t i = 2; i < 8; ++i) {
            digits = digits && is_digit(rest[i]);
            if (digits)
                marker.id = marker.id * 10 + static_cast<uint32_t>(rest[i] - '0');
        }
        if (!digits || rest[8] != ':')
            continue;
        marker.body = static_cast<size_t>(rest.data() - line.data()) + 9;
        return marker;
    }
    return std::nullopt;
}

} // namespace

AsaParse parse_asa_line(std::string_view line)
{
    AsaParse result;
    std::optional<Marker> marker = find_marker(line);
    if (!marker) {
        result.error = "no %ASA-<severity>-<id>: marker";
        return result;
    }
    result.message.id = marker->id;
    result.message.severity = marker->severity;
    auto known = std::find_if(kKnown.begin(), kKnown.end(),
                              [&](const Known &k) { return k.id == marker->id; });
    if (known == kKnown.end()) {
        result.status = AsaParseStatus::ignored;
        return result;
    }
    result.message.event = known->event;

    std::string_view body = line.substr(marker->body);
    while (!body.empty() && (body.front() == ' ' || body.front() == '\t'))
        body.remove_prefix(1);
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r' ||
                             body.back() == '\n' || body.back() == '\0'))
        body.remove_suffix(1);

    try {
        Reader in(body);
        read_body(in, result.message);
        result.status = AsaParseStatus::ok;
    } catch (const Malformed &e) {
        result.status = AsaParseStatus::malformed;
        result.error = std::to_string(marker->id) + ": " + e.what();
    }
    return result;
}

const char *asa_event_name(AsaEvent event)
{
    switch (event) {
    case AsaEvent::address_assigned: return "address_assigned";
    case AsaEvent::svc_first: return "svc_first";
    case AsaEvent::svc_new: return "svc_new";
    case AsaEvent::svc_replacing: return "svc_replacing";
    case AsaEvent::svc_closing: return "svc_closing";
    case AsaEvent::session_end: return "session_end";
    case AsaEvent::large_packet_out: return "large_packet_out";
    case AsaEvent::large_packet_in: return "large_packet_in";
    case AsaEvent::pmtud_sent: return "pmtud_sent";
    case AsaEvent::dtls_disabled: return "dtls_disabled";
    case AsaEvent::connection_lost: return "connection_lost";
    case AsaEvent::connection_resumed: return "connection_resumed";
    }
    return "unknown";
}

const char *asa_status_name(AsaParseStatus status)
{
    switch (status) {
    case AsaParseStatus::ok: return "ok";
    case AsaParseStatus::not_asa: return "not_asa";
    case AsaParseStatus::ignored: return "ignored";
    case AsaParseStatus::malformed: return "malformed";
    }
    return "unknown";
}

std::string_view syslog_datagram(std::string_view datagram)
{
    while (!datagram.empty() &&
           (datagram.back() == '\n' || datagram.back() == '\r' || datagram.back() == '\0'))
        datagram.remove_suffix(1);
    return datagram;
}

SyslogFramer::SyslogFramer(size_t max_message) : max_message_(max_message ? max_message : 1)
{
    buffer_.reserve(max_message_);
}

void SyslogFramer::deliver(const std::function<void(std::string_view)> &sink)
{
    std::string_view message = syslog_datagram(buffer_);
    if (!message.empty()) {
        ++messages_;
        sink(message);
    }
    buffer_.clear();
}

void SyslogFramer::feed(std::string_view bytes, const std::function<void(std::string_view)> &sink)
{
    // An octet count of more than 10 digits (9,999,999,999 bytes) is not a real message size.
    constexpr unsigned kMaxCountDigits = 10;

    size_t i = 0;
    while (i < bytes.size()) {
        const char c = bytes[i];
        switch (state_) {
        case State::between:
            if (c == '\n' || c == '\r' || c == '\0') {
                ++i;
            } else if (c >= '1' && c <= '9') {
                state_ = State::count;
                count_ = static_cast<uint64_t>(c - '0');
                count_digits_ = 1;
                ++i;
            } else if (c == '0') {
                // RFC 6587: MSG-LEN = NONZERO-DIGIT *DIGIT.
                ++malformed_;
                state_ = State::skip_line;
                ++i;
            } else {
                state_ = State::line;
            }
            break;

        case State::count:
            if (is_digit(c) && count_digits_ < kMaxCountDigits) {
                count_ = count_ * 10 + static_cast<uint64_t>(c - '0');
                ++count_digits_;
                ++i;
            } else if (c == ' ') {
                ++i;
                if (count_ > max_message_) {
                    ++oversize_;
                    state_ = State::skip_count;
                } else {
                    state_ = State::counted_body;
                }
            } else {
                ++malformed_;
                state_ = c == '\n' ? State::between : State::skip_line;
                ++i;
            }
            break;

        case State::counted_body: {
            size_t take = static_cast<size_t>(std::min<uint64_t>(count_, bytes.size() - i));
            buffer_.append(bytes.substr(i, take));
            i += take;
            count_ -= take;
            if (count_ == 0) {
                deliver(sink);
                state_ = State::between;
            }
            break;
        }

        case State::skip_count: {
            size_t take = static_cast<size_t>(std::min<uint64_t>(count_, bytes.size() - i));
            i += take;
            count_ -= take;
            if (count_ == 0)
                state_ = State::between;
            break;
        }

        case State::line: {
            size_t newline = bytes.find('\n', i);
            size_t end = newline == std::string_view::npos ? bytes.size() : newline;
            if (buffer_.size() + (end - i) > max_message_) {
                ++oversize_;
                buffer_.clear();
                state_ = State::skip_line;
                break; // skip_line consumes up to and including the newline
            }
            buffer_.append(bytes.substr(i, end - i));
            i = end;
            if (newline != std::string_view::npos) {
                ++i;
                deliver(sink);
                state_ = State::between;
            }
            break;
        }

        case State::skip_line: {
            size_t newline = bytes.find('\n', i);
            if (newline == std::string_view::npos) {
                i = bytes.size();
            } else {
                i = newline + 1;
                state_ = State::between;
            }
            break;
        }
        }
    }
}

} // namespace mtuguard
