// mtuguardctl's command line: its exit statuses and errors, the help texts, and the options and
// words that follow a command.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mtuguard::ctl {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;
// diagnose named a warning or a problem: a monitoring check's "warning or worse".
constexpr int exit_findings = 3;

// A usage error (exit 2): the message says what was wrong.
struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A runtime failure (exit 1): the daemon unreachable, or a request refused. `unreachable` says
// why the socket could not be reached (an errno; 0 when it was and the failure came after).
struct Failure : std::runtime_error {
    explicit Failure(const std::string &what, int unreachable = 0) : std::runtime_error(what), unreachable(unreachable)
    {
    }
    int unreachable;
};

extern const char *const help_text;
// Each command's --help, by command ("session add", "stats", ...).
extern const std::map<std::string, std::string> command_help;

// --name value / --name=value options after the command words; positional words kept in order.
// A flag (one of `flags`, also in `known`) takes no value: given, it reads "yes".
struct Args {
    std::vector<std::string> words;
    std::map<std::string, std::string> options;
    bool help = false;

    // Throws Usage for an option not in `known`, one given twice or one without its value.
    Args(const std::vector<std::string> &argv, const std::vector<std::string> &known,
         const std::vector<std::string> &flags = {});
    std::optional<std::string> get(const std::string &name) const;
};

// A whole number option in [min, max]; throws Usage naming it.
uint32_t number(const std::string &option, const std::string &text, uint64_t min, uint64_t max);

// The command line as read: the global options, the command ("session add"), its arguments.
struct Invocation {
    std::string socket_path = "/run/mtuguard/control.sock";
    bool as_json = false;
    std::string command;
    Args args{{}, {}};
    bool done = false; // --help or --version answered: nothing to run

    // Throws Usage unless the command has between min and max words.
    void expect_words(size_t min, size_t max) const;
};

// Throws Usage; prints --help and --version itself (done).
Invocation parse_invocation(const std::vector<std::string> &argv);

} // namespace mtuguard::ctl
