// Command-line helpers of the test and benchmark tools (tool_options.hpp).
#include "tool_options.hpp"

#include <net/if.h>

#include <cstdio>
#include <stdexcept>

namespace mtuguard::test {

void fail(const std::string &what) { throw std::runtime_error(what); }

int tool_main(const char *name, int (*run)(int, char **), int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
        return 1;
    }
}

std::map<std::string, std::string> parse_options(int argc, char **argv, int first, const std::set<std::string> &flags)
{
    std::map<std::string, std::string> options;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0)
            fail("unexpected " + a);
        if (flags.count(a.substr(2))) {
            options[a.substr(2)] = "1";
            continue;
        }
        if (i + 1 >= argc)
            fail(a + " needs a value");
        options[a.substr(2)] = argv[++i];
    }
    return options;
}

Mac parse_mac(const std::string &text)
{
    unsigned b[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        fail("not a MAC address: " + text);
    Mac mac;
    for (int i = 0; i < 6; ++i)
        mac[i] = uint8_t(b[i]);
    return mac;
}

uint32_t ifindex_of(const std::string &name)
{
    uint32_t ifindex = if_nametoindex(name.c_str());
    if (!ifindex)
        fail("no interface " + name);
    return ifindex;
}

} // namespace mtuguard::test
