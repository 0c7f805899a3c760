#include "common/log.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mtuguard::log {
namespace {

bool stderr_is_journal()
{
    const char *stream = std::getenv("JOURNAL_STREAM");
    struct stat st;
    if (!stream || fstat(fileno(stderr), &st) != 0)
        return false;
    return std::string(stream) ==
           std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

const char *level_name(Level level)
{
    switch (level) {
    case Error: return "error";
    case Warning: return "warning";
    case Notice: return "notice";
    case Info: return "info";
    default: return "debug";
    }
}

// Messages carry names from the network (ASA group and user names, occtl's fields): a control
// character is written as \xNN, so that none can end the line early, start a forged one or
// drive a terminal.
std::string printable(const std::string &message)
{
    std::string out;
    out.reserve(message.size());
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f) {
            out += c;
        } else {
            char escaped[5];
            std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
            out += escaped;
        }
    }
    return out;
}

} // namespace

bool to_journal()
{
    static const bool journal = stderr_is_journal();
    return journal;
}

void write(Level level, const std::string &message)
{
    const std::string line = printable(message);
    if (to_journal())
        std::fprintf(stderr, "<%d>%s\n", level, line.c_str());
    else
        std::fprintf(stderr, "mtuguardd: %s: %s\n", level_name(level), line.c_str());
}

} // namespace mtuguard::log
