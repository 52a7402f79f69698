#include "proto/disk/boot_map.h"

#include <gtest/gtest.h>

namespace pinet::proto::disk {
namespace {

constexpr std::uint64_t kImage = 1 << 20;

TEST(BootMap, RoundTrips) {
    const std::vector<BootMapFile> in{
        {"config.txt", 12, 1700000000, {{4096, 12}}},
        {"empty", 0, -5, {}},
        {"kernel8.img", 9000, 0, {{8192, 4096}, {20480, 4904}}},
        {"overlays/a b.dtbo", 1, 1, {{100, 1}}},
    };
    auto text = encodeBootMap(in, kImage);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text,
              "12 1700000000 4096+12 config.txt\n0 -5 - empty\n9000 0 8192+4096,20480+4904 "
              "kernel8.img\n1 1 100+1 overlays/a b.dtbo\n");
    auto out = decodeBootMap(*text, kImage);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, in);
}

TEST(BootMap, EveryExtentMustLieInTheImageAndAddUpToTheSize) {
    EXPECT_TRUE(decodeBootMap("10 0 1048566+10 a\n", kImage));                // the last 10 bytes
    EXPECT_FALSE(decodeBootMap("10 0 1048567+10 a\n", kImage));               // one past the end
    EXPECT_FALSE(decodeBootMap("10 0 18446744073709551615+10 a\n", kImage));  // wraps
    EXPECT_FALSE(decodeBootMap("10 0 0+9 a\n", kImage));                      // short
    EXPECT_FALSE(decodeBootMap("10 0 0+5,5+6 a\n", kImage));                  // long
    EXPECT_FALSE(decodeBootMap("10 0 0+10,20+0 a\n", kImage));                // an empty extent
    EXPECT_FALSE(decodeBootMap("0 0 0+1 a\n", kImage));  // extents of an empty file
    EXPECT_FALSE(decodeBootMap("1 0 - a\n", kImage));    // no extents for a byte
}

TEST(BootMap, RefusesWhatEncodeNeverWrites) {
    for (const std::string bad : {
             "1 0 0+1 a",               // no newline
             "01 0 0+1 a\n",            // leading zero
             "1 -0 0+1 a\n",            // minus zero
             "1 0 0+1\n",               // no path
             "1 0 0+1 /a\n",            // absolute
             "1 0 0+1 a/../b\n",        // dot-dot
             "1 0 0+1 a//b\n",          // empty part
             "1 0 0+1 a\tb\n",          // control character
             "1 0 0+1  a\n",            // leading space
             "1 0 0-1 a\n",             // not OFFSET+LENGTH
             "1 0 0+1 b\n1 0 0+1 a\n",  // unsorted
             "1 0 0+1 a\n1 0 0+1 a\n",  // duplicate
         }) {
        EXPECT_FALSE(decodeBootMap(bad, kImage)) << bad;
    }
}

TEST(BootMap, IsBoundedInExtents) {
    std::string many = std::to_string(kMaxBootMapExtents + 1) + " 0 ";
    for (std::size_t i = 0; i <= kMaxBootMapExtents; ++i) {
        many += (i == 0 ? "" : ",") + std::to_string(i % 1000) + "+1";
    }
    many += " big\n";
    auto r = decodeBootMap(many, kImage);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace pinet::proto::disk
