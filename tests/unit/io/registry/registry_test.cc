#include "io/registry/registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "io/file.h"

#include <fmt/format.h>

namespace pinet::io {
namespace {

/// A state directory with a registry in it, owned by whoever runs the test.
void makeState(const std::filesystem::path& dir) {
    ASSERT_TRUE(Registry::open(dir));
}

TEST(RegistryOwnership, RootAcceptsRootsOwnAndRefusesAnotherUsersRegistry) {
    TempDir t("pnb-registry-test");
    const auto state = t.path() / "state";
    makeState(state);
    if (::geteuid() == 0) {
        EXPECT_TRUE(Registry::checkOwnership(state, 0));
        ASSERT_EQ(::chown((state / "registry.db").c_str(), 1000, 1000), 0);
    }
    auto r = Registry::checkOwnership(state, 0);  // as root
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("registry.db is owned by uid"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("not root"), std::string::npos);
    EXPECT_NE(r.error().message.find("chown root:root"), std::string::npos);
    // Other uids are not asked to trust anything more than they are.
    EXPECT_TRUE(Registry::checkOwnership(state, 1000));
    if (::geteuid() == 0) {
        EXPECT_FALSE(Registry::open(state));  // open() applies the check
    }
}

TEST(RegistryOwnership, RootRefusesWritableBySomeoneElseOrSymlinked) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to make root-owned files";
    }
    TempDir t("pnb-registry-test");
    const auto state = t.path() / "state";
    makeState(state);
    ASSERT_EQ(::chmod(state.c_str(), 0770), 0);
    auto r = Registry::checkOwnership(state, 0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("chmod go-w"), std::string::npos) << r.error().message;
    ASSERT_EQ(::chmod(state.c_str(), 0700), 0);
    ASSERT_EQ(::chown(state.c_str(), 1000, 1000), 0);
    EXPECT_FALSE(Registry::checkOwnership(state, 0));  // the directory: files can be swapped
    ASSERT_EQ(::chown(state.c_str(), 0, 0), 0);
    EXPECT_TRUE(Registry::checkOwnership(state, 0));

    const auto other = t.path() / "elsewhere.db";
    std::filesystem::rename(state / "registry.db", other);
    std::filesystem::create_symlink(other, state / "registry.db");
    EXPECT_FALSE(Registry::checkOwnership(state, 0));
}

TEST(RegistryOwnership, NewStateDirectoryIsRootOnly) {
    TempDir t("pnb-registry-test");
    const auto state = t.path() / "new-state";
    makeState(state);
    EXPECT_EQ(std::filesystem::status(state).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
}

TEST(RegistryTest, EnrollFindListRemove) {
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path() / "state");
    ASSERT_TRUE(reg) << reg.error().message;
    auto g0 = reg->generation();
    ASSERT_TRUE(g0);
    ClientRecord c;
    c.serial = "9ffefdef";
    c.mac = "dc:a6:32:01:36:c2";
    c.name = "rack1";
    c.image = "bookworm";
    c.rootMode = "copy";
    c.bootDir = "/s/tftp/9ffefdef";
    c.rootExport = "/s/roots/9ffefdef";
    c.address = "10.0.0.5";
    ASSERT_TRUE(reg->enroll(c));
    auto g1 = reg->generation();
    EXPECT_GT(*g1, *g0);
    auto bySerial = reg->findBySerial("9ffefdef");
    ASSERT_TRUE(bySerial && *bySerial);
    EXPECT_EQ((*bySerial)->name, "rack1");
    EXPECT_EQ((*bySerial)->state, ClientState::Enrolled);
    auto byMac = reg->findByMac("dc:a6:32:01:36:c2");
    ASSERT_TRUE(byMac && *byMac);
    EXPECT_EQ((*byMac)->serial, "9ffefdef");
    auto none = reg->findBySerial("00000000");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // a second client cannot take the same MAC
    ClientRecord d = c;
    d.serial = "11111111";
    auto dup = reg->enroll(d);
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().message.find("already belongs"), std::string::npos);
    auto all = reg->list();
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
    auto removed = reg->remove("9ffefdef");
    ASSERT_TRUE(removed);
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(*reg->remove("9ffefdef"));
}

