#include "sources/occtl_users.hpp"

#include <array>
#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace mtuguard {
namespace {

// The keys we read; everything else in an entry is skipped.
enum Field { kId, kUsername, kGroupname, kDevice, kRemoteIp, kIpv4, kIpv6, kMtu, kFullSession, kConnectedAt,
             kDtlsCipher, kFieldCount };

constexpr std::array<std::string_view, kFieldCount> kFieldKeys = {
    "ID", "Username", "Groupname", "Device", "Remote IP", "IPv4", "IPv6", "MTU", "Full session",
    "raw_connected_at", "DTLS cipher"};

// A value as the document gave it. Containers are only noted, their contents are not kept.
struct Value {
    enum Kind { String, Integer, Float, Boolean, Null, Array, Object } kind = Null;
    std::string text; // the string, or the number in decimal
};

const char *kind_name(Value::Kind kind)
{
    switch (kind) {
    case Value::String: return "a string";
    case Value::Integer: return "a number";
    case Value::Float: return "a fractional number";
    case Value::Boolean: return "a boolean";
    case Value::Null: return "null";
    case Value::Array: return "an array";
    case Value::Object: return "an object";
    }
    return "?";
}

struct Entry {
    std::array<std::optional<Value>, kFieldCount> fields;
};

// Streams the document and keeps per entry only the fields above. Depth counts open containers:
// 1 inside the top-level array, 2 inside an entry object; anything deeper is skipped.
class UsersHandler : public nlohmann::json_sax<nlohmann::json> {
public:
    std::vector<Entry> entries;                      // object entries, in document order
    std::vector<std::pair<size_t, std::string>> non_objects; // (index, what it was)
    std::string error;                               // why the whole document is unusable
    size_t entry_count = 0;

    bool null() override { return scalar({Value::Null, ""}); }
    bool boolean(bool value) override { return scalar({Value::Boolean, value ? "true" : "false"}); }
    bool number_integer(number_integer_t value) override
    {
        return scalar({Value::Integer, std::to_string(value)});
    }
    bool number_unsigned(number_unsigned_t value) override
    {
        return scalar({Value::Integer, std::to_string(value)});
    }
    bool number_float(number_float_t, const string_t &text) override
    {
        return scalar({Value::Float, text});
    }
    bool string(string_t &value) override { return scalar({Value::String, std::move(value)}); }
    bool binary(binary_t &) override { return scalar({Value::Null, ""}); }

    bool start_object(std::size_t) override { return open(Value::Object); }
    bool start_array(std::size_t) override { return open(Value::Array); }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }

    bool key(string_t &name) override
    {
        if (depth_ == 2 && in_entry_) {
            field_ = kFieldCount;
            for (size_t i = 0; i < kFieldCount; ++i)
                if (name == kFieldKeys[i])
                    field_ = static_cast<Field>(i);
        }
        return true;
    }

    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &e) override
    {
        // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep line, column and cause.
        std::string what = e.what();
        if (auto tag = what.find("] "); what.rfind("[json.exception", 0) == 0 && tag != std::string::npos)
            what.erase(0, tag + 2);
        error = "occtl output is not valid JSON: " + what;
        return false;
    }

private:
    int depth_ = 0;
    bool in_entry_ = false; // the open depth-1 container is an entry object, not an array
    Field field_ = kFieldCount;

    bool new_entry()
    {
        if (++entry_count > max_occtl_entries) {
            error = "occtl output has more than " + std::to_string(max_occtl_entries) + " entries";
            return false;
        }
        return true;
    }

    bool scalar(Value value)
    {
        if (depth_ == 0) {
            error = std::string("occtl output is ") + kind_name(value.kind) +
                    ", not an array of users";
            return false;
        }
        if (depth_ == 1) {
            if (!new_entry())
                return false;
            non_objects.emplace_back(entry_count - 1, kind_name(value.kind));
        } else if (depth_ == 2 && in_entry_ && field_ != kFieldCount) {
            entries.back().fields[field_] = std::move(value);
        }
        return true;
    }

    bool open(Value::Kind kind)
    {
        if (depth_ == 0 && kind == Value::Object) {
            error = "occtl output is a JSON object, not an array of users";
            return false;
        }
        if (depth_ == 1) {
            if (!new_entry())
                return false;
            in_entry_ = kind == Value::Object;
            field_ = kFieldCount;
            if (in_entry_)
                entries.emplace_back();
            else
                non_objects.emplace_back(entry_count - 1, kind_name(kind));
        } else if (depth_ == 2 && in_entry_ && field_ != kFieldCount) {
            entries.back().fields[field_] = Value{kind, ""};
        }
        ++depth_;
        return true;
    }

    bool close()
    {
        --depth_;
        return true;
    }
};

