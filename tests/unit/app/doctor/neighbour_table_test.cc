#include "app/doctor/neighbour_table.h"

#include <gtest/gtest.h>

#include "app/config/config.h"

namespace pinet::app {
namespace {

io::NeighbourLimits limits(std::uint64_t t1, std::uint64_t t2, std::uint64_t t3) {
    io::NeighbourLimits l;
    l.gcThresh1 = t1;
    l.gcThresh2 = t2;
    l.gcThresh3 = t3;
    l.directory = "/proc/sys/net/ipv4/neigh";
    return l;
}

TEST(NeighbourTable, KernelDefaultsHoldAFewHundredBoards) {
    const auto f = checkNeighbourTable(limits(128, 512, 1024), 250);
    EXPECT_EQ(f.severity, Severity::Ok) << f.message;
    EXPECT_EQ(f.check, "neighbour table");
    EXPECT_NE(f.message.find("room for 896 boards"), std::string::npos) << f.message;
    EXPECT_TRUE(f.fix.empty());
}

TEST(NeighbourTable, TooSmallForThePoolIsAWarningWithTheFix) {
    // 1000 boards + 128 other hosts do not fit 1024 entries.
    const auto f = checkNeighbourTable(limits(128, 512, 1024), 1000);
    EXPECT_EQ(f.severity, Severity::Warn);
    EXPECT_NE(f.message.find("gc_thresh3 = 1024 entries, but 1000 boards"), std::string::npos)
        << f.message;
    EXPECT_NE(f.message.find("neighbour table overflow"), std::string::npos);
    // 2 x 1128 rounded up to a power of two; gc_thresh2 and 1 at a half and a quarter.
    EXPECT_NE(f.fix.find("sysctl -w net.ipv4.neigh.default.gc_thresh1=1024 "
                         "net.ipv4.neigh.default.gc_thresh2=2048 "
                         "net.ipv4.neigh.default.gc_thresh3=4096"),
              std::string::npos)
        << f.fix;
    EXPECT_NE(f.fix.find("/etc/sysctl.d/60-pinetboot-neigh.conf"), std::string::npos);
    EXPECT_NE(f.fix.find("net.ipv4.neigh.default.gc_thresh3 = 4096"), std::string::npos);
}

TEST(NeighbourTable, TheBoundaryIsBoardsPlusSlack) {
    EXPECT_EQ(checkNeighbourTable(limits(128, 2048, 1024), 1024 - kNeighbourSlack).severity,
              Severity::Ok);
    EXPECT_EQ(checkNeighbourTable(limits(128, 2048, 1024), 1024 - kNeighbourSlack + 1).severity,
              Severity::Warn);
}

TEST(NeighbourTable, TheFixNeverLowersAValue) {
    const auto f = checkNeighbourTable(limits(3000, 3500, 2000), 2500);
    EXPECT_EQ(f.severity, Severity::Warn);
    // 2 x 2628 -> 8192; gc_thresh1 and 2 stay at their higher current values.
    EXPECT_NE(f.fix.find("gc_thresh1=3000 net.ipv4.neigh.default.gc_thresh2=4096 "
                         "net.ipv4.neigh.default.gc_thresh3=8192"),
              std::string::npos)
        << f.fix;
}

TEST(NeighbourTable, Thresh2BelowTheBoardsIsInfo) {
    const auto f = checkNeighbourTable(limits(128, 512, 4096), 1000);
    EXPECT_EQ(f.severity, Severity::Info);
    EXPECT_NE(f.message.find("gc_thresh2 = 512 is lower"), std::string::npos) << f.message;
    EXPECT_FALSE(f.fix.empty());
}

TEST(NeighbourTable, ASmallerInterfaceValueCounts) {
    auto l = limits(128, 512, 4096);
    l.interfaceThresh3 = 600;
    const auto f = checkNeighbourTable(l, 500);
    EXPECT_EQ(f.severity, Severity::Warn);
    EXPECT_NE(f.message.find("the interface's gc_thresh3 = 600"), std::string::npos) << f.message;
}

TEST(NeighbourTable, UnreadableInANamespace) {
    io::NeighbourLimits l;
    l.directory = "/proc/sys/net/ipv4/neigh";
    const auto small = checkNeighbourTable(l, 200);
    EXPECT_EQ(small.severity, Severity::Info);  // fits the kernel's default either way
    EXPECT_TRUE(small.fix.empty());
    const auto big = checkNeighbourTable(l, 2000);
    EXPECT_EQ(big.severity, Severity::Warn);
    EXPECT_NE(big.message.find("the host's limit applies"), std::string::npos) << big.message;
    EXPECT_NE(big.fix.find("check on the host"), std::string::npos);
}

TEST(NeighbourTable, UnknownBoardCountSaysTheRoom) {
    const auto f = checkNeighbourTable(limits(128, 512, 1024), 0);
    EXPECT_EQ(f.severity, Severity::Ok);
    EXPECT_NE(f.message.find("room for about 896 boards"), std::string::npos) << f.message;
}

TEST(NeighbourTable, PoolSizeOfTheConfig) {
    config::Config c;
    config::InterfaceConfig a;
    a.name = "eth1";
    a.dhcp = config::DhcpMode::Full;
    a.rangeFirst = "10.1.0.10";
    a.rangeLast = "10.1.7.255";  // 2038 addresses
    config::InterfaceConfig b;
    b.name = "eth2";
    b.dhcp = config::DhcpMode::Full;  // no range: the default .100-.200
    config::InterfaceConfig p;
    p.name = "eth3";
    p.dhcp = config::DhcpMode::Proxy;  // another server's pool: not counted
    p.rangeFirst = "10.3.0.1";
    p.rangeLast = "10.3.255.254";
    c.interfaces = {a, b, p};
    EXPECT_EQ(dhcpPoolSize(c), 2038u + 101u);
}

}  // namespace
}  // namespace pinet::app
