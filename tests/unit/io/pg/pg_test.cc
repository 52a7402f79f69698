#include "io/pg/pg.h"

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/registry/registry.h"
#include "lib/pg_server.h"

namespace pinet::io {
namespace {

TEST(PgRedact, PasswordsNeverShow) {
    EXPECT_EQ(PgConnection::redact("postgresql://u:s3cret@db.example:5432/reg"),
              "postgresql://u:***@db.example:5432/reg");
    EXPECT_EQ(PgConnection::redact("postgresql://u@db/reg?password=s3cret&sslmode=require"),
              "postgresql://u@db/reg?password=***&sslmode=require");
    EXPECT_EQ(PgConnection::redact("host=/run/postgresql password=s3cret dbname=reg"),
              "host=/run/postgresql password=*** dbname=reg");
    EXPECT_EQ(PgConnection::redact("postgresql:///reg?host=/tmp/x&user=pinet"),
              "postgresql:///reg?host=/tmp/x&user=pinet");
}

class PgConnectionTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string error;
        auto* pg = test::sharedPgServer(error);
        ASSERT_NE(pg, nullptr) << error;
        auto c = PgConnection::connect(pg->createDatabase(error));
        ASSERT_TRUE(c) << c.error().message << error;
        conn_ = std::move(*c);
    }
    PgConnection conn_;
};

// Values are parameters, never SQL: a value that looks like SQL is stored as text.
TEST_F(PgConnectionTest, ValuesAreParametersNotSql) {
    ASSERT_TRUE(conn_.execConstant("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, n BIGINT)"));
    const std::string hostile = "x'); DROP TABLE t; --";
    auto ins = conn_.query("INSERT INTO t VALUES ($1::text, $2::text, $3::bigint)",
                           {hostile, std::nullopt, pgParam(-42)});
    ASSERT_TRUE(ins) << ins.error().message;
    EXPECT_EQ(ins->affected(), 1);
    auto r = conn_.query("SELECT k, v, n FROM t WHERE k = $1::text", {hostile});
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->rows(), 1);
    EXPECT_EQ(r->columns(), 3);
    EXPECT_EQ(r->text(0, 0), hostile);
    EXPECT_FALSE(r->optText(0, 1));
    EXPECT_EQ(*r->int64(0, 2), -42);
    // Outside what libpq reports: empty, never a read past the result.
    EXPECT_EQ(r->text(1, 0), "");
    EXPECT_EQ(r->text(0, 3), "");
    EXPECT_TRUE(r->isNull(-1, 0));
    EXPECT_FALSE(r->int64(0, 0));  // not a number: an error, not 0
    EXPECT_FALSE(r->int64(0, 1));  // NULL
}

TEST_F(PgConnectionTest, ErrorsCarrySqlStateAndConstraint) {
    ASSERT_TRUE(conn_.execConstant("CREATE TABLE u (m TEXT UNIQUE)"));
    ASSERT_TRUE(conn_.query("INSERT INTO u VALUES ($1::text)", {std::string("a")}));
    auto dup = conn_.query("INSERT INTO u VALUES ($1::text)", {std::string("a")});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().sqlState, "23505");
    EXPECT_EQ(dup.error().constraint, "u_m_key");
    // Invalid UTF-8 is refused by the server (why the registry checks first).
    auto bad = conn_.query("INSERT INTO u VALUES ($1::text)", {std::string("caf\xe9")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().sqlState, "22021");  // character_not_in_repertoire
    EXPECT_FALSE(conn_.broken());
}

// A connection the server ended (a restart, an administrator's pg_terminate_backend)
// is seen as broken, and reset() makes it again with the same parameters.
TEST_F(PgConnectionTest, BrokenConnectionIsSeenAndReset) {
    auto pid = conn_.query("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid);
    std::string error;
    auto other = PgConnection::connect(test::sharedPgServer(error)->url());
    ASSERT_TRUE(other);
    ASSERT_TRUE(other->query("SELECT pg_terminate_backend($1::integer)", {pid->text(0, 0)}));
    EXPECT_FALSE(conn_.query("SELECT 1"));  // the operation that meets it fails
    EXPECT_TRUE(conn_.broken());
    ASSERT_TRUE(conn_.reset());
    EXPECT_FALSE(conn_.broken());
    auto again = conn_.query("SELECT 1");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->text(0, 0), "1");
}

// The registry on a connection that was lost (the database restarted): the operation
// that meets it fails, the next one works again on a new connection.
TEST(PgRegistry, LostConnectionIsMadeAgain) {
    std::string error;
    auto* pg = test::sharedPgServer(error);
    ASSERT_NE(pg, nullptr) << error;
    const auto url = pg->createDatabase(error);
    ASSERT_FALSE(url.empty()) << error;
    TempDir dir("pnb-registry-test");
    auto reg = Registry::open(dir.path(), {StoreLocation::Backend::Postgresql, url});
    ASSERT_TRUE(reg) << reg.error().message;
    ClientRecord c;
    c.serial = "9ffefdef";
    ASSERT_TRUE(reg->enroll(c));
    auto admin = PgConnection::connect(url);
    ASSERT_TRUE(admin);
    auto killed = admin->query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    ASSERT_TRUE(killed) << killed.error().message;
    ASSERT_EQ(*killed->int64(0, 0), 1);
    EXPECT_FALSE(reg->findBySerial("9ffefdef"));
    auto again = reg->findBySerial("9ffefdef");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(*again);
}

TEST(PgConnect, UnreachableServerSaysSoWithoutThePassword) {
    auto c = PgConnection::connect("postgresql://u:s3cret@/db?host=/nonexistent-pnb-dir");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("cannot connect"), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.find("s3cret"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace pinet::io
