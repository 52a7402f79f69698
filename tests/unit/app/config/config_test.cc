#include "app/config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
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
allow_plaintext_remote = true
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

// serve and check-config call validationErrors after the flags are applied.
namespace {
std::string validationOf(const std::string& text) {
    return cfg::joinErrors(cfg::validationErrors(cfg::parseConfig(text, "t.toml")));
}
}  // namespace

TEST(Config, RemoteDashboardNeedsTlsOrAnExplicitYes) {
    // Beyond loopback without TLS: refused, saying how to fix it.
    const auto err = validationOf("[http]\nlisten = \"0.0.0.0:8080\"\n");
    EXPECT_NE(err.find("refusing to serve the dashboard and API on 0.0.0.0:8080 without TLS"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("tls_cert and tls_key"), std::string::npos) << err;
    EXPECT_NE(err.find("allow_plaintext_remote = true"), std::string::npos) << err;
    // Loopback, TLS, or the explicit yes: accepted.
    EXPECT_EQ(validationOf("[http]\nlisten = \"127.0.0.2:8080\"\n"), "");
    EXPECT_EQ(validationOf("[http]\nlisten = \"10.0.0.1:443\"\ntls_cert = \"c.pem\"\n"
                           "tls_key = \"k.pem\"\n"),
              "");
    const auto text = "[http]\nlisten = \"10.0.0.1:80\"\nallow_plaintext_remote = true\n";
    EXPECT_EQ(validationOf(text), "");
    EXPECT_TRUE(cfg::parseConfig(text, "t.toml").httpAllowPlaintextRemote);
    // A certificate without its key (or the reverse) is a mistake, not plain HTTP.
    EXPECT_NE(validationOf("[http]\ntls_cert = \"c.pem\"\n").find("HTTPS needs both"),
              std::string::npos);
    EXPECT_TRUE(cfg::isLoopbackHost("127.0.0.1"));
    EXPECT_TRUE(cfg::isLoopbackHost("127.8.9.10"));
    EXPECT_TRUE(cfg::isLoopbackHost("localhost"));
    EXPECT_FALSE(cfg::isLoopbackHost("0.0.0.0"));
    EXPECT_FALSE(cfg::isLoopbackHost("10.0.0.1"));
    EXPECT_FALSE(cfg::isLoopbackHost("127.example.com"));
}

TEST(Config, UnknownKeyNamesItsLine) {
    EXPECT_EQ(errorOf("[tftp]\nroot = \"/x\"\n\nwindowsise = 4\n"),
              "t.toml:4: unknown key 'windowsise' in [tftp]");
    EXPECT_EQ(errorOf("[server]\n[bogus]\nx = 1\n"), "t.toml:2: unknown section or key 'bogus'");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\nmode = \"full\"\n"),
              "t.toml:3: unknown key 'mode' in [[interface]]");
}

TEST(Config, BadValuesNameTheirLine) {
    EXPECT_EQ(errorOf("[tftp]\nmax_blksize = 100\n"),
              "t.toml:2: tftp.max_blksize: 100 is out of range 512..65464");
    EXPECT_EQ(errorOf("[tftp]\nmin_timeout_ms = 5\n"),
              "t.toml:2: tftp.min_timeout_ms: 5 is out of range 10..10000");
    EXPECT_EQ(errorOf("[http]\n\nlisten = \"localhost:80\"\n"),
              "t.toml:3: http.listen: 'localhost:80' is not \"IPv4:port\" (port 1..65535)");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\ndhcp = \"maybe\"\n"),
              "t.toml:3: interface.dhcp: 'maybe' is not one of: proxy, full, off");
    EXPECT_EQ(errorOf("[tftp]\nroot = 5\n"),
              "t.toml:2: tftp.root: expected a string, got an integer");
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\nrange = [\"10.0.0.9\", \"10.0.0.1\"]\n"),
              "t.toml:3: interface.range: range first 10.0.0.9 is after last 10.0.0.1");
    EXPECT_EQ(errorOf("[tftp]\ndefault_dir = \"../etc\"\n"),
              "t.toml:2: tftp.default_dir: '../etc' must be a relative path without '..'");
}

