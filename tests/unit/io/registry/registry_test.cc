#include "io/registry/registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/pg/pg.h"
#include "lib/pg_server.h"

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

/// Every registry test below runs on both stores (issue #19): SQLite in the state
/// directory, and a database of its own on a PostgreSQL server this test process
/// started (tests/lib/pg_server.h). A missing server fails the test, never skips it.
class RegistryStoreTest : public ::testing::TestWithParam<StoreLocation::Backend> {
protected:
    void SetUp() override {
        where_.backend = GetParam();
        if (GetParam() == StoreLocation::Backend::Postgresql) {
            std::string error;
            auto* pg = test::sharedPgServer(error);
            ASSERT_NE(pg, nullptr) << error;
            where_.url = pg->createDatabase(error);
            ASSERT_FALSE(where_.url.empty()) << error;
        }
    }

    [[nodiscard]] bool postgres() const { return GetParam() == StoreLocation::Backend::Postgresql; }

    Result<Registry> open(const std::filesystem::path& state) {
        return Registry::open(state, where_);
    }

    /// Sets the stored schema version behind the registry's back (a newer pinetboot).
    void forceVersion(const std::filesystem::path& state, int v) {
        if (postgres()) {
            auto c = PgConnection::connect(where_.url);
            ASSERT_TRUE(c) << c.error().message;
            auto r = c->query(
                "INSERT INTO schema_version(version, applied_at, description) "
                "VALUES ($1::integer, 0, 'from the future')",
                {pgParam(v)});
            ASSERT_TRUE(r) << r.error().message;
        } else {
            auto db = Database::open((state / "registry.db").string());
            ASSERT_TRUE(db);
            ASSERT_TRUE(db->exec(fmt::format("PRAGMA user_version = {}", v)));
        }
    }

    /// Writes @p name and @p notes into a client's row behind the registry's back,
    /// as anyone who can write the store could.
    void writeRaw(const std::filesystem::path& state, const std::string& serial,
                  const std::string& name, const std::string& notes) {
        if (postgres()) {
            auto c = PgConnection::connect(where_.url);
            ASSERT_TRUE(c) << c.error().message;
            auto r = c->query(
                "UPDATE clients SET name = $1::text, notes = $2::text "
                "WHERE serial = $3::text",
                {name, notes, serial});
            ASSERT_TRUE(r) << r.error().message;
            EXPECT_EQ(r->affected(), 1);
        } else {
            auto db = Database::open((state / "registry.db").string());
            ASSERT_TRUE(db);
            auto st = db->prepare("UPDATE clients SET name = ?1, notes = ?2 WHERE serial = ?3");
            ASSERT_TRUE(st);
            st->bind(1, name).bind(2, notes).bind(3, serial);
            ASSERT_TRUE(st->run());
            EXPECT_EQ(db->changes(), 1);
        }
    }

    StoreLocation where_;
};

INSTANTIATE_TEST_SUITE_P(Stores, RegistryStoreTest,
                         ::testing::Values(StoreLocation::Backend::Sqlite,
                                           StoreLocation::Backend::Postgresql),
                         [](const auto& p) {
                             return p.param == StoreLocation::Backend::Sqlite ? "sqlite"
                                                                              : "postgresql";
                         });

TEST_P(RegistryStoreTest, EnrollFindListRemove) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path() / "state");
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

TEST_P(RegistryStoreTest, WritesAndGenerationMoveTogether) {
    // Every write and its generation bump are one transaction: `serve` polls the
    // generation, so a change without a bump would never be picked up.
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path());
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
    auto other = open(dir.path());
    ASSERT_TRUE(other);
    ASSERT_TRUE(other->upsertDiscovered("abcdef01", std::nullopt, "cm4", 1000));
    EXPECT_TRUE(*reg->findBySerial("abcdef01"));
}

TEST_P(RegistryStoreTest, DiscoveredThenEnrolledKeepsFirstSeen) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path());
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

TEST_P(RegistryStoreTest, AFourccOnlyModelGivesWayToThePreciseOne) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path());
    ASSERT_TRUE(reg);
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "RPi4", 1000));
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "", 1500));  // no model: kept
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "RPi4");
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "cm4", 2000));
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "cm4");
    ASSERT_TRUE(reg->upsertDiscovered("abcdef02", std::nullopt, "RPi4", 3000));
    EXPECT_EQ((*reg->findBySerial("abcdef02"))->model, "cm4");  // a precise model stays
}

