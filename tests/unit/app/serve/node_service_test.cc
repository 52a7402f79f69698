#include "app/serve/node_service.h"

#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "io/file.h"
#include "lib/pg_server.h"

namespace pinet::app::serve {
namespace {

TEST(NodeId, HostNamesAreMadeSafe) {
    EXPECT_EQ(sanitizeNodeId("rack1-a.lab"), "rack1-a.lab");
    EXPECT_EQ(sanitizeNodeId("bad name/\n"), "bad-name--");
    EXPECT_EQ(sanitizeNodeId(""), "node");
    EXPECT_EQ(sanitizeNodeId(std::string(100, 'x')).size(), 63u);
}

// SQLite: one machine, one node, every bucket; its row in the nodes table.
TEST(NodeService, OnSqliteOneNodeOwnsEveryBucket) {
    io::TempDir state("pnb-node-service");
    ASSERT_TRUE(io::Registry::open(state.path()));
    NodeService n({"solo", "10.0.0.1", state.path(), {}, {}, std::chrono::seconds(30)});
    n.start();
    for (int b = 0; b < 256; ++b) {
        EXPECT_TRUE(n.owns(static_cast<std::uint8_t>(b)));
    }
    EXPECT_EQ(n.addressShare().count, 1u);
    const auto j = nlohmann::json::parse(n.nodesJson());
    EXPECT_EQ(j["self"], "solo");
    EXPECT_EQ(j["store"], "sqlite");
    ASSERT_EQ(j["nodes"].size(), 1u);
    EXPECT_EQ(j["nodes"][0]["buckets"], 256);
    EXPECT_EQ(j["nodes"][0]["live"], true);
    n.stop();
}

// PostgreSQL: two nodes split the buckets; one stops heartbeating and the other takes
// them all within the liveness window; it comes back and gets its own back.
TEST(NodeService, TwoNodesSplitTakeOverAndRejoin) {
    std::string error;
    auto* pg = test::sharedPgServer(error);
    ASSERT_NE(pg, nullptr) << error;
    const auto url = pg->createDatabase(error);
    ASSERT_FALSE(url.empty()) << error;
    io::TempDir state("pnb-node-service");
    const io::StoreLocation where{io::StoreLocation::Backend::Postgresql, url};
    ASSERT_TRUE(io::Registry::open(state.path(), where));
    auto owned = [](const NodeService& n) {
        int c = 0;
        for (int b = 0; b < 256; ++b) {
            c += n.owns(static_cast<std::uint8_t>(b)) ? 1 : 0;
        }
        return c;
    };
    NodeService a({"node-a", "10.0.0.1", state.path(), where, {}, std::chrono::seconds(30)});
    a.start();
    EXPECT_EQ(owned(a), 256);
    auto b = std::make_unique<NodeService>(
        NodeServiceConfig{"node-b", "10.0.0.2", state.path(), where, {}, std::chrono::seconds(30)});
    b->start();
    EXPECT_EQ(owned(*b), 128);  // b saw a at once
    // a sees b at its next heartbeat.
    for (int i = 0; i < 30 && owned(a) != 128; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(owned(a), 128);
    for (int k = 0; k < 256; ++k) {
        EXPECT_NE(a.owns(static_cast<std::uint8_t>(k)), b->owns(static_cast<std::uint8_t>(k)));
    }
    EXPECT_NE(a.addressShare().index, b->addressShare().index);
    b->stop();
    b.reset();
    // No heartbeat from b: after kLiveWithin (3 s) a owns everything.
    for (int i = 0; i < 60 && owned(a) != 256; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(owned(a), 256);
    b = std::make_unique<NodeService>(
        NodeServiceConfig{"node-b", "10.0.0.2", state.path(), where, {}, std::chrono::seconds(30)});
    b->start();
    EXPECT_EQ(owned(*b), 128);
    for (int i = 0; i < 30 && owned(a) != 128; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(owned(a), 128);
    const auto j = nlohmann::json::parse(a.nodesJson());
    EXPECT_EQ(j["live"], 2);
    ASSERT_EQ(j["nodes"].size(), 2u);
    b->recordBoot({"", "1234abcd", "dc:a6:32:00:00:01", "10.0.0.100", "pi4", "kernel8.img",
                   "kernel_loaded", "", 1000, 2000});
    // Written within kBootBatch (100 ms), not at the next heartbeat nor at stop.
    auto reader = io::NodeStore::open(state.path(), where);
    ASSERT_TRUE(reader);
    bool written = false;
    for (int i = 0; i < 8 && !written; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        written = (*reader)->recentBoots(10)->size() == 1;
    }
    EXPECT_TRUE(written) << "the boot was not in the store 400 ms after it ended";
    b->stop();
    for (int i = 0; i < 30 && nlohmann::json::parse(a.nodeBootsJson(10))["boots"].empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const auto boots = nlohmann::json::parse(a.nodeBootsJson(10))["boots"];
    ASSERT_EQ(boots.size(), 1u);
    EXPECT_EQ(boots[0]["node_id"], "node-b");  // which node served it
    a.stop();
}

// PostgreSQL: the node publishes its boot trees' manifests, and a changed file is in
// the store within a tree period or two.
TEST(NodeService, PublishesItsBootTreesAndWhatChanges) {
    std::string error;
    auto* pg = test::sharedPgServer(error);
    ASSERT_NE(pg, nullptr) << error;
    const auto url = pg->createDatabase(error);
    ASSERT_FALSE(url.empty()) << error;
    io::TempDir state("pnb-node-trees");
    io::TempDir root("pnb-node-trees-root");
    std::filesystem::create_directories(root.path() / "100000001");
    ASSERT_TRUE(io::writeFileAtomic(root.path() / "100000001" / "config.txt", "arm_64bit=1\n"));
    const io::StoreLocation where{io::StoreLocation::Backend::Postgresql, url};
    ASSERT_TRUE(io::Registry::open(state.path(), where));
    NodeService n(
        {"node-t", "10.0.0.1", state.path(), where, root.path(), std::chrono::seconds(1)});
    n.start();
    auto store = io::NodeStore::open(state.path(), where);
    ASSERT_TRUE(store) << store.error().message;
    auto digestOf = [&]() -> std::string {
        auto rows = (*store)->treeDigests();
        if (!rows) {
            return "error: " + rows.error().message;
        }
        for (const auto& r : *rows) {
            if (r.node == "node-t" && r.tree == "100000001") {
                return r.digest;
            }
        }
        return {};
    };
    auto waitFor = [&](auto pred) {
        for (int i = 0; i < 50 && !pred(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return pred();
    };
    ASSERT_TRUE(waitFor([&] { return digestOf().size() == 64; })) << digestOf();
    const std::string first = digestOf();
    ASSERT_TRUE(io::writeFileAtomic(root.path() / "100000001" / "config.txt", "arm_64bit=0\n"));
    EXPECT_TRUE(waitFor([&] { return digestOf().size() == 64 && digestOf() != first; }))
        << "digest still " << digestOf();
    auto m = (*store)->treeManifests("100000001");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->size(), 1u);
    EXPECT_NE((*m)[0].manifest.find(" config.txt\n"), std::string::npos) << (*m)[0].manifest;
    n.stop();
}

}  // namespace
}  // namespace pinet::app::serve
