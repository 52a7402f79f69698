#include "app/store.h"

#include <gtest/gtest.h>

#include "app/config/config.h"

namespace pinet::app {
namespace {

namespace cfg = config;
using Backend = io::StoreLocation::Backend;

TEST(StoreLocation, SqliteUnlessAskedOtherwise) {
    auto where = storeLocation(cfg::Config{}, std::nullopt);
    ASSERT_TRUE(where);
    EXPECT_EQ(where->backend, Backend::Sqlite);
    // An empty variable is no variable.
    where = storeLocation(cfg::Config{}, std::string());
    ASSERT_TRUE(where);
    EXPECT_EQ(where->backend, Backend::Sqlite);
}

TEST(StoreLocation, FileNamesPostgresAndTheEnvironmentWins) {
    const auto c = cfg::parseConfig(
        "[store]\nbackend = \"postgresql\"\nurl = \"postgresql://a@db/reg\"\n", "f.toml");
    auto where = storeLocation(c, std::nullopt);
    ASSERT_TRUE(where);
    EXPECT_EQ(where->backend, Backend::Postgresql);
    EXPECT_EQ(where->url, "postgresql://a@db/reg");
    where = storeLocation(c, std::string("postgresql://b@other/x"));
    ASSERT_TRUE(where);
    EXPECT_EQ(where->url, "postgresql://b@other/x");
    // The variable alone selects PostgreSQL, over a file that says sqlite.
    where = storeLocation(cfg::parseConfig("[store]\nbackend = \"sqlite\"\n", "f.toml"),
                          std::string("host=/run/postgresql dbname=p"));
    ASSERT_TRUE(where);
    EXPECT_EQ(where->backend, Backend::Postgresql);
}

TEST(StoreLocation, PostgresWithoutAUrlSaysWhatToSet) {
    auto c = cfg::parseConfig("[store]\nbackend = \"postgresql\"\n", "f.toml");
    c.sourcePath = "f.toml";
    auto where = storeLocation(c, std::nullopt);
    ASSERT_FALSE(where);
    EXPECT_NE(where.error().message.find("f.toml: store.backend is \"postgresql\""),
              std::string::npos)
        << where.error().message;
    EXPECT_NE(where.error().message.find("store.url"), std::string::npos);
    EXPECT_NE(where.error().message.find("PINETBOOT_STORE_URL"), std::string::npos);
}

TEST(StoreConfig, BadKeysAreRefusedWithTheirLine) {
    for (const char* text : {"[store]\nbackend = \"mysql\"\n", "[store]\nurl = \"db.example\"\n",
                             "[store]\nurl = \"postgresql://x/y\"\n"}) {
        SCOPED_TRACE(text);
        try {
            (void)cfg::parseConfig(text, "f.toml");
            ADD_FAILURE() << "accepted";
        } catch (const cfg::ConfigError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("f.toml"), std::string::npos) << what;
            EXPECT_NE(what.find("store"), std::string::npos) << what;
        }
    }
}

}  // namespace
}  // namespace pinet::app
