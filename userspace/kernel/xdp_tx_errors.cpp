#include "kernel/xdp_tx_errors.hpp"

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/fd.hpp"
#include "kernel/netlink.hpp"

namespace mtuguard {

std::vector<std::string> parse_stat_names(const char *data, size_t size, size_t count, size_t width)
{
    std::vector<std::string> names;
    for (size_t i = 0; i < count && width && (i + 1) * width <= size; ++i) {
        const char *field = data + i * width;
        names.emplace_back(field, strnlen(field, width));
    }
    return names;
}

std::optional<uint64_t> sum_xdp_tx_errors(const std::vector<std::string> &names, const std::vector<uint64_t> &values)
{
    static const std::string suffix = "xdp_tx_errors";
    std::optional<uint64_t> sum;
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
        const std::string &name = names[i];
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            sum = sum.value_or(0) + values[i];
    }
    return sum;
}

void TxErrorCount::fold()
{
    if (base_ && last_ && *last_ >= *base_)
        folded_ += *last_ - *base_;
}

void TxErrorCount::rebase(std::optional<uint64_t> driver)
{
    fold();
    base_ = driver;
    last_ = driver;
}

std::optional<uint64_t> TxErrorCount::update(std::optional<uint64_t> driver)
{
    if (!driver)
        return std::nullopt;
    if (!base_)
        base_ = driver;
    if (last_ && *driver < *last_) {
        // Lower than before: the interface was re-created without a rebase; it counts from 0.
        fold();
        base_ = 0;
    }
    last_ = driver;
    return folded_ + (*driver - *base_);
}

namespace {

bool ethtool(int fd, const std::string &ifname, void *data)
{
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    request.ifr_data = static_cast<char *>(data);
    return ioctl(fd, SIOCETHTOOL, &request) == 0;
}

} // namespace

std::optional<uint64_t> read_xdp_tx_errors(const std::string &ifname)
{
    Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return std::nullopt;
    // How many statistics: a one-bit mask in, the count in the one data word after the header out.
    uint64_t info_buffer[(sizeof(ethtool_sset_info) + sizeof(uint32_t) + sizeof(uint64_t) - 1) / sizeof(uint64_t)] = {};
    auto *info = reinterpret_cast<ethtool_sset_info *>(info_buffer);
    info->cmd = ETHTOOL_GSSET_INFO;
    info->sset_mask = uint64_t(1) << ETH_SS_STATS;
    if (!ethtool(fd.get(), ifname, info) || !(info->sset_mask & (uint64_t(1) << ETH_SS_STATS)))
        return std::nullopt;
    const uint32_t count = info->data[0];
    // A driver with tens of thousands of statistics is not one to trust with a buffer.
    if (count == 0 || count > 65536)
        return std::nullopt;

    std::vector<char> strings(sizeof(ethtool_gstrings) + size_t(count) * ETH_GSTRING_LEN);
    auto *gstrings = reinterpret_cast<ethtool_gstrings *>(strings.data());
    gstrings->cmd = ETHTOOL_GSTRINGS;
    gstrings->string_set = ETH_SS_STATS;
    gstrings->len = count;
    if (!ethtool(fd.get(), ifname, gstrings))
        return std::nullopt;
    // The statistics may have changed in number between the calls (a queue added): read only
    // what both answers cover.
    const uint32_t names_count = std::min(count, gstrings->len);
    const auto names = parse_stat_names(reinterpret_cast<const char *>(gstrings->data),
                                        size_t(names_count) * ETH_GSTRING_LEN, names_count, ETH_GSTRING_LEN);
    if (!sum_xdp_tx_errors(names, std::vector<uint64_t>(names.size(), 0)))
        return std::nullopt; // no such statistic: no need to read the values

    std::vector<uint64_t> buffer((sizeof(ethtool_stats) + sizeof(uint64_t) - 1) / sizeof(uint64_t) + count);
    auto *stats = reinterpret_cast<ethtool_stats *>(buffer.data());
    stats->cmd = ETHTOOL_GSTATS;
    stats->n_stats = count;
    if (!ethtool(fd.get(), ifname, stats))
        return std::nullopt;
    std::vector<uint64_t> values(stats->data, stats->data + std::min(count, stats->n_stats));
    return sum_xdp_tx_errors(names, values);
}

