// Fuzzes parse_occtl_users: any byte string must give users and rejections or an
// std::invalid_argument, never a crash, a hang or another exception, and every user it returns
// must carry a tunnel address (the one promise the ocserv source relies on).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "sources/occtl_users.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view input(reinterpret_cast<const char *>(data), size);
    try {
        mtuguard::OcctlUsers parsed = mtuguard::parse_occtl_users(input);
        for (const auto &user : parsed.users) {
            if (!user.ipv4 && !user.ipv6)
                std::abort();
            if (user.ipv4 && !user.ipv4->ipv4)
                std::abort();
            if (user.ipv6 && user.ipv6->ipv4)
                std::abort();
            if (user.mtu && (*user.mtu < 68 || *user.mtu > 65535))
                std::abort();
        }
        for (const auto &reason : parsed.rejected)
            if (reason.empty())
                std::abort();
    } catch (const std::invalid_argument &) {
    }
    return 0;
}
