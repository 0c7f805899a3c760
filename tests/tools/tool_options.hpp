// What the test and benchmark tools (tests/tools/flood.cpp, bench/live_tool.cpp) parse from their
// command lines, and how they fail: one message on stderr, exit status 1.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "packet.hpp"

namespace mtuguard::test {

[[noreturn]] void fail(const std::string &what);
// A tool's main: `run`'s exit status, or its failure as "NAME: what" on stderr and status 1.
int tool_main(const char *name, int (*run)(int, char **), int argc, char **argv);

// "--name value" pairs from argv[first] on; a name in `flags` takes no value ("1").
std::map<std::string, std::string> parse_options(int argc, char **argv, int first,
                                                 const std::set<std::string> &flags = {});
Mac parse_mac(const std::string &text);
uint32_t ifindex_of(const std::string &name);

} // namespace mtuguard::test
