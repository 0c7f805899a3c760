// mtuguardd's options as program_options declares them (the command line and the INI config file
// alike), the text --help shows, and program_options' errors as a user reads them. config.cpp
// turns what they hold into a Config.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace mtuguard {

// Where program_options stores what it parsed, before validation turns it into a Config.
struct RawOptions {
    std::vector<std::string> ifaces, client_ifaces, sessions, client_pools, icmp_sources, outside_ifaces, asa_groups;
    std::map<std::string, std::string> scalars;
    bool keep_attached = false;
    bool ocserv = false;
};

// Every option, bound to `raw` (which must outlive the result).
boost::program_options::options_description make_options(RawOptions &raw);

// The whole --help: usage, the options, examples.
std::string help_text(const boost::program_options::options_description &options);

// The message of a program_options error; `written_with_percent`: what was parsed had a '%'.
std::string error_message(const boost::program_options::error &error, bool written_with_percent);

} // namespace mtuguard
