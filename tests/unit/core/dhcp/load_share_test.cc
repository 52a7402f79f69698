#include "core/dhcp/load_share.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace pinet::core::dhcp {
namespace {

std::vector<Member> nodes(std::initializer_list<std::pair<const char*, bool>> list) {
    std::vector<Member> v;
    for (const auto& [id, live] : list) {
        v.push_back({id, live});
    }
    return v;
}

// The values below were computed by a separate transcription of RFC 3074 section 6
// (a Python script: hash = len; for i from len down to 1: hash = T[hash ^ key[i-1]]).
TEST(LoadShareHash, MatchesTheRfcAlgorithm) {
    EXPECT_EQ(bucketOf(Mac{0, 0, 0, 0, 0, 0}), 254);
    EXPECT_EQ(bucketOf(Mac{0xdc, 0xa6, 0x32, 0x00, 0x10, 0x00}), 22);
    EXPECT_EQ(bucketOf(Mac{0x02, 0, 0, 0, 0x20, 0x01}), 143);
    EXPECT_EQ(bucketOf(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 79);
    EXPECT_EQ(bucketOf(Mac{0xd8, 0x3a, 0xdd, 0x12, 0x34, 0x56}), 188);
    EXPECT_EQ(loadBalanceHash({}), 0);  // the seed is the length, 0; nothing mixed in
    // One octet: T[1 ^ k] (seed 1).
    const std::uint8_t one[] = {1};
    EXPECT_EQ(loadBalanceHash(one), 251);  // T[0]
}

TEST(LoadShareHash, TableIsAPermutation) {
    // Every one-octet key k hashes to T[1 ^ k]: the 256 results are the table, which
    // RFC 3074 section 6 says holds 256 distinct values.
    std::set<int> seen;
    for (int k = 0; k < 256; ++k) {
        const std::uint8_t key[] = {static_cast<std::uint8_t>(k)};
        seen.insert(loadBalanceHash(key));
    }
    EXPECT_EQ(seen.size(), 256U);
}

TEST(LoadShareHash, BoardMacsSpreadOverTheBuckets) {
    // 4096 consecutive Pi MACs (as a rack has): every bucket gets some, none more than
    // a few times its share of 16.
    std::array<int, kBuckets> n{};
    for (int i = 0; i < 4096; ++i) {
        ++n[bucketOf(Mac{0xdc, 0xa6, 0x32, 0, static_cast<std::uint8_t>(i >> 8),
                         static_cast<std::uint8_t>(i & 0xff)})];
    }
    for (int c : n) {
        EXPECT_GT(c, 0);
        EXPECT_LT(c, 48);
    }
}

TEST(BucketMap, SingleNodeOwnsEverything) {
    const BucketMap m(nodes({{"a", true}}));
    EXPECT_EQ(m.ownedBy("a").count(), kBuckets);
    EXPECT_EQ(m.addressShare("a").count, 1U);
}

TEST(BucketMap, NobodyLiveOwnsNothing) {
    const BucketMap m(nodes({{"a", false}, {"b", false}}));
    EXPECT_FALSE(m.ownerOf(0).has_value());
    EXPECT_EQ(m.ownedBy("a").count(), 0U);
}

TEST(BucketMap, EvenSplitAndEveryBucketOwnedOnce) {
    for (std::size_t n = 2; n <= 7; ++n) {
        std::vector<Member> v;
        for (std::size_t i = 0; i < n; ++i) {
            v.push_back({"node" + std::to_string(i), true});
        }
        const BucketMap m(v);
        BucketSet all;
        for (const auto& mem : m.members()) {
            const auto mine = m.ownedBy(mem.id);
            EXPECT_TRUE((all & mine).none()) << "a bucket with two owners";
            all |= mine;
            // 256 / n rounded either way.
            EXPECT_GE(mine.count(), kBuckets / n);
            EXPECT_LE(mine.count(), kBuckets / n + 1);
        }
        EXPECT_TRUE(all.all());
    }
}

TEST(BucketMap, DeterministicWhateverTheOrder) {
    const BucketMap a(nodes({{"b", true}, {"a", true}, {"c", false}}));
    const BucketMap b(nodes({{"c", false}, {"a", true}, {"b", true}, {"a", true}}));
    for (std::size_t k = 0; k < kBuckets; ++k) {
        EXPECT_EQ(a.ownerOf(static_cast<std::uint8_t>(k)), b.ownerOf(static_cast<std::uint8_t>(k)));
    }
    EXPECT_EQ(a.members().size(), 3U);
    EXPECT_EQ(a.members().front().id, "a");
    EXPECT_EQ(a.addressShare("b").index, 1U);
    EXPECT_EQ(a.addressShare("b").count, 3U);
}

TEST(BucketMap, DeadNodesBucketsAreTakenOverAndComeBack) {
    const BucketMap all(nodes({{"a", true}, {"b", true}, {"c", true}}));
    const BucketMap cDead(nodes({{"a", true}, {"b", true}, {"c", false}}));
    // a and b keep what they had and split c's buckets between them.
    EXPECT_EQ((all.ownedBy("a") & cDead.ownedBy("a")), all.ownedBy("a"));
    EXPECT_EQ((all.ownedBy("b") & cDead.ownedBy("b")), all.ownedBy("b"));
    EXPECT_EQ(cDead.ownedBy("c").count(), 0U);
    EXPECT_EQ((cDead.ownedBy("a") | cDead.ownedBy("b")).count(), kBuckets);
    const auto fromC = all.ownedBy("c");
    EXPECT_GT((fromC & cDead.ownedBy("a")).count(), 30U);
    EXPECT_GT((fromC & cDead.ownedBy("b")).count(), 30U);

    auto changes = membershipChanges(all, cDead, "a");
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].kind, MembershipChange::Kind::Takeover);
    EXPECT_EQ(changes[0].node, "c");
    EXPECT_EQ(changes[0].buckets, (fromC & cDead.ownedBy("a")).count());