namespace {

struct LinkAnswer {
    int error = 0; // errno, 0 when answered
    std::string name, kind;
    std::optional<uint32_t> link;
    std::optional<int32_t> link_netnsid;
    bool xdp = false;
};

void parse_attributes(rtattr *attribute, int length, LinkAnswer &out)
{
    for (; RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
        const size_t size = RTA_PAYLOAD(attribute);
        const void *data = RTA_DATA(attribute);
        switch (attribute->rta_type) {
        case IFLA_IFNAME: out.name.assign(static_cast<const char *>(data), strnlen(static_cast<const char *>(data), size)); break;
        case IFLA_LINK:
            if (size >= 4)
                out.link = *static_cast<const uint32_t *>(data);
            break;
        case IFLA_LINK_NETNSID:
            if (size >= 4)
                out.link_netnsid = *static_cast<const int32_t *>(data);
            break;
        case IFLA_LINKINFO: {
            int inner_length = int(size);
            for (auto *inner = static_cast<rtattr *>(RTA_DATA(attribute)); RTA_OK(inner, inner_length);
                 inner = RTA_NEXT(inner, inner_length))
                if (inner->rta_type == IFLA_INFO_KIND)
                    out.kind.assign(static_cast<const char *>(RTA_DATA(inner)),
                                    strnlen(static_cast<const char *>(RTA_DATA(inner)), RTA_PAYLOAD(inner)));
            break;
        }
        case IFLA_XDP: {
            int inner_length = int(size);
            for (auto *inner = static_cast<rtattr *>(RTA_DATA(attribute)); RTA_OK(inner, inner_length);
                 inner = RTA_NEXT(inner, inner_length))
                if (inner->rta_type == IFLA_XDP_ATTACHED && RTA_PAYLOAD(inner) >= 1)
                    out.xdp = *static_cast<const uint8_t *>(RTA_DATA(inner)) != XDP_ATTACHED_NONE;
            break;
        }
        default: break;
        }
    }
}

// One RTM_GETLINK for `ifindex`, in this namespace or in the one `netnsid` names.
LinkAnswer get_link(uint32_t ifindex, std::optional<int32_t> netnsid)
{
    LinkAnswer out;
    Fd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) {
        out.error = errno;
        return out;
    }
    // Never hang the caller on a kernel that does not answer.
    timeval timeout{1, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct {
        nlmsghdr header;
        ifinfomsg link;
        alignas(RTA_ALIGNTO) char attributes[RTA_SPACE(sizeof(int32_t))];
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    request.header.nlmsg_type = RTM_GETLINK;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.link.ifi_family = AF_UNSPEC;
    request.link.ifi_index = int(ifindex);
    if (netnsid) {
        auto *attribute = reinterpret_cast<rtattr *>(reinterpret_cast<char *>(&request) + NLMSG_ALIGN(request.header.nlmsg_len));
        attribute->rta_type = IFLA_TARGET_NETNSID;
        attribute->rta_len = RTA_LENGTH(sizeof(int32_t));
        std::memcpy(RTA_DATA(attribute), &*netnsid, sizeof(int32_t));
        request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_SPACE(sizeof(int32_t));
    }
    if (send(fd.get(), &request, request.header.nlmsg_len, 0) < 0) {
        out.error = errno;
        return out;
    }
    alignas(nlmsghdr) char buffer[16384];
    const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n < 0) {
        out.error = errno;
        return out;
    }
    for (nlmsghdr *message : netlink_messages(buffer, n)) {
        if (message->nlmsg_type == NLMSG_ERROR && message->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
            out.error = -static_cast<nlmsgerr *>(NLMSG_DATA(message))->error;
            return out;
        }
        if (message->nlmsg_type != RTM_NEWLINK || message->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg)))
            continue;
        auto *link = static_cast<ifinfomsg *>(NLMSG_DATA(message));
        parse_attributes(IFLA_RTA(link), int(IFLA_PAYLOAD(message)), out);
        return out;
    }
    out.error = EPROTO;
    return out;
}

} // namespace

PeerCheck check_veth_peer(uint32_t ifindex)
{
    PeerCheck check;
    const LinkAnswer self = get_link(ifindex, std::nullopt);
    if (self.error || self.kind != "veth")
        return check;
    if (!self.link || !*self.link) {
        check.state = PeerXdp::Unknown;
        check.why = "the kernel did not name its peer";
        return check;
    }
    check.peer_ifindex = *self.link;
    check.other_namespace = self.link_netnsid.has_value();
    const LinkAnswer peer = get_link(*self.link, self.link_netnsid);
    if (peer.error) {
        check.state = PeerXdp::Unknown;
        check.why = std::strerror(peer.error);
        return check;
    }
    check.peer_name = peer.name;
    check.state = peer.xdp ? PeerXdp::Attached : PeerXdp::Missing;
    return check;
}

} // namespace mtuguard
