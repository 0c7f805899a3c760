// The ethtool statistics behind mtuguard_icmp_tx_errors_total: the fixed-width names of an
// ETHTOOL_GSTRINGS answer and the sum of every *xdp_tx_errors, without a kernel.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernel/xdp_tx_errors.hpp"

namespace mtuguard {
namespace {

constexpr size_t width = 32; // ETH_GSTRING_LEN

// An ETHTOOL_GSTRINGS answer: each name in a zero-padded field of `width` bytes.
std::string gstrings(const std::vector<std::string> &names)
{
    std::string out;
    for (const auto &name : names) {
        std::string field = name.substr(0, width);
        field.resize(width, '\0');
        out += field;
    }
    return out;
}

TEST(XdpTxErrors, NamesAreReadFromFixedWidthFields)
{
    const std::string data = gstrings({"peer_ifindex", "rx_queue_0_xdp_tx_errors", ""});
    EXPECT_EQ(parse_stat_names(data.data(), data.size(), 3, width),
              (std::vector<std::string>{"peer_ifindex", "rx_queue_0_xdp_tx_errors", ""}));
}

TEST(XdpTxErrors, ANameFillingItsFieldHasNoTerminatorAndStaysInIt)
{
    const std::string full(width, 'x');
    const std::string data = gstrings({full, "next"});
    EXPECT_EQ(parse_stat_names(data.data(), data.size(), 2, width), (std::vector<std::string>{full, "next"}));
}

TEST(XdpTxErrors, ACountBeyondTheBufferReadsOnlyWhatIsThere)
{
    const std::string data = gstrings({"a", "b"});
    EXPECT_EQ(parse_stat_names(data.data(), data.size(), 5, width), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(parse_stat_names(data.data(), data.size() - 1, 2, width), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(parse_stat_names(data.data(), data.size(), 2, 0).empty());
}

// A veth with two queues, as `ethtool -S` lists it: every queue's XDP_TX errors count, and
// nothing else does (tx_queue_N_xdp_xmit_errors are frames redirected to it, not sent by it).
TEST(XdpTxErrors, EveryQueuesCountIsSummedAndNothingElse)
{
    const std::vector<std::string> names = {"peer_ifindex",
                                            "rx_queue_0_xdp_tx",
                                            "rx_queue_0_xdp_tx_errors",
                                            "rx_queue_1_xdp_tx",
                                            "rx_queue_1_xdp_tx_errors",
                                            "tx_queue_0_xdp_xmit_errors",
                                            "rx_queue_0_xdp_tx_errors_extra"};
    const std::vector<uint64_t> values = {9, 100, 7, 200, 35, 1000, 5000};
    EXPECT_EQ(sum_xdp_tx_errors(names, values), std::optional<uint64_t>(42));
}

TEST(XdpTxErrors, ADriverWithoutTheStatisticHasNoCountNotZero)
{
    EXPECT_EQ(sum_xdp_tx_errors({"rx_packets", "tx_packets", "xdp_tx"}, {1, 2, 3}), std::nullopt);
    EXPECT_EQ(sum_xdp_tx_errors({}, {}), std::nullopt);
    // A driver that has it at 0 is known to have lost nothing.
    EXPECT_EQ(sum_xdp_tx_errors({"xdp_tx_errors"}, {0}), std::optional<uint64_t>(0));
}

TEST(XdpTxErrors, NamesAndValuesOfDifferentLengthsUseOnlyThePairs)
{
    EXPECT_EQ(sum_xdp_tx_errors({"rx_queue_0_xdp_tx_errors", "rx_queue_1_xdp_tx_errors"}, {3}),
              std::optional<uint64_t>(3));
    EXPECT_EQ(sum_xdp_tx_errors({"rx_queue_0_xdp_tx_errors"}, {}), std::nullopt);
}

// The kernel path, where it needs nothing: an interface that does not exist has no count, and
// loopback's driver keeps no statistics at all.
TEST(XdpTxErrors, NoSuchInterfaceOrNoStatisticsIsNoCount)
{
    EXPECT_EQ(read_xdp_tx_errors("mg-no-such0"), std::nullopt);
    EXPECT_EQ(read_xdp_tx_errors("lo"), std::nullopt);
    EXPECT_EQ(read_xdp_tx_errors(std::string(64, 'x')), std::nullopt); // longer than IFNAMSIZ: cut, not found
    EXPECT_EQ(check_veth_peer(0x7fffffff).state, PeerXdp::NotVeth);
}

} // namespace
} // namespace mtuguard
