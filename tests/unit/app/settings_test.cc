#include "app/settings.h"

#include <gtest/gtest.h>

#include "app/config/config.h"
#include "io/file.h"

namespace pinet::app {
namespace {

namespace cfg = app::config;

std::string errorOf(const std::string& text) {
    try {
        cfg::parseConfig(text, "t.toml");
    } catch (const cfg::ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(SettingsFromConfig, MapsNfsKeysAndFirstInterface) {
    const auto c = cfg::parseConfig(R"([[interface]]
name = "eth1"
[[interface]]
name = "eth2"
[nfs]
server = "10.9.0.1"
version = "4.1"
backend = "kernel"
)",
                                    "t.toml");
    const auto o = settingsFromConfig(c);
    EXPECT_EQ(o.serverIp, "10.9.0.1");
    EXPECT_EQ(o.nfsVersion, "4.1");
    EXPECT_EQ(o.nfsBackend, "kernel");
    EXPECT_EQ(o.interface, "eth1");
    EXPECT_TRUE(o.clientSubnet.empty());
    EXPECT_FALSE(o.bootExport);
}

TEST(SettingsFromConfig, KeysTheFileLacksStayUnset) {
    const auto o =
        settingsFromConfig(cfg::parseConfig("[server]\nlog_level = \"debug\"\n", "t.toml"));
    EXPECT_TRUE(o.serverIp.empty());
    EXPECT_TRUE(o.nfsVersion.empty());
    EXPECT_TRUE(o.nfsBackend.empty());
    EXPECT_TRUE(o.interface.empty());
}

TEST(SettingsFromConfig, VersionAndBackendUseTheFlagSpelling) {
    EXPECT_EQ(cfg::parseConfig("[nfs]\nversion = 3\n", "t.toml").nfsVersion, "3");
    EXPECT_EQ(cfg::parseConfig("[nfs]\nversion = \"3\"\n", "t.toml").nfsVersion, "3");
    EXPECT_EQ(cfg::parseConfig("[nfs]\nbackend = \"external\"\n", "t.toml").nfsBackend, "none");
    EXPECT_EQ(cfg::parseConfig("[nfs]\nbackend = \"none\"\n", "t.toml").nfsBackend, "none");
    EXPECT_EQ(errorOf("[nfs]\nversion = 4\n"), "t.toml:2: nfs.version: 4 is not \"3\" or \"4.1\"");
    EXPECT_EQ(errorOf("[nfs]\n\nversion = \"4\"\n"),
              "t.toml:3: nfs.version: '4' is not one of: 3, 4.1");
    EXPECT_EQ(errorOf("[nfs]\nbackend = \"nfsd\"\n"),
              "t.toml:2: nfs.backend: 'nfsd' is not one of: ganesha, kernel, none, external");
    EXPECT_EQ(errorOf("[nfs]\nserver = \"pi-server\"\n"),
              "t.toml:2: nfs.server: 'pi-server' is not an IPv4 address");
}

class ResolveSettingsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = io::Registry::open(dir_.path() / "state");
        ASSERT_TRUE(r) << r.error().message;
        reg_.emplace(std::move(*r));
    }
    io::TempDir dir_{"pnb-settings-test"};
    std::optional<io::Registry> reg_;
};

TEST_F(ResolveSettingsTest, NothingGivenGivesDefaultsAndStoresNothing) {
    auto g0 = reg_->generation();
    auto s = resolveSettings(*reg_, {}, {});
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(*s, ServerSettings{});
    EXPECT_EQ(*reg_->generation(), *g0);
    EXPECT_TRUE(reg_->settings()->empty());
}

TEST_F(ResolveSettingsTest, FlagsOverConfigOverStoredOverDefaults) {
    // stored by an earlier command
    SettingsOverrides earlier;
    earlier.serverIp = "10.0.0.1";
    earlier.nfsVersion = "4.1";
    earlier.nfsBackend = "kernel";
    earlier.clientSubnet = "10.0.0.0/24";
    ASSERT_TRUE(resolveSettings(*reg_, {}, earlier));

    SettingsOverrides fromConfig;
    fromConfig.serverIp = "10.1.0.1";
    fromConfig.nfsVersion = "3";
    fromConfig.interface = "eth1";
    SettingsOverrides fromFlags;
    fromFlags.serverIp = "10.2.0.1";
    auto s = resolveSettings(*reg_, fromConfig, fromFlags);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->serverIp, "10.2.0.1");  // flag beats config and stored
    EXPECT_EQ(s->nfsVersion, "3");       // config beats stored
    EXPECT_EQ(s->interface, "eth1");     // config beats default
    EXPECT_EQ(s->nfsBackend, "kernel");  // stored beats default
    EXPECT_EQ(s->clientSubnet, "10.0.0.0/24");
    EXPECT_EQ(s->ganeshaCommand, "ganesha.nfsd");  // default

    // the result is stored: a later command with neither gets the same
    auto later = resolveSettings(*reg_, {}, {});
    ASSERT_TRUE(later);
    EXPECT_EQ(*later, *s);
}

