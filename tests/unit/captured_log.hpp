// What a test's code writes to stderr (the daemon's log) while it runs, for tests that check a
// log line.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mtuguard {

// What is written to stderr (the log) while `run` runs.
template <class Run> std::string captured_log(Run run)
{
    std::fflush(stderr);
    char path[] = "/tmp/mtuguard-log-XXXXXX";
    const int file = mkstemp(path);
    const int saved = dup(STDERR_FILENO);
    dup2(file, STDERR_FILENO);
    run();
    std::fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(file);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    return text.str();
}

} // namespace mtuguard
