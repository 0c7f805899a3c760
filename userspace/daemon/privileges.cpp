#include "daemon/privileges.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mtuguard {
namespace {

// The raw syscalls: glibc has no wrapper, and libcap would be a dependency for two calls.
int capget_raw(__user_cap_header_struct *header, __user_cap_data_struct *data)
{
    return int(syscall(SYS_capget, header, data));
}

int capset_raw(__user_cap_header_struct *header, const __user_cap_data_struct *data)
{
    return int(syscall(SYS_capset, header, data));
}

} // namespace

void drop_capabilities(uint64_t for_children, uint64_t keep)
{
    // While CAP_SETPCAP is still effective (a root shell, not systemd, which bounds it already):
    // also empty the bounding set. Stops at the first capability the kernel does not know.
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
        if (cap < 64 && ((for_children | keep) >> cap & 1))
            continue; // a capability kept must stay in the bounding set
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            break; // EPERM without CAP_SETPCAP: the bounding set stays as the service manager set it
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        throw std::system_error(errno, std::generic_category(), "clearing the ambient capabilities");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw std::system_error(errno, std::generic_category(), "setting no_new_privs");
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct kept[_LINUX_CAPABILITY_U32S_3] = {};
    // Permitted and inheritable, never effective: a program run as uid 0 gets its inheritable
    // set as permitted and effective on execve, the daemon itself cannot use them.
    for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word) {
        kept[word].permitted = uint32_t((for_children | keep) >> (32 * word));
        kept[word].inheritable = uint32_t(for_children >> (32 * word));
    }
    if (capset_raw(&header, kept) != 0)
        throw std::system_error(errno, std::generic_category(), "dropping the capabilities");
}

bool raise_capabilities(uint64_t mask)
{
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (capget_raw(&header, data) != 0)
        return false;
    for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word)
        data[word].effective |= uint32_t(mask >> (32 * word)) & data[word].permitted;
    return capset_raw(&header, data) == 0;
}

} // namespace mtuguard
