// mtuguardctl: talks to a running mtuguardd over its control socket (sessions, counters,
// status, tracking, diagnose, detach) and computes tunnel MTUs from a cipher (mtu-calc, no
// daemon needed). arguments.hpp reads the command line, commands.cpp runs each command.
#include <iostream>
#include <string>
#include <vector>

#include "ctl/arguments.hpp"
#include "ctl/commands.hpp"

using namespace mtuguard::ctl;

int main(int argc, char **argv)
{
    try {
        const Invocation in = parse_invocation(std::vector<std::string>(argv + 1, argv + argc));
        return in.done ? exit_ok : run_command(in);
    } catch (const Usage &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\nTry 'mtuguardctl --help'.\n";
        return exit_usage;
    } catch (const Failure &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\n";
        return exit_runtime;
    } catch (const std::exception &e) {
        std::cerr << "mtuguardctl: " << e.what() << "\n";
        return exit_runtime;
    }
}