TEST_P(RegistryStoreTest, SecondConnectionSeesChangesAndSettingsPersist) {
    TempDir dir("pnb-registry-test");
    auto daemon = open(dir.path());
    auto cli = open(dir.path());
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

TEST_P(RegistryStoreTest, RefusesNewerSchema) {
    TempDir dir("pnb-registry-test");
    {
        auto reg = open(dir.path());
        ASSERT_TRUE(reg) << reg.error().message;
        forceVersion(dir.path(), 99);
    }
    auto again = open(dir.path());
    ASSERT_FALSE(again);
    const auto& msg = again.error().message;
    EXPECT_NE(msg.find("schema version 99 is newer than this pinetboot understands (" +
                       std::to_string(schema::latestVersion()) + ")"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Upgrade pinetboot"), std::string::npos) << msg;
}

// Regression (issue #13 item 7): every board the network named added a row, without
// limit. The discovered rows are capped; the oldest seen go first, enrolled never.
TEST_P(RegistryStoreTest, DiscoveredRowsAreCappedOldestFirstEnrolledNever) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path() / "state");
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

// Issue #13: a row the daemon (or anyone who can write the file) stored with
// bytes that are not UTF-8 comes back as safe text: the dashboard and the API
// then cannot fail on it. Clean text, backslashes included, comes back as is.
TEST_P(RegistryStoreTest, DisplayTextIsMadeSafeAsItIsRead) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path() / "state");
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

// A row written by someone else (anyone who can write registry.db, or has an account
// on the PostgreSQL server) is hostile: terminal escapes, a bidi override and, where
// the store can hold them, invalid bytes come back escaped.
TEST_P(RegistryStoreTest, RowWrittenBehindTheRegistrysBackIsMadeSafe) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path());
    ASSERT_TRUE(reg) << reg.error().message;
    ClientRecord c;
    c.serial = "9ffefdef";
    ASSERT_TRUE(reg->enroll(c));
    // PostgreSQL text holds UTF-8 only; SQLite holds any bytes.
    const std::string notes = postgres() ? std::string(
                                               "ok\xe2\x80\xae"
                                               "evil")
                                         : std::string(
                                               "ok\xe2\x80\xae"
                                               "evil\xff");
    writeRaw(dir.path(), "9ffefdef", "\x1b[31mred\n", notes);
    auto got = reg->findBySerial("9ffefdef");
    ASSERT_TRUE(got && *got) << (got ? "" : got.error().message);
    EXPECT_EQ((*got)->name, "\\x1b[31mred\\x0a");
    EXPECT_EQ((*got)->notes, postgres() ? "ok\\xe2\\x80\\xae"
                                          "evil"
                                        : "ok\\xe2\\x80\\xae"
                                          "evil\\xff");
    auto all = reg->list();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(all->front().name, "\\x1b[31mred\\x0a");
}

// The names of things cannot be escaped (an escaped path names another file): the
// SQLite store keeps any bytes, the PostgreSQL store refuses what is not UTF-8 and
// says why, changing nothing.
TEST_P(RegistryStoreTest, NonUtf8PathIsKeptBySqliteAndRefusedClearlyByPostgres) {
    TempDir dir("pnb-registry-test");
    auto reg = open(dir.path());
    ASSERT_TRUE(reg) << reg.error().message;
    const auto g0 = *reg->generation();
    ClientRecord c;
    c.serial = "9ffefdef";
    c.bootDir = "/srv/tftp/caf\xe9";
    auto r = reg->enroll(c);
    if (postgres()) {
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("boot directory '/srv/tftp/caf\\xe9' is not UTF-8"),
                  std::string::npos)
            << r.error().message;
        EXPECT_FALSE(*reg->findBySerial("9ffefdef"));
        EXPECT_EQ(*reg->generation(), g0);
        EXPECT_FALSE(reg->setSetting("server_ip", "10.0.0.\xff"));
    } else {
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ((*reg->findBySerial("9ffefdef"))->bootDir, "/srv/tftp/caf\xe9");
    }
}

TEST_P(RegistryStoreTest, OpenMigratesOnceThenFindsTheSchemaCurrent) {
    TempDir dir("pnb-registry-test");
    {
        auto first = open(dir.path());
        ASSERT_TRUE(first) << first.error().message;
        EXPECT_EQ(first->migration().before, 0);
        EXPECT_EQ(first->migration().after, schema::latestVersion());
        ClientRecord c;
        c.serial = "9ffefdef";
        ASSERT_TRUE(first->enroll(c));
    }
    auto again = open(dir.path());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->migration().before, schema::latestVersion());
    EXPECT_EQ(again->migration().after, schema::latestVersion());
    EXPECT_TRUE(*again->findBySerial("9ffefdef"));  // nothing was re-created
    EXPECT_NE(again->describe().find(postgres() ? "postgresql" : "registry.db"), std::string::npos);
}

