#include "kernel/link_monitor.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "kernel/netlink.hpp"

namespace mtuguard {
LinkMonitor::LinkMonitor() : socket_(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE))
{
    if (!socket_)
        fail(errno, "link monitor: socket");
    // Room for a burst (a headend creating a tun device per session): an overrun only costs a
    // look at every interface, but it is cheaper not to have one.
    int size = 1 << 20;
    setsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (bind(socket_.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0)
        fail(errno, "link monitor: bind");
}

LinkChanges LinkMonitor::read()
{
    LinkChanges changes;
    alignas(nlmsghdr) char buffer[32768];
    for (;;) {
        ssize_t n = recv(socket_.get(), buffer, sizeof(buffer), 0);
        if (n < 0) {
            if (errno == ENOBUFS) {
                changes.overrun = true;
                continue;
            }
            if (errno == EINTR)
                continue;
            break; // EAGAIN: all read
        }
        for (nlmsghdr *message : netlink_messages(buffer, n)) {
            if (message->nlmsg_type == NLMSG_OVERRUN) {
                changes.overrun = true;
            } else if (message->nlmsg_type == RTM_NEWLINK || message->nlmsg_type == RTM_DELLINK) {
                if (message->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg)))
                    continue;
                auto *link = static_cast<ifinfomsg *>(NLMSG_DATA(message));
                changes.ifindexes.insert(uint32_t(link->ifi_index));
                int attributes_length = int(IFLA_PAYLOAD(message));
                for (rtattr *attribute = IFLA_RTA(link); RTA_OK(attribute, attributes_length);
                     attribute = RTA_NEXT(attribute, attributes_length)) {
                    if (attribute->rta_type == IFLA_IFNAME)
                        changes.names.insert(std::string(static_cast<const char *>(RTA_DATA(attribute)),
                                                         strnlen(static_cast<const char *>(RTA_DATA(attribute)),
                                                                 RTA_PAYLOAD(attribute))));
                }
            } else if (message->nlmsg_type == RTM_NEWADDR || message->nlmsg_type == RTM_DELADDR) {
                if (message->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg)))
                    continue;
                changes.ifindexes.insert(static_cast<ifaddrmsg *>(NLMSG_DATA(message))->ifa_index);
            }
        }
    }
    return changes;
}

} // namespace mtuguard
