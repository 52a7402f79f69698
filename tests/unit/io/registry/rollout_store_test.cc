#include "io/registry/rollout_store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "io/file.h"
#include "io/sqlite/sqlite.h"

namespace pinet::io {
namespace {

TEST(RolloutStore, CreateStartProgressRoundTrip) {
    TempDir t("pnb-rollout-store");
    auto store = RolloutStore::open(t.path() / "state");
    ASSERT_TRUE(store) << store.error().message;
    const auto g0 = *store->generation();
    RolloutRow row;
    row.name = "r1";
    row.sigTimestamp = 1800000000;
    row.updateSha256 = std::string(64, 'a');
    row.config = "BOOT_ORDER=0xf21\n";
    row.soc = 2712;
    ASSERT_TRUE(store->create(row, {1, 2, 3}, "sig\n"));
    EXPECT_EQ((*store->find("r1"))->soc, 2712);
    EXPECT_GT(*store->generation(), g0);
    EXPECT_EQ(*readFile(store->filesDir("r1") / "pieeprom.upd"),
              (std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_FALSE(store->create(row, {1}, "x"));  // the name is taken
    EXPECT_FALSE(RolloutStore::validName("../x"));
    EXPECT_FALSE(RolloutStore::validName(".hidden"));
    EXPECT_TRUE(RolloutStore::validName("bo-f21_2026.05"));

    std::vector<RolloutBoardRow> boards(2);
    boards[0].serial = "00000001";
    boards[1].serial = "00000002";
    boards[1].wave = 1;
    ASSERT_TRUE(store->requestStart("r1", boards, 50, "2 listed boards"));
    auto found = *store->find("r1");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->command, "start");
    EXPECT_EQ(found->commandSeq, 1);
    EXPECT_EQ(found->appliedSeq, 0);
    EXPECT_EQ(found->wavePercent, 50);

    boards[0].phase = "up_to_date";
    boards[0].updateFetches = 1;
    boards[0].offeredTs = 1800000000;
    boards[0].fetchedAtMs = 1000;
    boards[0].returnedAtMs = 4500;
    boards[0].sinceMs = 4600;
    boards[1].seenAtMs = 700;
    ASSERT_TRUE(store->saveProgress("r1", "running", 1, "", 1, boards));
    auto back = *store->boards("r1");
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].phase, "up_to_date");
    EXPECT_EQ(back[0].offeredTs, 1800000000);
    EXPECT_EQ(back[0].returnedAtMs, 4500);
    EXPECT_EQ(back[0].sinceMs, 4600);
    EXPECT_FALSE(back[0].seenAtMs);
    EXPECT_EQ(back[1].seenAtMs, 700);
    EXPECT_FALSE(back[1].sinceMs);
    EXPECT_FALSE(back[1].offeredTs);
    EXPECT_EQ(back[1].wave, 1);
    found = *store->find("r1");
    EXPECT_EQ(found->state, "running");
    EXPECT_EQ(found->appliedSeq, 1);
    ASSERT_TRUE(store->requestCommand("r1", "pause"));
    EXPECT_EQ((*store->find("r1"))->commandSeq, 2);
    EXPECT_EQ(store->list()->size(), 1u);
}

// A rollouts.db from before the soc / since_at / seen_at columns: opened, it gains them
// and keeps its rows.
TEST(RolloutStore, AddsTheNewColumnsToAnOlderDatabase) {
    TempDir t("pnb-rollout-store-old");
    const auto dir = t.path() / "state";
    std::filesystem::create_directories(dir);
    {
        auto db = Database::open((dir / "rollouts.db").string());
        ASSERT_TRUE(db) << db.error().message;
        ASSERT_TRUE(db->exec(
            "CREATE TABLE rollouts (name TEXT PRIMARY KEY, created INTEGER NOT NULL, sig_ts "
            "INTEGER NOT NULL, update_sha256 TEXT NOT NULL, signed INTEGER NOT NULL, config TEXT "
            "NOT NULL, image TEXT NOT NULL, state TEXT NOT NULL, wave INTEGER NOT NULL DEFAULT 0, "
            "wave_percent INTEGER NOT NULL DEFAULT 10, return_timeout INTEGER NOT NULL DEFAULT "
            "600, target TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', command TEXT "
            "NOT NULL DEFAULT '', command_seq INTEGER NOT NULL DEFAULT 0, applied_seq INTEGER NOT "
            "NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE rollout_boards (rollout TEXT NOT NULL, serial TEXT NOT NULL, wave "
            "INTEGER NOT NULL, phase TEXT NOT NULL, offered_ts INTEGER, sig_fetches INTEGER NOT "
            "NULL DEFAULT 0, update_fetches INTEGER NOT NULL DEFAULT 0, fetched_at INTEGER, "
            "returned_at INTEGER, detail TEXT NOT NULL DEFAULT '', excused INTEGER NOT NULL "
            "DEFAULT 0, PRIMARY KEY (rollout, serial));"
            "INSERT INTO rollouts(name, created, sig_ts, update_sha256, signed, config, image, "
            "state) VALUES ('old', 1, 2, 'x', 0, '', 'i', 'running');"
            "INSERT INTO rollout_boards(rollout, serial, wave, phase, fetched_at) VALUES ('old', "
            "'00000001', 0, 'fetched', 5000);"));
    }
    auto store = RolloutStore::open(dir);
    ASSERT_TRUE(store) << store.error().message;
    auto row = *store->find("old");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->soc, 0);
    EXPECT_EQ(row->state, "running");
    auto boards = *store->boards("old");
    ASSERT_EQ(boards.size(), 1u);
    EXPECT_EQ(boards[0].fetchedAtMs, 5000);
    EXPECT_FALSE(boards[0].sinceMs);
    boards[0].sinceMs = 6000;
    ASSERT_TRUE(store->saveProgress("old", "running", 0, "", 0, boards));
    EXPECT_EQ((*store->boards("old"))[0].sinceMs, 6000);
    // Opening again finds the columns there and changes nothing.
    ASSERT_TRUE(RolloutStore::open(dir));
}

}  // namespace
}  // namespace pinet::io