TEST_F(ResolveSettingsTest, UnchangedSettingsAreNotRewritten) {
    SettingsOverrides o;
    o.serverIp = "10.0.0.1";
    ASSERT_TRUE(resolveSettings(*reg_, o, {}));
    auto g = reg_->generation();
    // same value from the config again, and from a flag: nothing to store
    ASSERT_TRUE(resolveSettings(*reg_, o, o));
    EXPECT_EQ(*reg_->generation(), *g);
}

TEST_F(ResolveSettingsTest, InvalidResultIsRefusedAndNotStored) {
    SettingsOverrides bad;
    bad.serverIp = "10.0.0.0/8";
    auto s = resolveSettings(*reg_, {}, bad);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, "server address \"10.0.0.0/8\" is not an IPv4 address");
    EXPECT_FALSE(reg_->settings()->count("server_ip"));
}

TEST_F(ResolveSettingsTest, ProgramsAndPathsAreNeverReadFromTheRegistry) {
    // Rows an older pinetboot stored, or anyone who can write registry.db: root must not
    // run or write them.
    ASSERT_TRUE(reg_->setSetting("exportfs_command", "/tmp/evil"));
    ASSERT_TRUE(reg_->setSetting("ganesha_command", "/tmp/evil"));
    ASSERT_TRUE(reg_->setSetting("kernel_exports_file", "/etc/cron.d/evil"));
    auto s = resolveSettings(*reg_, {}, {});
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->exportfsCommand, "exportfs");
    EXPECT_EQ(s->ganeshaCommand, "ganesha.nfsd");
    EXPECT_EQ(s->kernelExportsFile, "/etc/exports.d/pinetboot.exports");
}

TEST_F(ResolveSettingsTest, ProgramFlagsApplyToThisRunAndAreNotStored) {
    SettingsOverrides flags;
    flags.exportfsCommand = "/opt/nfs/exportfs";
    flags.ganeshaCommand = "/opt/nfs/ganesha.nfsd";
    flags.kernelExportsFile = "/srv/exports";
    auto g = reg_->generation();
    auto s = resolveSettings(*reg_, {}, flags);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->exportfsCommand, "/opt/nfs/exportfs");
    EXPECT_EQ(s->ganeshaCommand, "/opt/nfs/ganesha.nfsd");
    EXPECT_EQ(s->kernelExportsFile, "/srv/exports");
    EXPECT_EQ(*reg_->generation(), *g);  // nothing written
    auto stored = reg_->settings();
    ASSERT_TRUE(stored);
    EXPECT_FALSE(stored->count("exportfs_command"));
    EXPECT_FALSE(stored->count("ganesha_command"));
    EXPECT_FALSE(stored->count("kernel_exports_file"));
    EXPECT_EQ(resolveSettings(*reg_, {}, {})->exportfsCommand, "exportfs");  // next run: default
}

// Issue #15: `doctor --server-ip X` stored X, and every client then failed its
// check. A check resolves with StoreSettings::Never: the value counts for this
// run only, and the stored settings stay as they were.
TEST_F(ResolveSettingsTest, NeverStoresNothing) {
    SettingsOverrides stored;
    stored.serverIp = "10.0.0.1";
    ASSERT_TRUE(resolveSettings(*reg_, {}, stored));
    auto g = reg_->generation();
    SettingsOverrides flags;
    flags.serverIp = "10.9.9.9";
    flags.clientSubnet = "10.9.9.0/24";
    auto s = resolveSettings(*reg_, {}, flags, StoreSettings::Never);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->serverIp, "10.9.9.9");
    EXPECT_EQ(*reg_->generation(), *g);
    EXPECT_EQ(resolveSettings(*reg_, {}, {})->serverIp, "10.0.0.1");
    EXPECT_EQ(resolveSettings(*reg_, {}, {})->clientSubnet, "");
    // Stored later, explicitly (client add once it succeeded, settings set).
    auto wrote = storeSettingsIfChanged(*reg_, *s);
    ASSERT_TRUE(wrote) << wrote.error().message;
    EXPECT_TRUE(*wrote);
    EXPECT_EQ(resolveSettings(*reg_, {}, {})->serverIp, "10.9.9.9");
    EXPECT_FALSE(*storeSettingsIfChanged(*reg_, *s));
}

TEST_F(ResolveSettingsTest, BootExportFlagOverridesBothWays) {
    SettingsOverrides on;
    on.bootExport = true;
    ASSERT_TRUE(resolveSettings(*reg_, {}, on));
    EXPECT_TRUE(resolveSettings(*reg_, {}, {})->bootExport);
    SettingsOverrides off;
    off.bootExport = false;
    EXPECT_FALSE(resolveSettings(*reg_, {}, off)->bootExport);
    EXPECT_FALSE(resolveSettings(*reg_, {}, {})->bootExport);
}

}  // namespace
}  // namespace pinet::app