TEST(Config, RelaysAreIpv4Addresses) {
    const auto c = cfg::parseConfig(
        "[[interface]]\nname = \"e\"\nrelays = [\"10.1.0.1\", \"10.2.0.1\"]\n", "t.toml");
    EXPECT_EQ(c.interfaces.at(0).relays, (std::vector<std::string>{"10.1.0.1", "10.2.0.1"}));
    EXPECT_EQ(errorOf("[[interface]]\nname = \"e\"\nrelays = [\"relay.lab\"]\n"),
              "t.toml:3: interface.relays: 'relay.lab' is not an IPv4 address");
}

TEST(Config, AllowedHostsAreHostNames) {
    const auto c =
        cfg::parseConfig("[http]\nallowed_hosts = [\"netboot.lab\", \"10.0.0.1\"]\n", "t.toml");
    EXPECT_EQ(c.httpAllowedHosts, (std::vector<std::string>{"netboot.lab", "10.0.0.1"}));
    EXPECT_TRUE(cfg::parseConfig("", "t.toml").httpAllowedHosts.empty());
    EXPECT_EQ(errorOf("[http]\nallowed_hosts = [\"evil/x\"]\n"),
              "t.toml:2: http.allowed_hosts: 'evil/x' is not a host name");
    EXPECT_EQ(errorOf("[http]\nallowed_hosts = [\"\"]\n"),
              "t.toml:2: http.allowed_hosts: '' is not a host name");
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
    auto b = cfg::parseConfig(
        "[tftp]\nroot=\"/b\"\nlisten=\"0.0.0.0:1069\"\n[[interface]]\nname=\"e\"\ndhcp=\"off\"\n",
        "t");
    const auto diff = cfg::restartOnlyChanges(a, b);
    ASSERT_EQ(diff.size(), 3u);
    EXPECT_EQ(diff[0], "interface[e].dhcp");
    EXPECT_EQ(diff[1], "tftp.root");
    EXPECT_EQ(diff[2], "tftp.listen");
    EXPECT_TRUE(cfg::restartOnlyChanges(a, a).empty());
}

// Every key of the table set to a value that is not its default, on an
// interface named eth1. A key added to the table must be added here too
// (EveryKeyDiffersFromBase says which).
constexpr const char* kEveryKey = R"(
[server]
state_dir = "/srv/state"
log_level = "debug"
boot_history = 7
[[interface]]
name = "eth1"
dhcp = "full"
range = ["10.0.0.100", "10.0.0.200"]
router = "10.0.0.1"
dns = ["10.0.0.1"]
domain = "lab"
lease_time = 600
tftp_address = "10.0.0.2"
relays = ["10.1.0.1"]
[tftp]
root = "/srv/tftp"
default_dir = "default"
listen = "0.0.0.0:1069"
max_transfers = 32
max_blksize = 512
max_windowsize = 4
timeout_ms = 2000
min_timeout_ms = 1000
retries = 3
reply_ports = "pool"
io = "epoll"
[http]
listen = "127.0.0.1:9090"
allowed_hosts = ["netboot.lab"]
boot_listen = "10.0.0.1:80"
boot_root = "/srv/http"
tls_cert = "/etc/pinetboot/cert.pem"
tls_key = "/etc/pinetboot/key.pem"
allow_plaintext_remote = true
[admission]
enabled = false
max_boards = 100
max_throughput_mbit = 1000
[pxe]
menu_text = "Other menu"
bootfile = "ipxe.efi"
[nfs]
server = "10.0.0.1"
version = "4.1"
backend = "kernel"
[store]
backend = "postgresql"
url = "postgresql://pinetboot@db.lab/pinetboot"
node_id = "rack1-a"
tree_check_seconds = 5
)";

constexpr const char* kBase = "[[interface]]\nname = \"eth0\"\n";

// Is key @p k the same in @p a and @p b (interface keys: in their first interface)?
bool sameKey(const cfg::KeyDef& k, const cfg::Config& a, const cfg::Config& b) {
    if (k.scope != cfg::Scope::Interface) {
        return k.field.same(a, nullptr, b, nullptr);
    }
    return k.field.same(a, &a.interfaces.at(0), b, &b.interfaces.at(0));
}

