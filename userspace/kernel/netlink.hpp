// The messages of one rtnetlink read, for the link monitor and the veth peer check.
#pragma once

#include <linux/netlink.h>
#include <sys/types.h>

#include <vector>

namespace mtuguard {

// The whole messages in the first `length` bytes of `buffer` (a recv() count, never negative).
inline std::vector<nlmsghdr *> netlink_messages(char *buffer, ssize_t length)
{
    std::vector<nlmsghdr *> messages;
    int left = int(length);
// NLMSG_OK compares the u32 nlmsg_len with the int length it is given (clang's -Wsign-compare).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto *message = reinterpret_cast<nlmsghdr *>(buffer); NLMSG_OK(message, left);
         message = NLMSG_NEXT(message, left))
        messages.push_back(message);
#pragma GCC diagnostic pop
    return messages;
}

} // namespace mtuguard
