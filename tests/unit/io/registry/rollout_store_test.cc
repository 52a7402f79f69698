#include "io/registry/rollout_store.h"

#include <gtest/gtest.h>

#include "io/file.h"

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
    ASSERT_TRUE(store->create(row, {1, 2, 3}, "sig\n"));
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
    ASSERT_TRUE(store->saveProgress("r1", "running", 1, "", 1, boards));
    auto back = *store->boards("r1");
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].phase, "up_to_date");
    EXPECT_EQ(back[0].offeredTs, 1800000000);
    EXPECT_EQ(back[0].returnedAtMs, 4500);
    EXPECT_FALSE(back[1].offeredTs);
    EXPECT_EQ(back[1].wave, 1);
    found = *store->find("r1");
    EXPECT_EQ(found->state, "running");
    EXPECT_EQ(found->appliedSeq, 1);
    ASSERT_TRUE(store->requestCommand("r1", "pause"));
    EXPECT_EQ((*store->find("r1"))->commandSeq, 2);
    EXPECT_EQ(store->list()->size(), 1u);
}

}  // namespace
}  // namespace pinet::io
