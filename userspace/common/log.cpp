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

} // namespace

void write(Level level, const std::string &message)
{
    static const bool journal = stderr_is_journal();
    if (journal)
        std::fprintf(stderr, "<%d>%s\n", level, message.c_str());
    else
        std::fprintf(stderr, "mtuguardd: %s: %s\n", level_name(level), message.c_str());
}

} // namespace mtuguard::log
