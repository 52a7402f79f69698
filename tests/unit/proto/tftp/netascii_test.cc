#include "proto/tftp/netascii.h"

#include <gtest/gtest.h>

#include <string>

namespace pinet::proto::tftp {
namespace {

std::vector<std::uint8_t> bytesOf(std::string_view s) {
    return {s.begin(), s.end()};
}

TEST(NetasciiTest, EncodesLineEndsAndBareCr) {
    auto in = bytesOf("a\nb\rc");
    auto out = encodeNetascii(in);
    EXPECT_EQ(out, bytesOf(std::string("a\r\nb\r\0c", 7)));
    EXPECT_EQ(netasciiSize(in), out.size());
}

TEST(NetasciiTest, DecodesAcrossBlockBoundaries) {
    auto original = bytesOf("line1\nline2\r\n\rx\n");
    auto wire = encodeNetascii(original);
    // Split at every possible point, including between CR and LF/NUL.
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        NetasciiDecoder dec;
        std::vector<std::uint8_t> out;
        dec.feed(std::span(wire).first(cut), out);
        dec.feed(std::span(wire).subspan(cut), out);
        dec.finish(out);
        EXPECT_EQ(out, original) << "cut at " << cut;
    }
}

TEST(NetasciiTest, EmptyInput) {
    EXPECT_TRUE(encodeNetascii({}).empty());
    NetasciiDecoder dec;
    std::vector<std::uint8_t> out;
    dec.finish(out);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pinet::proto::tftp
