#include "proto/text/safe_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pinet::proto::text {
namespace {

TEST(SafeText, PrintableUtf8IsKept) {
    EXPECT_EQ(safeText("d9780558/start4.elf"), "d9780558/start4.elf");
    EXPECT_EQ(safeText("Grüße, 日本語, 🙂"), "Grüße, 日本語, 🙂");
    EXPECT_TRUE(isSafeText("Grüße"));
}

TEST(SafeText, InvalidUtf8AndControlsAreEscapedByteByByte) {
    EXPECT_EQ(safeText("\xff\xfe.txt"), "\\xff\\xfe.txt");
    EXPECT_EQ(safeText("a\nINFO forged"), "a\\x0aINFO forged");
    EXPECT_EQ(safeText(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(safeText("\x7f"), "\\x7f");
    EXPECT_EQ(safeText("caf\xe9"), "caf\\xe9");              // Latin-1 é
    EXPECT_EQ(safeText("\xc2\x85"), "\\xc2\\x85");           // U+0085 NEL, a C1 control
    EXPECT_EQ(safeText("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
    EXPECT_EQ(safeText("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
    EXPECT_EQ(safeText("\xe2\x80\xae"
                       "evil"),
              "\\xe2\\x80\\xae"
              "evil");                                       // RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(safeText("\xf0\x9f\x99"), "\\xf0\\x9f\\x99");  // truncated sequence
    EXPECT_FALSE(isSafeText("\xff"));
}

TEST(SafeText, BackslashIsDoubledSoEscapesAreUnambiguous) {
    EXPECT_EQ(safeText("a\\x41"), "a\\\\x41");
    EXPECT_EQ(safeText("a\\b", kDefaultMaxBytes, Backslash::Keep), "a\\b");
    EXPECT_EQ(safeText("a\nb", kDefaultMaxBytes, Backslash::Keep), "a\\x0ab");
}

// What a PostgreSQL text column takes (the registry's store, issue #19): UTF-8 with
// controls, but neither invalid sequences nor NUL.
TEST(SafeText, Utf8TextAcceptsControlsButNotInvalidBytesOrNul) {
    EXPECT_TRUE(isUtf8Text("Grüße\x01\n"));
    EXPECT_TRUE(isUtf8Text("rack\x01"));
    EXPECT_TRUE(isUtf8Text(""));
    EXPECT_FALSE(isUtf8Text("cm4\xff"));
    EXPECT_FALSE(isUtf8Text("caf\xe9"));
    EXPECT_FALSE(isUtf8Text("\xc0\xaf"));      // overlong
    EXPECT_FALSE(isUtf8Text("\xed\xa0\x80"));  // surrogate
    EXPECT_FALSE(isUtf8Text(std::string("a\0b", 3)));
}

TEST(SafeText, BoundedAtACharacterBoundary) {
    EXPECT_EQ(safeText(std::string(2000, 'x')).size(), kDefaultMaxBytes + 3);
    EXPECT_EQ(safeText("ab\xff", 4), "ab...");  // the escape would not fit
    EXPECT_EQ(safeText("aé", 2), "a...");       // é is not cut in half
}

TEST(SafeText, EveryByteStringBecomesValidJson) {
    // nlohmann::json::dump() throws on invalid UTF-8 (issue #13): after the
    // sanitiser no string can make it throw.
    std::string all;
    for (int b = 0; b < 256; ++b) {
        all += static_cast<char>(b);
        all += static_cast<char>(255 - b);
    }
    const std::string safe = safeText(all, 1 << 20);
    for (char c : safe) {
        EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f);
    }
    EXPECT_NO_THROW((void)nlohmann::json(safe).dump());
    EXPECT_THROW((void)nlohmann::json(all).dump(), nlohmann::json::type_error);
}

}  // namespace
}  // namespace pinet::proto::text