// @p base with key @p k taken from @p from (interface keys: first interface to first).
cfg::Config withKey(const cfg::KeyDef& k, const cfg::Config& base, const cfg::Config& from) {
    cfg::Config out = base;
    if (k.scope != cfg::Scope::Interface) {
        k.field.copy(out, nullptr, from, nullptr);
    } else {
        k.field.copy(out, &out.interfaces.at(0), from, &from.interfaces.at(0));
    }
    return out;
}

std::string keyName(const cfg::KeyDef& k) {
    return std::string(cfg::sectionName(k.scope)) + "." + std::string(k.name);
}

TEST(ConfigReload, EveryKeyDiffersFromBase) {
    const auto base = cfg::parseConfig(kBase, "base");
    const auto every = cfg::parseConfig(kEveryKey, "every");
    for (const auto& k : cfg::keyTable()) {
        EXPECT_TRUE(sameKey(k, base, base)) << keyName(k);
        EXPECT_FALSE(sameKey(k, base, every))
            << keyName(k) << ": give it a non-default value in kEveryKey";
    }
}

// Changing one key alone: copy() touches that key only, restartOnlyChanges()
// names it iff the table says restart, and keepRestartOnly() puts back exactly
// the restart-only keys.
TEST(ConfigReload, EachKeyAloneFollowsTheTable) {
    const auto base = cfg::parseConfig(kBase, "base");
    const auto every = cfg::parseConfig(kEveryKey, "every");
    for (const auto& k : cfg::keyTable()) {
        SCOPED_TRACE(keyName(k));
        const auto changed = withKey(k, base, every);
        for (const auto& other : cfg::keyTable()) {
            EXPECT_EQ(sameKey(other, base, changed), &other != &k) << keyName(other);
        }

        const auto diff = cfg::restartOnlyChanges(base, changed);
        if (k.reloadable) {
            EXPECT_TRUE(diff.empty()) << "reloadable, yet reported: " << diff.front();
        } else if (k.scope != cfg::Scope::Interface) {
            EXPECT_EQ(diff, std::vector<std::string>{keyName(k)});
        } else if (changed.interfaces[0].name == base.interfaces[0].name) {
            EXPECT_EQ(diff, std::vector<std::string>{"interface[eth0]." + std::string(k.name)});
        } else {
            // The key that names the interface: another interface replaced it.
            EXPECT_EQ(diff, (std::vector<std::string>{"interface[eth0] (removed)",
                                                      "interface[eth1] (added)"}));
        }

        const auto kept = cfg::keepRestartOnly(base, changed);
        ASSERT_EQ(kept.interfaces.size(), 1u);
        for (const auto& j : cfg::keyTable()) {
            EXPECT_TRUE(sameKey(j, kept, j.reloadable ? changed : base))
                << keyName(j)
                << (j.reloadable ? " should take the reloaded value"
                                 : " should keep the running value");
        }
    }
}