// Two nodes (here: threads with a connection each) starting on an empty store at
// the same moment: both open it, and the schema is made once. On PostgreSQL this is
// the advisory lock's job: without it, concurrent CREATE TABLEs collide.
TEST_P(RegistryStoreTest, ManyOpenersMigratingAtOnceAllSucceed) {
    TempDir dir("pnb-registry-test");
    constexpr int kOpeners = 6;
    std::vector<std::string> errors(kOpeners);
    std::vector<std::thread> threads;
    for (int i = 0; i < kOpeners; ++i) {
        threads.emplace_back([&, i] {
            auto r = open(dir.path());
            errors[static_cast<std::size_t>(i)] = r ? "" : r.error().message;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& e : errors) {
        EXPECT_EQ(e, "");
    }
    auto reg = open(dir.path());
    ASSERT_TRUE(reg) << reg.error().message;
    EXPECT_EQ(reg->migration().before, schema::latestVersion());
    if (postgres()) {
        auto c = PgConnection::connect(where_.url);
        ASSERT_TRUE(c);
        auto rows = c->query("SELECT count(*) FROM schema_version");
        ASSERT_TRUE(rows) << rows.error().message;
        EXPECT_EQ(*rows->int64(0, 0), schema::latestVersion());  // one row per version
    }
}

// The migration runner itself, with a list one step longer than the registry's:
// from an older store it applies the missing step (and only it), and a build that
// knows fewer steps refuses the store afterwards.
TEST_P(RegistryStoreTest, MigrationStepsApplyInOrderAndANewerStoreIsRefused) {
    TempDir dir("pnb-registry-test");
    ASSERT_TRUE(open(dir.path()));
    std::vector<schema::Migration> steps(schema::registryMigrations().begin(),
                                         schema::registryMigrations().end());
    const int next = schema::latestVersion() + 1;
    steps.push_back({next, "test table",
                     "CREATE TABLE extra (id {int64} NOT NULL);"
                     "INSERT INTO extra(id) VALUES (7);"});
    if (postgres()) {
        auto c = PgConnection::connect(where_.url);
        ASSERT_TRUE(c);
        auto m = schema::migratePostgres(*c, steps);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->before, next - 1);
        EXPECT_EQ(m->after, next);
        auto again = schema::migratePostgres(*c, steps);
        ASSERT_TRUE(again) << again.error().message;
        EXPECT_EQ(again->before, next);
        auto rows = c->query("SELECT count(*) FROM extra");
        ASSERT_TRUE(rows);
        EXPECT_EQ(*rows->int64(0, 0), 1);  // applied once
        EXPECT_EQ(*schema::postgresVersion(*c), next);
    } else {
        auto db = Database::open((dir.path() / "registry.db").string());
        ASSERT_TRUE(db);
        auto m = schema::migrateSqlite(*db, steps);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->before, next - 1);
        EXPECT_EQ(m->after, next);
        auto again = schema::migrateSqlite(*db, steps);
        ASSERT_TRUE(again);
        EXPECT_EQ(again->before, next);
        EXPECT_EQ(*schema::sqliteVersion(*db), next);
    }
    auto refused = open(dir.path());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find(fmt::format("schema version {} is newer", next)),
              std::string::npos)
        << refused.error().message;
}

// A failing step leaves the store at the version before it, whole: the next run can
// apply it once fixed.
TEST_P(RegistryStoreTest, FailedMigrationStepChangesNothing) {
    TempDir dir("pnb-registry-test");
    ASSERT_TRUE(open(dir.path()));
    const int next = schema::latestVersion() + 1;
    std::vector<schema::Migration> steps(schema::registryMigrations().begin(),
                                         schema::registryMigrations().end());
    steps.push_back({next, "broken",
                     "CREATE TABLE half (id {int64}); SELECT no_such_column "
                     "FROM clients;"});
    if (postgres()) {
        auto c = PgConnection::connect(where_.url);
        ASSERT_TRUE(c);
        auto m = schema::migratePostgres(*c, steps);
        ASSERT_FALSE(m);
        EXPECT_NE(m.error().message.find(fmt::format("migration to version {}", next)),
                  std::string::npos)
            << m.error().message;
        EXPECT_EQ(*schema::postgresVersion(*c), next - 1);
        auto half = c->query("SELECT to_regclass('half') IS NULL");
        ASSERT_TRUE(half);
        EXPECT_EQ(half->text(0, 0), "t");  // rolled back with the step
    } else {
        auto db = Database::open((dir.path() / "registry.db").string());
        ASSERT_TRUE(db);
        auto m = schema::migrateSqlite(*db, steps);
        ASSERT_FALSE(m);
        EXPECT_EQ(*schema::sqliteVersion(*db), next - 1);
        auto st = db->prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'");
        ASSERT_TRUE(st);
        ASSERT_TRUE(*st->step());
        EXPECT_EQ(st->int64(0), 0);
    }
    EXPECT_TRUE(open(dir.path()));  // still a current store for this build
}

}  // namespace
}  // namespace pinet::io
