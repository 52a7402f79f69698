#include "io/sqlite/sqlite.h"

#include <gtest/gtest.h>

#include "io/file.h"

namespace pinet::io {
namespace {

std::int64_t pragma(Database& db, const std::string& name) {
    auto s = db.prepare("PRAGMA " + name);
    EXPECT_TRUE(s);
    auto row = s->step();
    EXPECT_TRUE(row && *row);
    return s->int64(0);
}

TEST(Sqlite, DefaultsWaitLongAndSyncFully) {
    TempDir t("sqlite-test");
    auto db = Database::open((t.path() / "a.db").string());
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(pragma(*db, "busy_timeout"), 5000);
    EXPECT_EQ(pragma(*db, "synchronous"), 2);  // FULL
    EXPECT_EQ(pragma(*db, "foreign_keys"), 1);
}

TEST(Sqlite, OptionsSetBusyTimeoutAndSynchronousNormal) {
    TempDir t("sqlite-test");
    Database::Options o;
    o.busyTimeout = std::chrono::milliseconds(200);
    o.serialized = false;
    o.synchronousNormal = true;
    auto db = Database::open((t.path() / "a.db").string(), o);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(pragma(*db, "busy_timeout"), 200);
    EXPECT_EQ(pragma(*db, "synchronous"), 1);  // NORMAL
}

TEST(Sqlite, AResetStatementRunsAgainWithNewBindings) {
    TempDir t("sqlite-test");
    auto db = Database::open((t.path() / "a.db").string());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER)"));
    auto ins = db->prepare("INSERT INTO t(v) VALUES(?1)");
    ASSERT_TRUE(ins);
    ASSERT_TRUE(ins->bind(1, std::int64_t{1}).run());
    ASSERT_TRUE(ins->reset().bind(1, std::int64_t{2}).run());
    auto sum = db->prepare("SELECT sum(v) FROM t");
    ASSERT_TRUE(sum);
    ASSERT_TRUE(*sum->step());
    EXPECT_EQ(sum->int64(0), 3);
}

}  // namespace
}  // namespace pinet::io