TEST(RegistryTest, WritesAndGenerationMoveTogether) {
    // Every write and its generation bump are one transaction: `serve` polls the
    // generation, so a change without a bump would never be picked up.
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path());
    ASSERT_TRUE(reg);
    ClientRecord c;
    c.serial = "9ffefdef";
    c.mac = "dc:a6:32:01:36:c2";
    ASSERT_TRUE(reg->enroll(c));
    const auto g1 = *reg->generation();
    // A refused write (MAC taken) changes neither the data nor the generation.
    ClientRecord d = c;
    d.serial = "11111111";
    ASSERT_FALSE(reg->enroll(d));
    EXPECT_EQ(*reg->generation(), g1);
    EXPECT_FALSE(*reg->findBySerial("11111111"));
    // Removing nothing is not a change; removing something is.
    EXPECT_FALSE(*reg->remove("00000000"));
    EXPECT_EQ(*reg->generation(), g1);
    EXPECT_TRUE(*reg->remove("9ffefdef"));
    const auto g2 = *reg->generation();
    EXPECT_GT(g2, g1);
    ASSERT_TRUE(reg->setSetting("nfs.version", "3"));
    EXPECT_GT(*reg->generation(), g2);
    // No transaction is left open: another connection can write at once.
    auto other = Registry::open(dir.path());
    ASSERT_TRUE(other);
    ASSERT_TRUE(other->upsertDiscovered("abcdef01", std::nullopt, "cm4", 1000));
    EXPECT_TRUE(*reg->findBySerial("abcdef01"));
}

TEST(RegistryTest, DiscoveredThenEnrolledKeepsFirstSeen) {
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path());
    ASSERT_TRUE(reg);
    ASSERT_TRUE(reg->upsertDiscovered("abcdef01", std::nullopt, "cm4", 1000));
    ASSERT_TRUE(reg->upsertDiscovered("abcdef01", std::string("dc:a6:32:00:00:01"), "", 2000));
    auto r = reg->findBySerial("abcdef01");
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->state, ClientState::Discovered);
    EXPECT_EQ((*r)->firstSeen, 1000);
    EXPECT_EQ((*r)->lastSeen, 2000);
    EXPECT_EQ((*r)->model, "cm4");
    EXPECT_EQ((*r)->mac, "dc:a6:32:00:00:01");
    ClientRecord e = **r;
    e.image = "os";
    ASSERT_TRUE(reg->enroll(e));
    auto after = reg->findBySerial("abcdef01");
    EXPECT_EQ((*after)->state, ClientState::Enrolled);
    EXPECT_EQ((*after)->firstSeen, 1000);
    // the daemon seeing it again does not demote it
    ASSERT_TRUE(reg->upsertDiscovered("abcdef01", std::nullopt, "cm4", 3000));
    EXPECT_EQ((*reg->findBySerial("abcdef01"))->state, ClientState::Enrolled);
}

TEST(RegistryTest, AFourccOnlyModelGivesWayToThePreciseOne) {
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path());
    ASSERT_TRUE(reg);
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "RPi4", 1000));
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "", 1500));  // no model: kept
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "RPi4");
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "cm4", 2000));
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "cm4");
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "RPi4", 3000));
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "cm4");  // a precise model stays
}

