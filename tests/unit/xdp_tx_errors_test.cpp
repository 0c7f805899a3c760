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

// The driver counts since the interface came up; the export since the daemon attached.
TEST(TxErrorCount, CountsFromTheAttachNotFromTheDriversStart)
{
    TxErrorCount count;
    count.rebase(40); // lost before this daemon: not its to report
    EXPECT_EQ(count.update(40), std::optional<uint64_t>(0));
    EXPECT_EQ(count.update(45), std::optional<uint64_t>(5));
    EXPECT_EQ(count.update(45), std::optional<uint64_t>(5));
}

TEST(TxErrorCount, ADriverWithoutTheCountStaysAbsent)
{
    TxErrorCount count;
    count.rebase(std::nullopt);
    EXPECT_EQ(count.update(std::nullopt), std::nullopt);
    // The first count seen is the starting point.
    EXPECT_EQ(count.update(7), std::optional<uint64_t>(0));
    EXPECT_EQ(count.update(9), std::optional<uint64_t>(2));
    // Gone (the interface deleted): absent while it is.
    EXPECT_EQ(count.update(std::nullopt), std::nullopt);
}

// A re-created interface's driver starts again from 0; the exported count goes on from where it was.
TEST(TxErrorCount, AReCreatedInterfaceContinuesTheSeries)
{
    TxErrorCount count;
    count.rebase(0);
    EXPECT_EQ(count.update(10), std::optional<uint64_t>(10));
    count.rebase(0); // re-attached to the new interface
    EXPECT_EQ(count.update(0), std::optional<uint64_t>(10));
    EXPECT_EQ(count.update(3), std::optional<uint64_t>(13));
    // Re-created without a rebase seen (a count lower than the last): folded the same way.
    EXPECT_EQ(count.update(2), std::optional<uint64_t>(15));
    EXPECT_EQ(count.update(4), std::optional<uint64_t>(17));
}

TEST(TxErrorCount, UpdatesBeforeAnyRebaseStartAtTheFirstCount)
{
    TxErrorCount count;
    EXPECT_EQ(count.update(100), std::optional<uint64_t>(0));
    EXPECT_EQ(count.update(101), std::optional<uint64_t>(1));
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
