// Fuzzes parse_ocserv_pools: any ocserv.conf must give pools or an std::invalid_argument, never a
// crash, a hang or another exception, and each pool must be of its own family (the client pools
// are laid out by family).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "config/ocserv_conf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::istringstream input(std::string(reinterpret_cast<const char *>(data), size));
    try {
        const mtuguard::OcservPools pools = mtuguard::parse_ocserv_pools(input);
        if ((pools.ipv4 && !pools.ipv4->ipv4) || (pools.ipv6 && pools.ipv6->ipv4))
            std::abort();
    } catch (const std::invalid_argument &) {
    }
    return 0;
}
