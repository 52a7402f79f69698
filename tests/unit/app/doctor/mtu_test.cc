#include "app/doctor/mtu.h"

#include <gtest/gtest.h>

namespace pinet::app {
namespace {

TEST(DoctorMtu, EthernetIsFine) {
    const auto f = checkMtu("eth1", 1500);
    EXPECT_EQ(f.severity, Severity::Ok);
    EXPECT_EQ(f.message, "eth1 has MTU 1500");
    EXPECT_EQ(checkMtu("eth1", 9000).severity, Severity::Ok);
}

TEST(DoctorMtu, BelowEthernetWarnsWithTheFix) {
    const auto f = checkMtu("eth1", 1400);
    EXPECT_EQ(f.severity, Severity::Warn);
    EXPECT_NE(f.message.find("MTU 1400, below Ethernet's 1500"), std::string::npos) << f.message;
    EXPECT_NE(f.fix.find("ip link set eth1 mtu 1500"), std::string::npos) << f.fix;
    EXPECT_NE(f.fix.find("tftp.max_blksize below 1368"), std::string::npos) << f.fix;
    EXPECT_EQ(checkMtu("eth1", std::nullopt).severity, Severity::Info);
}

}  // namespace
}  // namespace pinet::app
