#include "proto/netboot/ids.h"

#include <gtest/gtest.h>

namespace pinet::proto::netboot {
namespace {

TEST(IdsTest, Serials) {
    EXPECT_EQ(normalizeSerial("9FFEFDEF"), "9ffefdef");
    EXPECT_EQ(normalizeSerial("0x9ffefdef"), "9ffefdef");
    EXPECT_EQ(normalizeSerial("100000009ffefdef"), "9ffefdef");
    EXPECT_FALSE(normalizeSerial("9ffefde"));
    EXPECT_FALSE(normalizeSerial("9ffefdeg"));
    EXPECT_FALSE(normalizeSerial("../../etc"));
}

TEST(IdsTest, Macs) {
    EXPECT_EQ(normalizeMac("DC:A6:32:01:36:C2"), "dc:a6:32:01:36:c2");
    EXPECT_EQ(normalizeMac("dc-a6-32-01-36-c2"), "dc:a6:32:01:36:c2");
    EXPECT_EQ(normalizeMac("dca6320136c2"), "dc:a6:32:01:36:c2");
    EXPECT_FALSE(normalizeMac("dc:a6:32:01:36"));
    EXPECT_FALSE(normalizeMac("zz:a6:32:01:36:c2"));
    EXPECT_EQ(macPrefixDir("dc:a6:32:01:36:c2"), "dc-a6-32-01-36-c2");
}

TEST(IdsTest, HostLabels) {
    EXPECT_TRUE(isValidHostLabel("pi-rack1-07"));
    EXPECT_FALSE(isValidHostLabel("-pi"));
    EXPECT_FALSE(isValidHostLabel("pi_1"));
    EXPECT_FALSE(isValidHostLabel(""));
    EXPECT_FALSE(isValidHostLabel(std::string(64, 'a')));
}

TEST(IdsTest, PrefixDirectoriesHaveOneSpelling) {
    EXPECT_EQ(parseSerialDir("D9780558"), "d9780558");
    EXPECT_FALSE(parseSerialDir("0xd9780558"));  // normalizeSerial would take these
    EXPECT_FALSE(parseSerialDir("10000000d9780558"));
    EXPECT_FALSE(parseSerialDir("d978055"));
    EXPECT_FALSE(parseSerialDir("d978055g"));
    EXPECT_EQ(parseMacDir("DC-A6-32-01-36-C2"), "dc-a6-32-01-36-c2");
    EXPECT_FALSE(parseMacDir("dc:a6:32:01:36:c2"));
    EXPECT_FALSE(parseMacDir("dca6320136c2"));
    EXPECT_FALSE(parseMacDir("dc-a6-32-01-36-cz"));
    EXPECT_FALSE(parseMacDir("dc-a6-32-01-36-c2-"));
}

}  // namespace
}  // namespace pinet::proto::netboot

TEST(Ids, PrefixDirectoriesAreStrict) {
    using namespace pinet::proto::netboot;
    EXPECT_EQ(parseSerialDir("D9780558"), "d9780558");
    EXPECT_FALSE(parseSerialDir("0xd9780558"));  // the bootloader never spells it so
    EXPECT_FALSE(parseSerialDir("d978055"));
    EXPECT_FALSE(parseSerialDir("d978055g"));
    EXPECT_EQ(parseMacDir("DC-A6-32-01-36-C2"), "dc-a6-32-01-36-c2");
    EXPECT_FALSE(parseMacDir("dc:a6:32:01:36:c2"));
    EXPECT_FALSE(parseMacDir("dc-a6-32-01-36-c"));
    EXPECT_FALSE(parseMacDir("dc-a6-32-01-36-cg"));
    // Round trip with the general normaliser.
    EXPECT_EQ(normalizeMac(*parseMacDir("DC-A6-32-01-36-C2")), "dc:a6:32:01:36:c2");
    EXPECT_EQ(macPrefixDir(*normalizeMac("dc:a6:32:01:36:c2")), parseMacDir("dc-a6-32-01-36-c2"));
}
