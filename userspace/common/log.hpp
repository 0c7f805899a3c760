// One line per event on stderr. Under systemd (JOURNAL_STREAM names our stderr) each line
// starts with its syslog priority as "<N>", which journald turns into the entry's level.
#pragma once

#include <string>

namespace mtuguard::log {

enum Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void write(Level level, const std::string &message);

// stderr is the journal's stream (JOURNAL_STREAM names it): write() prefixes each line's priority.
bool to_journal();

inline void error(const std::string &m) { write(Error, m); }
inline void warning(const std::string &m) { write(Warning, m); }
inline void info(const std::string &m) { write(Info, m); }

} // namespace mtuguard::log
