#include "proto/byte_reader.h"

#include <gtest/gtest.h>

#include "proto/byte_writer.h"
#include "proto/hex.h"

namespace pinet::proto {
namespace {

TEST(ByteReaderTest, ReadsBigAndLittleEndian) {
    const std::uint8_t data[] = {0x55, 0xaa, 0xf0, 0x0f, 0x01, 0x02, 0x03, 0x04};
    ByteReader r(data);
    EXPECT_EQ(r.u32be(), 0x55aaf00fu);
    EXPECT_EQ(r.u32le(), 0x04030201u);
    EXPECT_TRUE(r.empty());
}

TEST(ByteReaderTest, ShortReadFailsWithoutMoving) {
    const std::uint8_t data[] = {1, 2, 3};
    ByteReader r(data);
    EXPECT_FALSE(r.u32be().has_value());
    EXPECT_EQ(r.offset(), 0u);
    EXPECT_FALSE(r.bytes(4).has_value());
    EXPECT_EQ(r.u16be(), 0x0102);
    EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteReaderTest, CStringNeedsTerminator) {
    const std::uint8_t ok[] = {'a', 'b', 0, 'c'};
    ByteReader r(ok);
    EXPECT_EQ(r.cstring(), "ab");
    EXPECT_FALSE(r.cstring().has_value());
    EXPECT_EQ(r.remaining(), 1u);
}

TEST(HexTest, RoundTrip) {
    ByteWriter w;
    w.u32be(0xdeadbeef);
    EXPECT_EQ(toHex(w.data()), "deadbeef");
    EXPECT_EQ(fromHex("DEADbeef"), w.data());
    EXPECT_FALSE(fromHex("abc").has_value());
    EXPECT_FALSE(fromHex("zz").has_value());
}

}  // namespace
}  // namespace pinet::proto
