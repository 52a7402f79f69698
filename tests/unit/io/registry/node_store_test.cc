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

TEST_P(NodeStoreTest, TreesArePublishedReplacedRemovedAndReadBack) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    HashedTree t1{"100000001", std::string(64, '1'), "f " + std::string(64, 'a') + " 1 x\n", 1, 1,
                  ""};
    HashedTree t2{".", std::string(64, '2'), "", 0, 0, ""};
    const std::vector<HashedTree> both{t1, t2};
    ASSERT_TRUE(a->publishTrees("n1", both, {}));
    ASSERT_TRUE(b->publishTrees("n2", std::span(both).first(1), {}));
    auto rows = b->treeDigests();
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ((*rows)[0].node, "n1");
    EXPECT_EQ((*rows)[0].tree, ".");
    EXPECT_EQ((*rows)[1].tree, "100000001");
    EXPECT_EQ((*rows)[2].node, "n2");
    EXPECT_TRUE((*rows)[2].manifest.empty());  // digests only
    EXPECT_GT((*rows)[2].updatedMs, 0);

    // Replaced and removed in one call.
    t1.digest = std::string(64, '3');
    t1.problem = "more than 65536 entries";
    const std::vector<std::string> gone{"."};
    ASSERT_TRUE(a->publishTrees("n1", std::span(&t1, 1), gone));
    auto m = a->treeManifests("100000001");
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_EQ(m->size(), 2u);
    EXPECT_EQ((*m)[0].node, "n1");
    EXPECT_EQ((*m)[0].digest, std::string(64, '3'));
    EXPECT_EQ((*m)[0].problem, "more than 65536 entries");
    EXPECT_EQ((*m)[0].manifest, t1.manifest);
    EXPECT_EQ((*m)[1].node, "n2");
    auto after = a->treeDigests();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->size(), 2u);  // n1's "." removed
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
