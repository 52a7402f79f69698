#include "core/boot/tree_compare.h"

#include <gtest/gtest.h>

namespace pinet::core::boot {
namespace {

using proto::netboot::TreeEntry;

TEST(TreeCompare, SameDigestsOnEveryNodeIsNoMismatch) {
    const std::vector<NodeTreeDigest> rows{{"n1", "100000001", "d1", 3},
                                           {"n2", "100000001", "d1", 3},
                                           {"n1", ".", "t", 1},
                                           {"n2", ".", "t", 1}};
    EXPECT_TRUE(compareTreeDigests({"n1", "n2"}, rows).empty());
}

TEST(TreeCompare, NamesTheMissingAndTheDiffering) {
    const std::vector<NodeTreeDigest> rows{{"n1", "a", "d1", 3},
                                           {"n2", "a", "d2", 3},
                                           {"n1", "b", "d3", 1},
                                           {"n3", "b", "d3", 1},
                                           {"n9", "c", "x", 1}};  // not a node asked about
    const auto m = compareTreeDigests({"n1", "n2", "n3"}, rows);
    ASSERT_EQ(m.size(), 2U);
    EXPECT_EQ(m[0].tree, "a");
    EXPECT_TRUE(m[0].digestsDiffer);
    EXPECT_EQ(m[0].missingOn, std::vector<std::string>{"n3"});
    EXPECT_EQ(m[0].presentOn, (std::vector<std::string>{"n1", "n2"}));
    EXPECT_EQ(m[1].tree, "b");
    EXPECT_FALSE(m[1].digestsDiffer);
    EXPECT_EQ(m[1].missingOn, std::vector<std::string>{"n2"});
}

TreeEntry f(const std::string& path, char digit, std::uint64_t size = 1) {
    return {TreeEntry::Kind::File, std::string(64, digit), size, path};
}

TEST(TreeCompare, DiffNamesEveryPathThatIsNotTheSame) {
    const std::vector<NodeManifest> ms{
        {"n1", {f("config.txt", 'a'), f("kernel8.img", 'b'), f("overlays/x.dtbo", 'c')}},
        {"n2", {f("cmdline.txt", 'd'), f("config.txt", 'a'), f("kernel8.img", 'e')}},
    };
    std::size_t total = 0;
    const auto d = diffManifests(ms, 10, &total);
    EXPECT_EQ(total, 3U);
    ASSERT_EQ(d.size(), 3U);
    EXPECT_EQ(d[0].path, "cmdline.txt");
    EXPECT_FALSE(d[0].entries[0]);
    EXPECT_TRUE(d[0].entries[1]);
    EXPECT_EQ(d[1].path, "kernel8.img");
    EXPECT_EQ(d[1].entries[0]->sha256[0], 'b');
    EXPECT_EQ(d[1].entries[1]->sha256[0], 'e');
    EXPECT_EQ(d[2].path, "overlays/x.dtbo");
    EXPECT_FALSE(d[2].entries[1]);
}

TEST(TreeCompare, DiffSeesKindAndSizeAndIsBounded) {
    TreeEntry link = f("a", 'a');
    link.kind = TreeEntry::Kind::Link;
    const std::vector<NodeManifest> ms{{"n1", {f("a", 'a'), f("b", 'b', 1), f("c", 'c')}},
                                       {"n2", {link, f("b", 'b', 2), f("c", 'c')}}};
    std::size_t total = 0;
    const auto d = diffManifests(ms, 1, &total);
    EXPECT_EQ(total, 2U);
    ASSERT_EQ(d.size(), 1U);
    EXPECT_EQ(d[0].path, "a");
    EXPECT_TRUE(diffManifests({ms[0], ms[0]}, 10).empty());
}

}  // namespace
}  // namespace pinet::core::boot
