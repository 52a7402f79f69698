#include "proto/eeprom/sig.h"

#include <string>

#include <gtest/gtest.h>

#include "lib/test_env.h"

namespace pinet::proto::eeprom {
namespace {

std::string loadText(const char* file) {
    auto b = test::readAll(test::eepromTestData() / file);
    return {b.begin(), b.end()};
}

TEST(SigTest, FormatsLikeRpiEepromDigest) {
    SigFile sig;
    sig.sha256Hex = "4ca8b757d4d298881c4b291ab57cdee9ca8e2bcb25da0842c85c308fa8ed2c5f";
    sig.timestamp = 1700000000;
    EXPECT_EQ(formatSig(sig), loadText("pieeprom-2712-2026-05-26.netboot.sig"));
    sig.targetSoc = 2712;
    EXPECT_EQ(formatSig(sig), loadText("pieeprom-2712-2026-05-26.netboot.soc.sig"));
}

TEST(SigTest, ParseRoundTripsSignedFile) {
    const std::string text = loadText("boot.rsa.sig");
    auto sig = parseSig(text);
    ASSERT_TRUE(sig) << sig.error().message;
    EXPECT_EQ(sig->sha256Hex, "136d7350a54629c2b0b0426e588c81a9f3d53d281735c2109af3914432b2f155");
    EXPECT_EQ(sig->timestamp, 1700000000u);
    EXPECT_FALSE(sig->targetSoc);
    ASSERT_TRUE(sig->rsa2048);
    EXPECT_EQ(sig->rsa2048->size(), 256u);
    EXPECT_EQ(formatSig(*sig), text);
}

TEST(SigTest, ParsesTargetSoc) {
    auto sig = parseSig(loadText("pieeprom-2711-2021-07-06.netboot.soc.sig"));
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->targetSoc, 2711u);
}

TEST(SigTest, RejectsMalformed) {
    EXPECT_FALSE(parseSig(""));
    EXPECT_FALSE(parseSig("abc\nts: 1\n"));
    const std::string h(64, 'a');
    EXPECT_TRUE(parseSig(h + "\n"));
    EXPECT_FALSE(parseSig(h + "\nts: x1\n"));
    EXPECT_FALSE(parseSig(h + "\ntarget-soc: -1\n"));
    EXPECT_FALSE(parseSig(h + "\nrsa2048: abcd\n"));
    EXPECT_FALSE(parseSig(std::string(63, 'a') + "g\n"));
}

}  // namespace
}  // namespace pinet::proto::eeprom
