#include "app/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lib/test_env.h"

namespace cfg = pinet::app::config;

namespace {

std::string errorOf(const std::string& text) {
    try {
        cfg::parseConfig(text, "t.toml");
    } catch (const cfg::ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST(Config, EmptyFileGivesDefaults) {
    const auto c = cfg::parseConfig("", "t.toml");
    EXPECT_EQ(c.httpListen.text(), "127.0.0.1:8080");
    EXPECT_EQ(c.tftpListen.text(), "0.0.0.0:69");
    EXPECT_TRUE(c.httpBootListen.empty());
    EXPECT_EQ(c.pxeMenuText, "Raspberry Pi Boot");
    EXPECT_EQ(c.bootHistory, 20u);
    EXPECT_EQ(c.tftpMinTimeoutMs, 50u);
    EXPECT_TRUE(c.interfaces.empty());
}

TEST(Config, FullExampleParses) {
    const auto c = cfg::parseConfig(R"(
[server]
state_dir = "/tmp/st"
log_level = "debug"
[[interface]]
name = "eth1"
dhcp = "full"
range = ["10.0.0.100", "10.0.0.200"]
router = "10.0.0.1"
dns = ["10.0.0.1", "10.0.0.2"]
lease_time = 600
[[interface]]
name = "eth2"
[tftp]
root = "/srv/tftp"
default_dir = "default"
max_windowsize = 8
min_timeout_ms = 1000
[http]
listen = "0.0.0.0:9090"
boot_listen = "10.0.0.1:80"
)",
                                    "t.toml");
    ASSERT_EQ(c.interfaces.size(), 2u);
    EXPECT_EQ(c.interfaces[0].dhcp, cfg::DhcpMode::Full);
    EXPECT_EQ(c.interfaces[0].rangeLast, "10.0.0.200");
    EXPECT_EQ(c.interfaces[0].dns.size(), 2u);
    EXPECT_EQ(c.interfaces[0].leaseTime, 600u);
    EXPECT_EQ(c.interfaces[1].dhcp, cfg::DhcpMode::Proxy);
    EXPECT_EQ(c.tftpRoot, "/srv/tftp");
    EXPECT_EQ(c.tftpMaxWindowsize, 8u);
    EXPECT_EQ(c.tftpMinTimeoutMs, 1000u);
    EXPECT_EQ(c.httpListen.port, 9090);
    EXPECT_EQ(c.httpBootListen.text(), "10.0.0.1:80");
    EXPECT_EQ(c.logLevel, "debug");
}

TEST(Config, UnknownKeyNamesItsLine) {
    EXPECT_EQ(errorOf("[tftp]\nroot = \"/x\"\n\nwindowsise = 4\n"),
              "t.toml:4: unknown key 'windowsise' in [tftp]");
    EXPECT_EQ(errorOf("[server]\n[bogus]\nx = 1\n"), "t.toml:2: unknown section or key 'bogus'");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\nmode = \"full\"\n"),
              "t.toml:3: unknown key 'mode' in [[interface]]");
}

TEST(Config, BadValuesNameTheirLine) {
    EXPECT_EQ(errorOf("[tftp]\nmax_blksize = 100\n"), "t.toml:2: tftp.max_blksize: 100 is out of range 512..65464");
    EXPECT_EQ(errorOf("[tftp]\nmin_timeout_ms = 5\n"),
              "t.toml:2: tftp.min_timeout_ms: 5 is out of range 10..10000");
    EXPECT_EQ(errorOf("[http]\n\nlisten = \"localhost:80\"\n"),
              "t.toml:3: http.listen: 'localhost:80' is not \"IPv4:port\" (port 1..65535)");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\ndhcp = \"maybe\"\n"),
              "t.toml:3: interface.dhcp: 'maybe' is not one of: proxy, full, off");
    EXPECT_EQ(errorOf("[tftp]\nroot = 5\n"), "t.toml:2: tftp.root: expected a string, got an integer");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\nrange = [\"10.0.0.9\", \"10.0.0.1\"]\n"),
              "t.toml:3: interface.range: range first 10.0.0.9 is after last 10.0.0.1");
    EXPECT_EQ(errorOf("[tftp]\ndefault_dir = \"../etc\"\n"),
              "t.toml:2: tftp.default_dir: '../etc' must be a relative path without '..'");
}

TEST(Config, CrossKeyAndSyntaxErrorsHaveLines) {
    EXPECT_EQ(errorOf("\n[[interface]]\nname = \"e\"\ndhcp = \"full\"\n"),
              "t.toml:2: interface e: dhcp = \"full\" needs a range");
    const auto syntax = errorOf("[tftp]\nroot = \"unterminated\n");
    EXPECT_EQ(syntax.rfind("t.toml:2: ", 0), 0u) << syntax;
    EXPECT_EQ(errorOf("[[interface]]\nname=\"a\"\n[[interface]]\nname=\"a\"\n"),
              "t.toml:3: interface a listed twice");
}

TEST(Config, RestartOnlyChangesAreListed) {
    auto a = cfg::parseConfig("[tftp]\nroot=\"/a\"\n[[interface]]\nname=\"e\"\n", "t");
    auto b = cfg::parseConfig("[tftp]\nroot=\"/b\"\nlisten=\"0.0.0.0:1069\"\n[[interface]]\nname=\"e\"\ndhcp=\"off\"\n", "t");
    const auto diff = cfg::restartOnlyChanges(a, b);
    ASSERT_EQ(diff.size(), 3u);
    EXPECT_EQ(diff[0], "interface[e].dhcp");
    EXPECT_EQ(diff[1], "tftp.root");
    EXPECT_EQ(diff[2], "tftp.listen");
    EXPECT_TRUE(cfg::restartOnlyChanges(a, a).empty());
}

// docs/configuration.md is generated from the key table; this keeps them equal,
// so every key the parser accepts is documented.
TEST(Config, DocsFileMatchesKeyTable) {
    std::ifstream in(pinet::test::sourceDir() / "docs" / "configuration.md");
    ASSERT_TRUE(in) << "docs/configuration.md missing";
    std::stringstream ss;
    ss << in.rdbuf();
    const auto docs = ss.str();
    for (const auto& k : cfg::keyTable()) {
        EXPECT_NE(docs.find(std::string("| `") + std::string(k.name) + "` |"), std::string::npos)
            << k.name << " is not documented";
    }
    EXPECT_EQ(docs, cfg::renderConfigDocs())
        << "regenerate: pinetboot check-config --docs > docs/configuration.md";
}

TEST(Config, ListenAddressParsing) {
    EXPECT_TRUE(cfg::parseListenAddress("127.0.0.1:8080"));
    EXPECT_FALSE(cfg::parseListenAddress("127.0.0.1"));
    EXPECT_FALSE(cfg::parseListenAddress("127.0.0.1:0"));
    EXPECT_FALSE(cfg::parseListenAddress("127.0.0.1:65536"));
    EXPECT_FALSE(cfg::parseListenAddress("1.2.3:80"));
}