// Thrown inside one entry's conversion; becomes that entry's rejection message.
struct EntryError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string shown(std::string_view text)
{
    // Enough to recognise the value in a log line without echoing a megabyte of junk.
    constexpr size_t kShown = 64;
    if (text.size() > kShown)
        return "'" + std::string(text.substr(0, kShown)) + "...' (" + std::to_string(text.size()) +
               " bytes)";
    return "'" + std::string(text) + "'";
}

bool is_decimal(std::string_view text)
{
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// A string field; a missing key or null is an empty string.
std::string text_field(const Entry &entry, Field field)
{
    const auto &value = entry.fields[field];
    if (!value || value->kind == Value::Null)
        return {};
    if (value->kind != Value::String)
        throw EntryError(std::string(kFieldKeys[field]) + " is " + kind_name(value->kind) +
                         ", not a string");
    return value->text;
}

// A whole number written as a JSON number or as a decimal string, kept as decimal text.
std::string decimal_field(const Entry &entry, Field field)
{
    const auto &value = entry.fields[field];
    if (!value || value->kind == Value::Null)
        return {};
    if (value->kind != Value::String && value->kind != Value::Integer)
        throw EntryError(std::string(kFieldKeys[field]) + " is " + kind_name(value->kind) +
                         ", not a whole number");
    if (!is_decimal(value->text))
        throw EntryError(std::string(kFieldKeys[field]) + " " + shown(value->text) +
                         " is not a non-negative whole number");
    return value->text;
}

std::optional<uint32_t> mtu_field(const Entry &entry)
{
    std::string text = decimal_field(entry, kMtu);
    if (text.empty())
        return std::nullopt;
    // 68: the smallest MTU IPv4 allows (RFC 791); anything above 65535 cannot be an IP MTU.
    uint32_t mtu = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mtu);
    if (ec != std::errc() || end != text.data() + text.size() || mtu < 68 || mtu > 65535)
        throw EntryError("MTU " + shown(text) + " is not from 68 to 65535");
    return mtu;
}

// occtl prints "(none)" where a value is absent in some releases and leaves the key out in
// others; both mean "no address".
bool absent_address(std::string_view text)
{
    return text.empty() || text == "(none)";
}

// An IPv4 address written as IPv6 (ocserv listening on a dual-stack socket reports IPv4
// clients as ::ffff:a.b.c.d) is an IPv4 address.
Prefix parse_host(std::string_view text)
{
    if (text.size() > 7 && (text.substr(0, 7) == "::ffff:" || text.substr(0, 7) == "::FFFF:") &&
        text.find('.') != std::string_view::npos)
        text.remove_prefix(7);
    return parse_address(text);
}

std::optional<Prefix> remote_field(const Entry &entry)
{
    std::string text = text_field(entry, kRemoteIp);
    if (absent_address(text))
        return std::nullopt;
    try {
        return parse_host(text);
    } catch (const std::invalid_argument &e) {
        throw EntryError(std::string("Remote IP ") + shown(text) + " is not an address: " + e.what());
    }
}