TEST(RegistryTest, SecondConnectionSeesChangesAndSettingsPersist) {
    TempDir dir("pnb-registry-test");
    auto daemon = Registry::open(dir.path());
    auto cli = Registry::open(dir.path());
    ASSERT_TRUE(daemon && cli);
    auto v0 = daemon->dataVersion();
    auto g0 = daemon->generation();
    ASSERT_TRUE(cli->setSetting("server_ip", "10.0.0.1"));
    EXPECT_NE(*daemon->dataVersion(), *v0);
    EXPECT_GT(*daemon->generation(), *g0);
    auto s = daemon->setting("server_ip");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ(**s, "10.0.0.1");
    EXPECT_FALSE(*daemon->setting("nothing"));
}

TEST(RegistryTest, RefusesNewerSchema) {
    TempDir dir("pnb-registry-test");
    {
        auto reg = Registry::open(dir.path());
        ASSERT_TRUE(reg);
        auto db = Database::open((dir.path() / "registry.db").string());
        ASSERT_TRUE(db->exec("PRAGMA user_version = 99"));
    }
    auto again = Registry::open(dir.path());
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("newer"), std::string::npos);
}

// Regression (issue #13 item 7): every board the network named added a row, without
// limit. The discovered rows are capped; the oldest seen go first, enrolled never.
TEST(RegistryTest, DiscoveredRowsAreCappedOldestFirstEnrolledNever) {
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path() / "state");
    ASSERT_TRUE(reg) << reg.error().message;
    for (const char* serial : {"e0000001", "e0000002"}) {
        ClientRecord c;
        c.serial = serial;
        ASSERT_TRUE(reg->enroll(c));
    }
    // Enrolled clients seen long ago are still older than any discovered row.
    ASSERT_TRUE(reg->upsertDiscovered("e0000001", std::nullopt, "", 1, 3));
    for (std::int64_t i = 0; i < 5; ++i) {
        const auto serial = fmt::format("d000000{}", i);
        ASSERT_TRUE(reg->upsertDiscovered(serial, std::nullopt, "pi4", 100 + i, 3));
    }
    auto all = reg->list();
    ASSERT_TRUE(all);
    std::vector<std::string> serials;
    for (const auto& c : *all) {
        serials.push_back(c.serial);
    }
    EXPECT_EQ(serials, (std::vector<std::string>{"d0000002", "d0000003", "d0000004", "e0000001",
                                                 "e0000002"}));
    // Seeing a kept board again refreshes it: the next newcomer evicts d0000003.
    ASSERT_TRUE(reg->upsertDiscovered("d0000002", std::nullopt, "", 200, 3));
    ASSERT_TRUE(reg->upsertDiscovered("d0000009", std::nullopt, "", 201, 3));
    EXPECT_FALSE(*reg->findBySerial("d0000003"));
    EXPECT_TRUE(*reg->findBySerial("d0000002"));
    EXPECT_TRUE(*reg->findBySerial("d0000009"));
    EXPECT_TRUE(*reg->findBySerial("e0000001"));
    EXPECT_EQ(reg->list()->size(), 5u);
}

}  // namespace
}  // namespace pinet::io

namespace pinet::io {
namespace {

// Issue #13: a row the daemon (or anyone who can write the file) stored with
// bytes that are not UTF-8 comes back as safe text: the dashboard and the API
// then cannot fail on it. Clean text, backslashes included, comes back as is.
TEST(RegistryTest, DisplayTextIsMadeSafeAsItIsRead) {
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path() / "state");
    ASSERT_TRUE(reg) << reg.error().message;
    ClientRecord c;
    c.serial = "9ffefdef";
    c.name =
        "rack\x01"
        "1";
    c.model = "cm4\xff";
    c.notes = "caf\xe9 C:\\boot";
    ASSERT_TRUE(reg->enroll(c));
    auto got = reg->findBySerial("9ffefdef");
    ASSERT_TRUE(got && *got);
    EXPECT_EQ((*got)->name, "rack\\x011");
    EXPECT_EQ((*got)->model, "cm4\\xff");
    EXPECT_EQ((*got)->notes, "caf\\xe9 C:\\boot");
}

}  // namespace
}  // namespace pinet::io
