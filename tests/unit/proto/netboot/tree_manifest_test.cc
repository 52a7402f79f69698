#include "proto/netboot/tree_manifest.h"

#include <gtest/gtest.h>

namespace pinet::proto::netboot {
namespace {

const std::string kA(64, 'a');
const std::string kB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(TreeManifest, RoundTrips) {
    std::vector<TreeEntry> in{{TreeEntry::Kind::File, kA, 12, "config.txt"},
                              {TreeEntry::Kind::Link, kB, 8, "dc-a6-32-01-02-03"},
                              {TreeEntry::Kind::File, kB, 0, "overlays/a b.dtbo"}};
    auto text = encodeTreeManifest(in);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "f " + kA + " 12 config.txt\nl " + kB + " 8 dc-a6-32-01-02-03\nf " + kB +
                         " 0 overlays/a b.dtbo\n");
    auto out = decodeTreeManifest(*text);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, in);
    auto empty = decodeTreeManifest("");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

TEST(TreeManifest, EncodeRefusesUnsortedAndBadEntries) {
    EXPECT_FALSE(encodeTreeManifest(
        {{TreeEntry::Kind::File, kA, 1, "b"}, {TreeEntry::Kind::File, kA, 1, "a"}}));
    EXPECT_FALSE(encodeTreeManifest(
        {{TreeEntry::Kind::File, kA, 1, "a"}, {TreeEntry::Kind::File, kA, 1, "a"}}));
    EXPECT_FALSE(encodeTreeManifest({{TreeEntry::Kind::File, "ABC", 1, "a"}}));
    EXPECT_FALSE(encodeTreeManifest({{TreeEntry::Kind::File, kA, 1, "../etc/passwd"}}));
}

TEST(TreeManifest, DecodeRefusesWhatEncodeNeverWrites) {
    const std::string ok = "f " + kA + " 1 a\n";
    ASSERT_TRUE(decodeTreeManifest(ok));
    for (const std::string& bad : {
             "f " + kA + " 1 a",                       // no newline
             "x " + kA + " 1 a\n",                     // kind
             "f " + kA.substr(1) + "g 1 a\n",          // not hex
             "f " + std::string(64, 'A') + " 1 a\n",   // upper case
             "f " + kA + " 01 a\n",                    // leading zero
             "f " + kA + " -1 a\n",                    // sign
             "f " + kA + " 99999999999999999999 a\n",  // overflow
             "f " + kA + " 1 /abs\n",                  // absolute
             "f " + kA + " 1 a//b\n",                  // empty component
             "f " + kA + " 1 a/./b\n",                 // dot
             "f " + kA + " 1 a/../b\n",                // dot-dot
             "f " + kA + " 1 a\tb\n",                  // control character
             "f " + kA + " 1  a\n",                    // leading space in the path
             ok + ok,                                  // duplicate
             "f " + kA + " 1 b\n" + ok,                // unsorted
         }) {
        EXPECT_FALSE(decodeTreeManifest(bad)) << bad;
    }
}

TEST(TreeManifest, DecodeIsBoundedInEntriesAndPathLength) {
    std::string many;
    for (std::size_t i = 0; i <= kMaxTreeEntries; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "%08zu", i);
        many += "f " + kA + " 1 " + name + "\n";
    }
    auto r = decodeTreeManifest(many);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than 65536"), std::string::npos) << r.error().message;
    EXPECT_FALSE(decodeTreeManifest("f " + kA + " 1 " + std::string(kMaxTreePath + 1, 'x') + "\n"));
    EXPECT_TRUE(decodeTreeManifest("f " + kA + " 1 " + std::string(kMaxTreePath, 'x') + "\n"));
}

}  // namespace
}  // namespace pinet::proto::netboot
