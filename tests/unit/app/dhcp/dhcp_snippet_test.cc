#include "app/dhcp/dhcp_snippet.h"

#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/dhcp/pi_client.h"
#include "proto/dhcp/pxe.h"

namespace pinet::app {
namespace {

namespace d = proto::dhcp;

SnippetOptions opts(std::string_view ip = "192.168.7.10") {
    SnippetOptions o;
    o.tftpServer = *d::parseIp(ip);
    return o;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

// Lines that are configuration, not comments.
std::vector<std::string> configLines(const std::string& s, std::string_view comment) {
    std::vector<std::string> out;
    for (auto& l : lines(s)) {
        if (!l.empty() && !l.starts_with(comment)) {
            out.push_back(l);
        }
    }
    return out;
}

std::string ouiText(const std::array<std::uint8_t, 3>& o, std::string_view sep) {
    return fmt::format("{:02x}{}{:02x}{}{:02x}", o[0], sep, o[1], sep, o[2]);
}

// Spec netboot-protocol §3.1: the exact bytes dnsmasq sends for pxe-service=0,"Raspberry Pi Boot".
constexpr std::string_view kSpecOption43 =
    "06:01:03:0a:04:00:50:58:45:09:14:00:00:11:52:61:73:70:62:65:72:72:79:20:50:69:20:42:6f:6f:"
    "74:ff";

TEST(DhcpSnippet, Option43IsTheSpecBytesAndTheServersBytes) {
    EXPECT_EQ(option43Hex("Raspberry Pi Boot", ":"), kSpecOption43);
    // Another menu text: still the codec's bytes (the ones serve answers with).
    std::string expect;
    for (auto b : d::buildPxeMenuOption("Lab Boot")) {
        expect += fmt::format("{:02x}", b);
    }
    EXPECT_EQ(option43Hex("Lab Boot", ""), expect);
}

TEST(DhcpSnippet, TargetNames) {
    EXPECT_EQ(parseSnippetTarget("kea"), SnippetTarget::Kea);
    EXPECT_EQ(parseSnippetTarget("isc-dhcpd"), SnippetTarget::IscDhcpd);
    EXPECT_EQ(parseSnippetTarget("dnsmasq"), SnippetTarget::Dnsmasq);
    EXPECT_EQ(parseSnippetTarget("mikrotik"), SnippetTarget::Mikrotik);
    EXPECT_EQ(parseSnippetTarget("openwrt"), SnippetTarget::OpenWrt);
    EXPECT_FALSE(parseSnippetTarget("Kea"));
    EXPECT_FALSE(parseSnippetTarget("isc"));
    EXPECT_EQ(snippetTargetNames(), "kea, isc-dhcpd, dnsmasq, mikrotik, openwrt");
}

TEST(DhcpSnippet, DnsmasqLines) {
    const auto cfg = configLines(dhcpSnippet(SnippetTarget::Dnsmasq, opts()), "#");
    std::vector<std::string> expect;
    for (const auto& o : core::dhcp::raspberryPiOuis()) {
        expect.push_back(fmt::format("dhcp-mac=set:pinetboot-pi,{}:*:*:*", ouiText(o, ":")));
    }
    expect.push_back("dhcp-vendorclass=set:pinetboot-pxe,PXEClient:Arch:00000:UNDI:002001");
    expect.push_back(
        fmt::format("dhcp-option-force=tag:pinetboot-pi,tag:pinetboot-pxe,43,{}", kSpecOption43));
    expect.push_back("dhcp-option-force=tag:pinetboot-pi,tag:pinetboot-pxe,60,\"PXEClient\"");
    expect.push_back("dhcp-option-force=tag:pinetboot-pi,66,\"192.168.7.10\"");
    EXPECT_EQ(cfg, expect);
}

TEST(DhcpSnippet, KeaClass) {
    const auto s = dhcpSnippet(SnippetTarget::Kea, opts());
    EXPECT_NE(s.find("\"client-classes\": ["), std::string::npos);
    EXPECT_NE(s.find("\"test\": \"substring(option[60].hex, 0, 32) == "
                     "'PXEClient:Arch:00000:UNDI:002001' and (substring(pkt4.mac, 0, 3) == "
                     "0xb827eb or "),
              std::string::npos);
    for (const auto& o : core::dhcp::raspberryPiOuis()) {
        EXPECT_NE(s.find("substring(pkt4.mac, 0, 3) == 0x" + ouiText(o, "")), std::string::npos);
    }
    EXPECT_NE(s.find("\"next-server\": \"192.168.7.10\""), std::string::npos);
    EXPECT_NE(s.find("\"code\": 43, \"type\": \"binary\""), std::string::npos);
    EXPECT_NE(
        s.find("\"data\": \"0601030a0400505845091400001152617370626572727920506920426f6f74ff\""),
        std::string::npos);
    EXPECT_NE(s.find("\"code\": 60, \"always-send\": true, \"data\": \"PXEClient\""),
              std::string::npos);
    EXPECT_NE(s.find("\"code\": 66, \"always-send\": true, \"data\": \"192.168.7.10\""),
              std::string::npos);
    // Brackets balance (the JSON part is well nested).
    int depth = 0;
    for (char c : s) {
        depth += (c == '[' || c == '{') ? 1 : (c == ']' || c == '}') ? -1 : 0;
        ASSERT_GE(depth, 0);
    }
    EXPECT_EQ(depth, 0);
}

TEST(DhcpSnippet, IscDhcpdClass) {
    const auto cfg = configLines(dhcpSnippet(SnippetTarget::IscDhcpd, opts()), "#");
    ASSERT_GE(cfg.size(), 8U);
    EXPECT_EQ(cfg.front(), "class \"pinetboot-pi\" {");
    EXPECT_EQ(cfg.back(), "}");
    EXPECT_EQ(cfg[1],
              "    match if substring(option vendor-class-identifier, 0, 32) = "
              "\"PXEClient:Arch:00000:UNDI:002001\"");
    std::string all;
    for (const auto& l : cfg) {
        all += l + "\n";
    }
    EXPECT_NE(all.find("        and (substring(hardware, 1, 3) = b8:27:eb\n"), std::string::npos);
    EXPECT_NE(all.find("          or substring(hardware, 1, 3) = 2c:cf:67\n"), std::string::npos);
    EXPECT_NE(all.find("    next-server 192.168.7.10;\n"), std::string::npos);
    EXPECT_NE(all.find("    option vendor-class-identifier \"PXEClient\";\n"), std::string::npos);
    EXPECT_NE(all.find("    option tftp-server-name \"192.168.7.10\";\n"), std::string::npos);
    EXPECT_NE(
        all.find("    option vendor-encapsulated-options " + std::string(kSpecOption43) + ";\n"),
        std::string::npos);
    // The match spans lines up to the one ending in ");"; every later statement ends in ';'.
    std::size_t i = 1;
    while (i < cfg.size() && !cfg[i].ends_with(");")) {
        EXPECT_FALSE(cfg[i].ends_with(";")) << cfg[i];
        ++i;
    }
    ASSERT_LT(i, cfg.size());
    EXPECT_EQ(i - 1, core::dhcp::raspberryPiOuis().size());  // the match line + one per OUI
    for (++i; i + 1 < cfg.size(); ++i) {
        EXPECT_TRUE(cfg[i].ends_with(";")) << cfg[i];
    }
}

TEST(DhcpSnippet, Mikrotik) {
    const auto cfg = configLines(dhcpSnippet(SnippetTarget::Mikrotik, opts()), "#");
    const std::vector<std::string> expect{
        "/ip dhcp-server option",
        "add name=pinetboot-pxe-menu code=43 "
        "value=0x0601030a0400505845091400001152617370626572727920506920426f6f74ff",
        "add name=pinetboot-pxeclient code=60 value=\"'PXEClient'\"",
        "add name=pinetboot-tftp code=66 value=\"'192.168.7.10'\"",
        "/ip dhcp-server option sets",
        "add name=pinetboot-pi options=pinetboot-pxe-menu,pinetboot-pxeclient,pinetboot-tftp",
        "/ip dhcp-server matcher",
        "add name=pinetboot-pi server=all address-pool=default-dhcp code=60 "
        "value=\"PXEClient:Arch:00000:UNDI:002001\" option-set=pinetboot-pi",
    };
    EXPECT_EQ(cfg, expect);
}

TEST(DhcpSnippet, OpenWrt) {
    const auto cfg = configLines(dhcpSnippet(SnippetTarget::OpenWrt, opts()), "#");
    const auto ouis = core::dhcp::raspberryPiOuis();
    ASSERT_EQ(cfg.size(), ouis.size() * 3 + 3 + 2 + 3 + 2);
    EXPECT_EQ(cfg[0], "uci set dhcp.pinetboot_oui0=mac");
    EXPECT_EQ(cfg[1], "uci set dhcp.pinetboot_oui0.mac='b8:27:eb:*:*:*'");
    EXPECT_EQ(cfg[2], "uci set dhcp.pinetboot_oui0.networkid='pinetboot_pi'");
    std::string all;
    for (const auto& l : cfg) {
        all += l + "\n";
        EXPECT_TRUE(l.starts_with("uci ") || l == "/etc/init.d/dnsmasq restart") << l;
    }
    EXPECT_NE(all.find("uci set dhcp.pinetboot_pxe.vendorclass='PXEClient:Arch:00000:UNDI:002001'"),
              std::string::npos);
    EXPECT_NE(all.find("uci add_list dhcp.pinetboot_pi.dhcp_option='tag:pinetboot_pxe,43," +
                       std::string(kSpecOption43) + "'"),
              std::string::npos);
    EXPECT_NE(all.find("uci add_list dhcp.pinetboot_pi.dhcp_option='66,192.168.7.10'"),
              std::string::npos);
    EXPECT_EQ(cfg.back(), "/etc/init.d/dnsmasq restart");
}

TEST(DhcpSnippet, MenuTextCannotAddConfigLines) {
    // A menu text with a newline: in the bytes it is data; in the comment it is '?'.
    for (auto t : {SnippetTarget::Dnsmasq, SnippetTarget::IscDhcpd, SnippetTarget::Kea,
                   SnippetTarget::Mikrotik, SnippetTarget::OpenWrt}) {
        SnippetOptions o = opts();
        o.menuText = "Raspberry Pi Boot\ndhcp-option=3,6.6.6.6";
        const auto s = dhcpSnippet(t, o);
        for (const auto& l : lines(s)) {
            EXPECT_FALSE(l.starts_with("dhcp-option=3")) << l;
        }
        EXPECT_NE(
            s.find(option43Hex(o.menuText,
                               t == SnippetTarget::Kea || t == SnippetTarget::Mikrotik ? "" : ":")),
            std::string::npos);
        EXPECT_NE(s.find("Raspberry Pi Boot?dhcp-option=3,6.6.6.6"), std::string::npos);
    }
}

}  // namespace
}  // namespace pinet::app