// All keys changed at once: every restart-only key is reported once and kept,
// every reloadable key is taken.
TEST(ConfigReload, AllKeysChangedAtOnce) {
    auto base = cfg::parseConfig(kBase, "base");
    auto every = cfg::parseConfig(kEveryKey, "every");
    every.interfaces[0].name = "eth0";  // the same interface, every other key changed
    std::vector<std::string> expected;
    for (const auto& k : cfg::keyTable()) {
        if (!k.reloadable && k.scope != cfg::Scope::Interface) {
            expected.push_back(keyName(k));
        } else if (!k.reloadable && !sameKey(k, base, every)) {
            expected.push_back("interface[eth0]." + std::string(k.name));
        }
    }
    auto diff = cfg::restartOnlyChanges(base, every);
    std::sort(diff.begin(), diff.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(diff, expected);
    const auto kept = cfg::keepRestartOnly(base, every);
    for (const auto& k : cfg::keyTable()) {
        EXPECT_TRUE(sameKey(k, kept, k.reloadable ? every : base)) << keyName(k);
    }
    EXPECT_EQ(kept.sourcePath, "every");
}

// The drift issue #12 found: min_timeout_ms is restart-only, but reload used to
// report the file's value while the engine kept the old one.
TEST(ConfigReload, MinTimeoutKeepsTheRunningValue) {
    const auto running = cfg::parseConfig("[tftp]\nmin_timeout_ms = 50\n", "t");
    const auto next = cfg::parseConfig("[tftp]\nmin_timeout_ms = 1000\nretries = 2\n", "t");
    EXPECT_EQ(cfg::restartOnlyChanges(running, next),
              (std::vector<std::string>{"tftp.min_timeout_ms", "tftp.retries"}));
    const auto kept = cfg::keepRestartOnly(running, next);
    EXPECT_EQ(kept.tftpMinTimeoutMs, 50u);
    EXPECT_EQ(kept.tftpRetries, 5u);
}

// Command-line-only interface settings are not keys: reload keeps the running
// interfaces with them, and an added interface waits for a restart.
TEST(ConfigReload, RunningInterfacesAreKept) {
    auto running = cfg::parseConfig(kBase, "t");
    running.interfaces[0].leaseDb = "/tmp/leases.sqlite";
    running.interfaces[0].reservations = {"dc:a6:32:00:00:01=10.0.0.5"};
    const auto next = cfg::parseConfig(
        "[server]\nlog_level = \"debug\"\n[[interface]]\nname = \"eth0\"\n[[interface]]\nname = "
        "\"eth9\"\n",
        "t");
    EXPECT_EQ(cfg::restartOnlyChanges(running, next),
              std::vector<std::string>{"interface[eth9] (added)"});
    const auto kept = cfg::keepRestartOnly(running, next);
    ASSERT_EQ(kept.interfaces.size(), 1u);
    EXPECT_EQ(kept.interfaces[0].leaseDb, "/tmp/leases.sqlite");
    EXPECT_EQ(kept.interfaces[0].reservations.size(), 1u);
    EXPECT_EQ(kept.logLevel, "debug");
}

// The docs' default column is checked against Config{}: a literal default
// (not "(...)" or empty) parsed as the key's value gives what an empty file
// gives. Config takes some TFTP defaults from core::tftp::TransferLimits, so
// changing those there shows up here.
TEST(Config, DocumentedDefaultsAreTheStructDefaults) {
    const auto defaults = cfg::parseConfig(kBase, "base");
    for (const auto& k : cfg::keyTable()) {
        const std::string text(k.defaultText);
        if (text.empty() || text.front() == '(') {
            continue;
        }
        const bool quoted = k.type == cfg::KeyType::String || k.type == cfg::KeyType::Address;
        const std::string value = quoted ? "\"" + text + "\"" : text;
        const std::string toml =
            k.scope == cfg::Scope::Interface
                ? std::string(kBase) + std::string(k.name) + " = " + value + "\n"
                : "[" + std::string(cfg::sectionName(k.scope)) + "]\n" + std::string(k.name) +
                      " = " + value + "\n" + kBase;
        const auto parsed = cfg::parseConfig(toml, "t.toml");
        EXPECT_TRUE(sameKey(k, parsed, defaults))
            << keyName(k) << ": documented default " << text << " is not Config's default";
    }
}

// tftp.max_sessions was renamed; an old file must keep loading on upgrade.
TEST(Config, RenamedKeyStillLoadsWithAWarning) {
    const auto c = cfg::parseConfig("[tftp]\nroot = \"/x\"\nmax_sessions = 12\n", "t.toml");
    EXPECT_EQ(c.tftpMaxTransfers, 12u);
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_EQ(c.warnings[0],
              "t.toml:3: tftp.max_sessions is deprecated: renamed to tftp.max_transfers (the old "
              "name still works for now)");
    EXPECT_TRUE(cfg::parseConfig("[tftp]\nmax_transfers = 12\n", "t.toml").warnings.empty());
    // The old name is checked like the new one, and naming both is an error.
    EXPECT_EQ(errorOf("[tftp]\nmax_sessions = 0\n"),
              "t.toml:2: tftp.max_sessions: 0 is out of range 1..65535");
    EXPECT_EQ(errorOf("[tftp]\nmax_transfers = 5\nmax_sessions = 6\n"),
              "t.toml:3: tftp.max_sessions was renamed to tftp.max_transfers; give only "
              "tftp.max_transfers");
    // Old names are not keys, and each points at one.
    for (const auto& r : cfg::renamedKeys()) {
        bool oldIsKey = false;
        bool newIsKey = false;
        for (const auto& k : cfg::keyTable()) {
            oldIsKey = oldIsKey || (k.scope == r.scope && k.name == r.oldName);
            newIsKey = newIsKey || (k.scope == r.scope && k.name == r.newName);
        }
        EXPECT_FALSE(oldIsKey) << r.oldName;
        EXPECT_TRUE(newIsKey) << r.newName;
    }
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

// Issue #13 item 6: a reply port per transfer is the default; a trusted network may
// choose the pool.
TEST(Config, ReplyPortsDefaultPerTransferPoolOnRequest) {
    EXPECT_EQ(cfg::parseConfig("", "t.toml").tftpReplyPorts,
              pinet::core::tftp::ReplyPorts::PerTransfer);
    EXPECT_EQ(cfg::parseConfig("[tftp]\nreply_ports = \"pool\"\n", "t.toml").tftpReplyPorts,
              pinet::core::tftp::ReplyPorts::Pool);
    EXPECT_NE(errorOf("[tftp]\nreply_ports = \"random\"\n").find("t.toml:2"), std::string::npos);
}

// The TFTP sockets' kernel interface: io_uring where allowed, or forced either way.
TEST(Config, TftpIoDefaultsToAutoAndTakesEitherBackend) {
    using pinet::io::LoopChoice;
    EXPECT_EQ(cfg::parseConfig("", "t.toml").tftpIo, LoopChoice::Auto);
    EXPECT_EQ(cfg::parseConfig("[tftp]\nio = \"uring\"\n", "t.toml").tftpIo, LoopChoice::Uring);
    EXPECT_EQ(cfg::parseConfig("[tftp]\nio = \"epoll\"\n", "t.toml").tftpIo, LoopChoice::Epoll);
    EXPECT_NE(errorOf("[tftp]\nio = \"poll\"\n").find("t.toml:2"), std::string::npos);
}

// Issue #15: one run of check-config (and a failed start of serve) shows every error, each
// with its line, and a mistyped key or section gets the nearest known name.
TEST(Config, EveryErrorInOneRun) {
    const std::string text =
        "[tftp]\n"
        "rot = \"/srv\"\n"     // 2: typo of root
        "max_blksize = 100\n"  // 3: out of range
        "[tfpt]\n"             // 4: typo of a section
        "x = 1\n"
        "[[interface]]\n"    // 6
        "nmae = \"eth1\"\n"  // 7: typo of name
        "[[interface]]\n"    // 8
        "name = \"eth2\"\n"
        "dhcp = \"full\"\n"  // full without a range
        "[server]\n"
        "root = \"/srv\"\n";  // 12: a [tftp] key in the wrong section
    const auto checked = cfg::checkConfigText(text, "t.toml");
    const std::vector<std::string> want = {
        "t.toml:2: unknown key 'rot' in [tftp] (did you mean 'root'?)",
        "t.toml:3: tftp.max_blksize: 100 is out of range 512..65464",
        "t.toml:4: unknown section or key 'tfpt' (did you mean [tftp]?)",
        "t.toml:6: [[interface]] without a name",
        "t.toml:7: unknown key 'nmae' in [[interface]] (did you mean 'name'?)",
        "t.toml:8: interface eth2: dhcp = \"full\" needs a range",
        "t.toml:12: unknown key 'root' in [server] (it belongs in [tftp])",
    };
    EXPECT_EQ(checked.errors, want);
    // parseConfig (serve's start-up) throws all of them, a line each.
    std::string joined;
    for (const auto& w : want) {
        joined += (joined.empty() ? "" : "\n") + w;
    }
    EXPECT_EQ(errorOf(text), joined);
    // The keys that were fine are still read.
    ASSERT_EQ(checked.config.interfaces.size(), 1u);
    EXPECT_EQ(checked.config.interfaces[0].name, "eth2");
}

TEST(Config, MistypedInterfaceSectionIsNamed) {
    EXPECT_EQ(errorOf("[[interfce]]\nname = \"e\"\n"),
              "t.toml:1: unknown section or key 'interfce' (did you mean [[interface]]?)");
    EXPECT_EQ(errorOf("[admision]\nenabled = true\n"),
              "t.toml:1: unknown section or key 'admision' (did you mean [admission]?)");
    // A key before any section.
    EXPECT_EQ(errorOf("log_level = \"info\"\n"),
              "t.toml:1: unknown section or key 'log_level' (it belongs in [server])");
}