    // c heartbeats again: exactly its old buckets.
    const BucketMap back(nodes({{"a", true}, {"b", true}, {"c", true}}));
    EXPECT_EQ(back.ownedBy("c"), fromC);
    changes = membershipChanges(cDead, back, "a");
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].kind, MembershipChange::Kind::Rejoin);
    EXPECT_EQ(changes[0].buckets, fromC.count());
    EXPECT_EQ(std::string(toString(changes[0].kind)), "NODE_REJOIN");
}

TEST(BucketMap, TwoNodesOneDies) {
    const BucketMap both(nodes({{"n1", true}, {"n2", true}}));
    const BucketMap n2Dead(nodes({{"n1", true}, {"n2", false}}));
    EXPECT_EQ(both.ownedBy("n1").count(), 128U);
    EXPECT_EQ(n2Dead.ownedBy("n1").count(), 256U);
    const auto changes = membershipChanges(both, n2Dead, "n1");
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].buckets, 128U);
    // The dead node sees nothing of itself: its own row is the caller's to report.
    EXPECT_TRUE(membershipChanges(both, n2Dead, "n2").empty());
}

TEST(BucketMap, NewMemberJoinsAndADeletedRowIsTakenOver) {
    const BucketMap one(nodes({{"a", true}}));
    const BucketMap two(nodes({{"a", true}, {"b", true}}));
    auto changes = membershipChanges(one, two, "a");
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].kind, MembershipChange::Kind::Join);
    EXPECT_EQ(changes[0].buckets, 128U);
    changes = membershipChanges(two, one, "a");
    ASSERT_EQ(changes.size(), 1U);
    EXPECT_EQ(changes[0].kind, MembershipChange::Kind::Takeover);
    EXPECT_EQ(changes[0].buckets, 128U);
    // A known member that has been dead all along is no change.
    const BucketMap d(nodes({{"a", true}, {"z", false}}));
    EXPECT_TRUE(membershipChanges(d, d, "a").empty());
}

}  // namespace
}  // namespace pinet::core::dhcp