// A tunnel address, optionally with a prefix length. A shorter prefix is the network routed to
// the client, so its host bits are cleared rather than refused.
std::optional<Prefix> tunnel_field(const Entry &entry, Field field, bool want_ipv4)
{
    std::string text = text_field(entry, field);
    if (absent_address(text))
        return std::nullopt;
    const std::string name(kFieldKeys[field]);
    std::string_view address(text);
    std::optional<unsigned> length;
    if (auto slash = address.find('/'); slash != std::string_view::npos) {
        std::string_view digits = address.substr(slash + 1);
        if (!is_decimal(digits) || digits.size() > 3)
            throw EntryError(name + " " + shown(text) + " has a bad prefix length");
        length = std::stoul(std::string(digits));
        address = address.substr(0, slash);
    }
    Prefix prefix;
    try {
        prefix = parse_address(address);
    } catch (const std::invalid_argument &e) {
        throw EntryError(name + " " + shown(text) + " is not an address: " + e.what());
    }
    if (prefix.ipv4 != want_ipv4)
        throw EntryError(name + " " + shown(text) + " is not an " + name + " address");
    const unsigned full = want_ipv4 ? 32 : 128;
    if (length) {
        if (*length > full || *length == 0)
            throw EntryError(name + " " + shown(text) + " has prefix length " +
                             std::to_string(*length) + ", not 1-" + std::to_string(full));
        prefix.length = *length;
        for (unsigned bit = prefix.mapped_length(); bit < 128; ++bit)
            prefix.addr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    return prefix;
}

OcctlUser convert(const Entry &entry)
{
    OcctlUser user;
    user.id = decimal_field(entry, kId);
    user.username = text_field(entry, kUsername);
    user.groupname = text_field(entry, kGroupname);
    user.device = text_field(entry, kDevice);
    user.remote_ip = remote_field(entry);
    user.ipv4 = tunnel_field(entry, kIpv4, true);
    user.ipv6 = tunnel_field(entry, kIpv6, false);
    user.mtu = mtu_field(entry);
    user.full_session = text_field(entry, kFullSession);
    user.connected_at = decimal_field(entry, kConnectedAt);
    user.dtls_cipher = text_field(entry, kDtlsCipher);
    // Without a tunnel address there is nothing to enforce an MTU on.
    if (!user.ipv4 && !user.ipv6)
        throw EntryError("has neither an IPv4 nor an IPv6 tunnel address");
    return user;
}

// "entry 3 (ID 17, user 'alice')": as much as can be read safely, to find the user in occtl.
std::string describe(size_t index, const Entry &entry)
{
    std::string out = "entry " + std::to_string(index);
    std::string who;
    const auto &id = entry.fields[kId];
    if (id && (id->kind == Value::Integer || id->kind == Value::String) && is_decimal(id->text) &&
        id->text.size() <= 20)
        who = "ID " + id->text;
    const auto &name = entry.fields[kUsername];
    if (name && name->kind == Value::String)
        who += (who.empty() ? "user " : ", user ") + shown(name->text);
    return who.empty() ? out : out + " (" + who + ")";
}

} // namespace

OcctlUsers parse_occtl_users(std::string_view json)
{
    if (json.size() > max_occtl_document_bytes)
        throw std::invalid_argument("occtl output is " + std::to_string(json.size()) +
                                    " bytes, more than the " +
                                    std::to_string(max_occtl_document_bytes >> 20) + " MiB limit");
    if (json.find_first_not_of(" \t\r\n") == std::string_view::npos)
        throw std::invalid_argument("occtl output is empty");

    UsersHandler handler;
    if (!nlohmann::json::sax_parse(json.begin(), json.end(), &handler))
        throw std::invalid_argument(handler.error.empty() ? "occtl output is not valid JSON"
                                                          : handler.error);

    OcctlUsers result;
    // Entries are numbered in document order whatever their type, as a reader of the raw
    // output would count them.
    size_t next_object = 0, next_other = 0;
    for (size_t index = 0; index < handler.entry_count; ++index) {
        if (next_other < handler.non_objects.size() &&
            handler.non_objects[next_other].first == index) {
            result.rejected.push_back("entry " + std::to_string(index) + " is " +
                                      handler.non_objects[next_other].second +
                                      ", not a user object");
            ++next_other;
            continue;
        }
        const Entry &entry = handler.entries[next_object++];
        try {
            result.users.push_back(convert(entry));
        } catch (const EntryError &e) {
            result.rejected.push_back(describe(index, entry) + ": " + e.what());
        }
    }
    return result;
}

} // namespace mtuguard
