#include "app/config/config_meaning.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/file.h"

namespace cfg = pinet::app::config;

namespace {

constexpr std::uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

bool hasSubstr(const std::vector<std::string>& v, const std::string& s) {
    for (const auto& e : v) {
        if (e.find(s) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST(ConfigMeaning, AddressesOutsideTheSubnet) {
    cfg::InterfaceConfig i;
    i.name = "eth1";
    i.dhcp = cfg::DhcpMode::Full;
    i.rangeFirst = "10.0.0.100";
    i.rangeLast = "10.0.1.20";
    i.router = "192.168.1.1";
    const auto e = cfg::subnetErrors(i, ip(10, 0, 0, 1), 0xffffff00u);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0],
              "interface eth1: range last 10.0.1.20 is outside eth1's subnet 10.0.0.0/24 "
              "(address 10.0.0.1)");
    EXPECT_EQ(e[1],
              "interface eth1: router 192.168.1.1 is outside eth1's subnet 10.0.0.0/24 "
              "(address 10.0.0.1)");
    i.rangeLast = "10.0.0.200";
    i.router = "10.0.0.1";
    EXPECT_TRUE(cfg::subnetErrors(i, ip(10, 0, 0, 1), 0xffffff00u).empty());
    // The server's own address inside its pool; the broadcast address in it.
    EXPECT_TRUE(hasSubstr(cfg::subnetErrors(i, ip(10, 0, 0, 150), 0xffffff00u),
                          "holds the interface's own address 10.0.0.150"));
    i.rangeLast = "10.0.0.255";
    EXPECT_TRUE(hasSubstr(cfg::subnetErrors(i, ip(10, 0, 0, 1), 0xffffff00u),
                          "includes 10.0.0.255, the subnet's broadcast address"));
    // Proxy mode hands out no addresses: its range is not checked.
    i.dhcp = cfg::DhcpMode::Proxy;
    EXPECT_TRUE(cfg::subnetErrors(i, ip(10, 0, 0, 1), 0xffffff00u).empty());
}

TEST(ConfigMeaning, MissingDirectoriesAndInterfaces) {
    pinet::io::TempDir tmp("pinet-meaning");
    std::filesystem::create_directories(tmp.path() / "tftp");
    cfg::Config c;
    c.sourcePath = "t.toml";
    c.tftpRoot = (tmp.path() / "tftp").string();
    c.tftpDefaultDir = "default";
    cfg::InterfaceConfig i;
    i.name = "pinetnoif0";
    c.interfaces.push_back(i);
    cfg::MeaningOptions mo;
    mo.dhcpProbe = false;
    auto e = cfg::meaningErrors(c, mo);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].rfind("t.toml: tftp.default_dir 'default': ", 0), 0u) << e[0];
    EXPECT_NE(e[0].find("does not exist"), std::string::npos);
    EXPECT_EQ(e[1],
              "t.toml: interface pinetnoif0: no such interface on this machine (ip link lists "
              "them)");
    std::filesystem::create_directories(tmp.path() / "tftp" / "default");
    c.interfaces.clear();
    EXPECT_TRUE(cfg::meaningErrors(c, mo).empty());
    c.tftpRoot = (tmp.path() / "nope").string();
    e = cfg::meaningErrors(c, mo);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].find("tftp.root '" + c.tftpRoot + "' does not exist"), std::string::npos);
}
