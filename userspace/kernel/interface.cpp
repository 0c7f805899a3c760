#include "kernel/interface.hpp"

#include <ifaddrs.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace mtuguard {
namespace {

uint32_t interface_mtu(const std::string &name)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    int mtu = ioctl(fd, SIOCGIFMTU, &request) == 0 ? request.ifr_mtu : 0;
    close(fd);
    return mtu > 0 ? mtu : 0;
}

// An Ethernet interface's own MAC address: the source of the ICMP errors it sends.
std::optional<std::array<uint8_t, 6>> interface_mac(const std::string &name)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::nullopt;
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    const bool ok = ioctl(fd, SIOCGIFHWADDR, &request) == 0 && request.ifr_hwaddr.sa_family == ARPHRD_ETHER;
    close(fd);
    if (!ok)
        return std::nullopt;
    std::array<uint8_t, 6> mac;
    std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

bool link_local(const in6_addr &a) { return a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80; }

} // namespace

InterfaceInfo query_interface(const std::string &name)
{
    InterfaceInfo info;
    info.name = name;
    info.ifindex = if_nametoindex(name.c_str());
    if (info.ifindex == 0)
        throw std::runtime_error("no such interface");
    info.mtu = interface_mtu(name);
    // The link type decides whether XDP sees an Ethernet header (ARPHRD_ETHER = 1).
    std::ifstream type("/sys/class/net/" + name + "/type");
    int link_type = 1;
    type >> link_type;
    info.l3_only = link_type != 1;
    if (!info.l3_only)
        info.mac = interface_mac(name);

    ifaddrs *list = nullptr;
    if (getifaddrs(&list) != 0)
        return info;
    std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
    for (ifaddrs *entry = list; entry; entry = entry->ifa_next) {
        if (!entry->ifa_addr || name != entry->ifa_name)
            continue;
        if (entry->ifa_addr->sa_family == AF_INET) {
            Prefix p;
            p.ipv4 = true;
            p.length = 32;
            p.addr = map_ipv4(reinterpret_cast<sockaddr_in *>(entry->ifa_addr)->sin_addr.s_addr);
            info.addresses.push_back(p);
            if (!info.address4)
                info.address4 = p;
        } else if (entry->ifa_addr->sa_family == AF_INET6) {
            const in6_addr &a = reinterpret_cast<sockaddr_in6 *>(entry->ifa_addr)->sin6_addr;
            Prefix any;
            any.length = 128;
            std::memcpy(any.addr.bytes, &a, sizeof(a));
            info.addresses.push_back(any);
            // Senders beyond this link must be able to route to the error's source.
            if (info.address6 && !(link_local(*reinterpret_cast<const in6_addr *>(
                                       info.address6->addr.bytes)) &&
                                   !link_local(a)))
                continue;
            Prefix p;
            p.length = 128;
            std::memcpy(p.addr.bytes, &a, sizeof(a));
            info.address6 = p;
        }
    }
    return info;
}

} // namespace mtuguard
