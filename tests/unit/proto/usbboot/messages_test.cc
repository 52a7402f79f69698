#include "proto/usbboot/messages.h"

#include <gtest/gtest.h>

namespace pinet::proto::usbboot {
namespace {

TEST(UsbbootMessagesTest, StageFollowsSerialIndexNotProduct) {
    EXPECT_EQ(stageFromSerialIndex(0), Stage::Rom);
    EXPECT_EQ(stageFromSerialIndex(3), Stage::Rom);
    EXPECT_EQ(stageFromSerialIndex(1), Stage::SecondStage);
    EXPECT_EQ(stageFromSerialIndex(2), Stage::SecondStage);
    EXPECT_EQ(secondStageName(kProduct2711), "bootcode4.bin");
    EXPECT_EQ(secondStageName(kProduct2712), "bootcode5.bin");
    EXPECT_EQ(secondStageName(kProduct2835), "bootcode.bin");
    EXPECT_EQ(chipPrefix(kProduct2712), "2712");
    EXPECT_EQ(chipPrefix(kProduct2837), "2710");
    EXPECT_TRUE(isBootProduct(0x0a5c, 0x2764));
    EXPECT_FALSE(isBootProduct(0x0a5c, 0x2765));
    EXPECT_FALSE(isBootProduct(0x1d6b, 0x2711));
}

TEST(UsbbootMessagesTest, BootMessageIsLengthLePlusSignature) {
    std::array<std::uint8_t, kSignatureSize> sig{};
    sig[0] = 0xaa;
    sig[19] = 0xbb;
    const auto msg = encodeBootMessage(0x00012345, sig);
    EXPECT_EQ(msg[0], 0x45);
    EXPECT_EQ(msg[1], 0x23);
    EXPECT_EQ(msg[2], 0x01);
    EXPECT_EQ(msg[3], 0x00);
    EXPECT_EQ(msg[4], 0xaa);
    EXPECT_EQ(msg[23], 0xbb);
    auto back = decodeBootMessage(msg);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->length, 0x12345u);
    EXPECT_EQ(back->signature, sig);
    EXPECT_FALSE(decodeBootMessage(std::span(msg).first(23)).has_value());
}

TEST(UsbbootMessagesTest, RequestRoundTripAndBounds) {
    auto raw = encodeFileRequest(1, "pieeprom.bin");
    ASSERT_EQ(raw.size(), 260u);
    auto req = decodeFileRequest(raw);
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(req->command, 1);
    EXPECT_EQ(req->name, "pieeprom.bin");

    // Short: fewer than 4 bytes.
    EXPECT_EQ(decodeFileRequest(std::span(raw).first(3)).error(), RequestError::Short);
    // A short reply with the NUL inside is still a request.
    auto partial = decodeFileRequest(std::span(raw).first(4 + 13));
    ASSERT_TRUE(partial.has_value());
    EXPECT_EQ(partial->name, "pieeprom.bin");
    // Cut before the NUL.
    EXPECT_EQ(decodeFileRequest(std::span(raw).first(4 + 5)).error(), RequestError::Unterminated);
    // A full 256-byte field without NUL is refused even if more bytes follow.
    std::vector<std::uint8_t> noNul(300, 'a');
    EXPECT_EQ(decodeFileRequest(noNul).error(), RequestError::Unterminated);
    // Stale bytes after the NUL are ignored.
    raw[4 + 13] = 'X';
    EXPECT_EQ(decodeFileRequest(raw)->name, "pieeprom.bin");
    // Names are truncated to 255 so the NUL fits.
    auto longReq = encodeFileRequest(0, std::string(400, 'n'));
    EXPECT_EQ(decodeFileRequest(longReq)->name.size(), 255u);
}

TEST(UsbbootMessagesTest, MetadataRecords) {
    FileRequest meta{0, "*EEPROM_UPDATE*success"};
    EXPECT_TRUE(isMetadataRequest(meta));
    EXPECT_FALSE(isMetadataRequest(FileRequest{2, "*X*y"}));
    EXPECT_FALSE(isMetadataRequest(FileRequest{0, "config.txt"}));
    auto m = parseMetadata(meta.name);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->key, "EEPROM_UPDATE");
    EXPECT_EQ(m->value, "success");
    auto withStar = parseMetadata("*K*a*b");
    ASSERT_TRUE(withStar.has_value());
    EXPECT_EQ(withStar->value, "a*b");
    EXPECT_EQ(parseMetadata("*K*")->value, "");
    EXPECT_FALSE(parseMetadata("*NOVALUE").has_value());
    EXPECT_FALSE(parseMetadata("**x").has_value());
    EXPECT_FALSE(parseMetadata("*").has_value());
}

TEST(UsbbootMessagesTest, MetadataJsonMatchesRpibootLayout) {
    std::vector<MetadataEntry> e{{"MAC_ADDR", "d8:3a:dd:00:00:01"}, {"EEPROM_UPDATE", "success"}};
    EXPECT_EQ(metadataJson(e),
              "{\n\t\"MAC_ADDR\": \"d8:3a:dd:00:00:01\",\n\t\"EEPROM_UPDATE\": \"success\"\n}\n");
    EXPECT_EQ(metadataJson({}), "{\n}\n");
    std::vector<MetadataEntry> odd{{"K", "a\"b\\c\x01"}};
    EXPECT_EQ(metadataJson(odd), "{\n\t\"K\": \"a\\\"b\\\\c\\u0001\"\n}\n");
}

TEST(UsbbootMessagesTest, SetupPacketsMatchSpecBytes) {
    // Spec 2.3: boot-message write, file-server request read, result read.
    EXPECT_EQ(encodeSetup(setupForWrite(24)),
              (std::array<std::uint8_t, 8>{0x40, 0, 0x18, 0, 0, 0, 0, 0}));
    EXPECT_EQ(encodeSetup(setupForRead(260)),
              (std::array<std::uint8_t, 8>{0xc0, 0, 0x04, 0x01, 0, 0, 0x04, 0x01}));
    EXPECT_EQ(encodeSetup(setupForRead(4)),
              (std::array<std::uint8_t, 8>{0xc0, 0, 0x04, 0, 0, 0, 0x04, 0}));
    // Sizes above 64 KiB spill into wIndex.
    auto s = setupForWrite(0x00080000);
    EXPECT_EQ(s.value, 0);
    EXPECT_EQ(s.index, 8);
    EXPECT_EQ(setupLength(s), 0x80000u);
}

}  // namespace
}  // namespace pinet::proto::usbboot
