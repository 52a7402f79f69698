#include "io/registry/node_store.h"

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/pg/pg.h"
#include "lib/pg_server.h"

namespace pinet::io {
namespace {

/// The nodes and boots tables (schema v3, issue #19) on both stores.
class NodeStoreTest : public ::testing::TestWithParam<StoreLocation::Backend> {
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
        auto reg = Registry::open(state_.path(), where_);  // migrates to the latest schema
        ASSERT_TRUE(reg) << reg.error().message;
    }
    std::unique_ptr<NodeStore> open() {
        auto s = NodeStore::open(state_.path(), where_);
        EXPECT_TRUE(s) << s.error().message;
        return s ? std::move(*s) : nullptr;
    }
    TempDir state_{"pnb-node-store"};
    StoreLocation where_;
};

TEST_P(NodeStoreTest, HeartbeatsAreOneRowPerNodeWithTheirAge) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->heartbeat("node-b", "10.0.0.2", 1000));
    ASSERT_TRUE(b->heartbeat("node-a", "10.0.0.1", 2000));
    ASSERT_TRUE(a->heartbeat("node-b", "10.0.0.3", 3000));  // a restart: replaced
    auto rows = b->nodes();
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[0].id, "node-a");  // sorted
    EXPECT_EQ((*rows)[1].id, "node-b");
    EXPECT_EQ((*rows)[1].address, "10.0.0.3");
    EXPECT_EQ((*rows)[1].startedMs, 3000);
    for (const auto& r : *rows) {
        EXPECT_GE(r.ageMs, 0);
        EXPECT_LT(r.ageMs, 10'000);  // just written, by the store's clock
    }
}

TEST_P(NodeStoreTest, BootsOfEveryNodeNewestFirst) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    BootRow r1{"node-a", "1234abcd",    "dc:a6:32:00:00:01", "10.0.0.100",
               "pi4",    "kernel8.img", "kernel_loaded",     "",
               1000,     3000};
    BootRow r2 = r1;
    r2.node = "node-b";
    r2.serial = "1234abce";
    r2.outcome = "failed";
    r2.failure = "timeout fetching start4.elf";
    ASSERT_TRUE(a->recordBoots(std::vector{r1}));
    ASSERT_TRUE(b->recordBoots(std::vector{r2}));
    auto boots = a->recentBoots(10);
    ASSERT_TRUE(boots) << boots.error().message;
    ASSERT_EQ(boots->size(), 2u);
    EXPECT_EQ((*boots)[0].node, "node-b");
    EXPECT_EQ((*boots)[0].failure, "timeout fetching start4.elf");
    EXPECT_EQ((*boots)[1].node, "node-a");
    EXPECT_EQ((*boots)[1].file, "kernel8.img");
    EXPECT_EQ((*boots)[1].endedMs, 3000);
    EXPECT_EQ(a->recentBoots(1)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, NodeStoreTest,
                         ::testing::Values(StoreLocation::Backend::Sqlite,
                                           StoreLocation::Backend::Postgresql),
                         [](const auto& p) {
                             return p.param == StoreLocation::Backend::Sqlite ? "sqlite"
                                                                              : "postgresql";
                         });

}  // namespace
}  // namespace pinet::io
