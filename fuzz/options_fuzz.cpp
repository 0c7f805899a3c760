// mtuguardd's command line: the input split into arguments at NUL bytes, or at whitespace when it
// has none (so the seed corpus is readable). parse_command_line may only throw UsageError; what it
// accepts must be a configuration the daemon can start from.
#include <cctype>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace mtuguard;

namespace {

std::vector<std::string> split(std::string_view input)
{
    const bool at_nul = input.find('\0') != std::string_view::npos;
    std::vector<std::string> args;
    std::string arg;
    bool in_arg = false;
    for (char c : input) {
        const bool separator = at_nul ? c == '\0' : std::isspace(static_cast<unsigned char>(c));
        if (separator) {
            if (at_nul || in_arg)
                args.push_back(arg);
            arg.clear();
            in_arg = false;
        } else {
            arg += c;
            in_arg = true;
        }
    }
    if (in_arg)
        args.push_back(arg);
    return args;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view input = fuzz::text(data, size);
    std::vector<std::string> args = split(input);
    if (args.size() > 64)
        return 0; // nothing new past a few dozen options; keeps each run short
    std::vector<const char *> argv{"mtuguardd"};
    for (const auto &arg : args)
        argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    try {
        const CommandLine command_line = parse_command_line(int(argv.size() - 1), argv.data());
        FUZZ_CHECK(!command_line.help_text.empty(), input);
        if (command_line.help || command_line.version)
            return 0;
        const Config &config = command_line.config;
        FUZZ_CHECK(!config.ifaces.empty(), input);
        FUZZ_CHECK(config.max_sessions >= 1 && config.max_sessions <= 4'194'304, input);
        FUZZ_CHECK(config.on_oversize < MG_ACTION_COUNT, input);
        FUZZ_CHECK(config.icmp_global.burst >= 1 && config.icmp_per_source.burst >= 1, input);
        for (const auto &name : config.ifaces)
            FUZZ_CHECK(!name.empty() && name.size() < 16, input);
        for (const auto &spec : config.sessions)
            FUZZ_CHECK(spec.session.dtls_mtu >= MG_MIN_MTU && spec.session.tls_mtu >= MG_MIN_MTU, input);
        FUZZ_CHECK(config.pin_path.empty() || config.pin_path.front() == '/', input);
        FUZZ_CHECK(config.control_socket.empty() || config.control_socket.front() == '/', input);
    } catch (const UsageError &) {
    }
    return 0;
}
