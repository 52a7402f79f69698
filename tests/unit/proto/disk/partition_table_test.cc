#include "proto/disk/partition_table.h"

#include <gtest/gtest.h>

#include "proto/byte_reader.h"
#include "proto/disk/crc32.h"

namespace pinet::proto::disk {
namespace {

void putU64le(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

std::vector<std::uint8_t> mbrImage(std::uint32_t sectors) {
    std::vector<std::uint8_t> img(std::size_t{sectors} * 512, 0);
    putU32le(&img[440], 0x1234abcd);
    auto entry = [&](int i, std::uint8_t type, std::uint32_t lba, std::uint32_t count) {
        std::uint8_t* e = &img[446 + 16 * i];
        e[4] = type;
        putU32le(e + 8, lba);
        putU32le(e + 12, count);
    };
    entry(0, 0x0C, 8, 16);
    entry(1, 0x83, 24, 32);
    img[510] = 0x55;
    img[511] = 0xAA;
    return img;
}

TEST(PartitionTableTest, ParsesMbrWithPartuuids) {
    auto img = mbrImage(64);
    auto t = parsePartitionTable(spanReader(img), img.size());
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->kind, TableKind::Mbr);
    EXPECT_EQ(t->diskId, "1234abcd");
    ASSERT_EQ(t->partitions.size(), 2u);
    EXPECT_EQ(t->partitions[0].kind, PartitionKind::Fat);
    EXPECT_EQ(t->partitions[0].offset, 8u * 512);
    EXPECT_EQ(t->partitions[0].partuuid, "1234abcd-01");
    EXPECT_EQ(t->partitions[1].kind, PartitionKind::Linux);
    EXPECT_EQ(t->partitions[1].size, 32u * 512);
    EXPECT_EQ(t->partitions[1].partuuid, "1234abcd-02");
    EXPECT_EQ(t->partitions[1].type, "0x83");
}

TEST(PartitionTableTest, RejectsMissingSignatureAndTruncation) {
    auto img = mbrImage(64);
    img[511] = 0;
    auto t = parsePartitionTable(spanReader(img), img.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("55 AA"), std::string::npos);

    auto cut = mbrImage(64);
    cut.resize(40 * 512);  // partition 2 ends at sector 56
    t = parsePartitionTable(spanReader(cut), cut.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("partition 2"), std::string::npos);
    EXPECT_NE(t.error().message.find("truncated"), std::string::npos);

    std::vector<std::uint8_t> tiny(100, 0);
    EXPECT_FALSE(parsePartitionTable(spanReader(tiny), tiny.size()));
}

TEST(PartitionTableTest, RejectsEmptyMbrAndBadStatus) {
    auto img = mbrImage(64);
    for (int i = 0; i < 64; ++i) {
        img[446 + i] = 0;
    }
    EXPECT_FALSE(parsePartitionTable(spanReader(img), img.size()));
    auto bad = mbrImage(64);
    bad[446] = 0x12;
    auto t = parsePartitionTable(spanReader(bad), bad.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("status"), std::string::npos);
}

// A protective MBR plus a GPT with 4 entries of 128 bytes at LBA 2.
std::vector<std::uint8_t> gptImage() {
    std::vector<std::uint8_t> img(128 * 512, 0);
    std::uint8_t* e0 = &img[446];
    e0[4] = 0xEE;
    putU32le(e0 + 8, 1);
    putU32le(e0 + 12, 127);
    img[510] = 0x55;
    img[511] = 0xAA;
    std::uint8_t* ent = &img[2 * 512];
    // Microsoft basic data EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 (mixed endian on disk)
    const std::uint8_t basic[16] = {0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44,
                                    0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7};
    const std::uint8_t linux[16] = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                    0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
    std::memcpy(ent, basic, 16);
    for (int i = 0; i < 16; ++i) {
        ent[16 + i] = static_cast<std::uint8_t>(i + 1);
    }
    putU64le(ent + 32, 10);
    putU64le(ent + 40, 29);
    ent[56] = 'b';
    ent[58] = 'o';
    std::uint8_t* ent2 = ent + 128;
    std::memcpy(ent2, linux, 16);
    ent2[16] = 0xAA;
    putU64le(ent2 + 32, 30);
    putU64le(ent2 + 40, 99);
    std::uint8_t* h = &img[512];
    std::memcpy(h, "EFI PART", 8);
    putU32le(h + 8, 0x00010000);
    putU32le(h + 12, 92);
    putU64le(h + 24, 1);
    putU64le(h + 32, 127);
    putU64le(h + 40, 6);
    putU64le(h + 48, 120);
    for (int i = 0; i < 16; ++i) {
        h[56 + i] = static_cast<std::uint8_t>(0xF0 + i);
    }
    putU64le(h + 72, 2);
    putU32le(h + 80, 4);
    putU32le(h + 84, 128);
    putU32le(h + 88, crc32(std::span<const std::uint8_t>(ent, 4 * 128)));
    putU32le(h + 16, crc32(std::span<const std::uint8_t>(h, 92)));
    return img;
}

TEST(PartitionTableTest, ParsesGpt) {
    auto img = gptImage();
    auto t = parsePartitionTable(spanReader(img), img.size());
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->kind, TableKind::Gpt);
    ASSERT_EQ(t->partitions.size(), 2u);
    EXPECT_EQ(t->partitions[0].type, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7");
    EXPECT_EQ(t->partitions[0].kind, PartitionKind::Fat);
    EXPECT_EQ(t->partitions[0].name, "bo");
    EXPECT_EQ(t->partitions[0].partuuid, "04030201-0605-0807-090a-0b0c0d0e0f10");
    EXPECT_EQ(t->partitions[0].offset, 10u * 512);
    EXPECT_EQ(t->partitions[0].size, 20u * 512);
    EXPECT_EQ(t->partitions[1].kind, PartitionKind::Linux);
    EXPECT_EQ(t->partitions[1].number, 2);
}

TEST(PartitionTableTest, GptHeaderAndEntryCrcAreChecked) {
    auto img = gptImage();
    img[512 + 40] ^= 1;  // first usable LBA changed, header CRC now wrong
    auto t = parsePartitionTable(spanReader(img), img.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("header CRC32"), std::string::npos);

    auto img2 = gptImage();
    img2[2 * 512 + 200] ^= 1;  // inside the entry array
    t = parsePartitionTable(spanReader(img2), img2.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("entry array CRC32"), std::string::npos);
}

TEST(PartitionTableTest, GptPartitionPastEndIsRefused) {
    auto img = gptImage();
    img.resize(60 * 512);  // partition 2 runs to LBA 99
    auto t = parsePartitionTable(spanReader(img), img.size());
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("past the end"), std::string::npos);
}

// The bound of a gzip image (io/compress): the last partition's end, from a
// head that is only the start of the disk.
TEST(PartitionTableTest, DiskExtentFromTheHeadAlone) {
    auto mbr = mbrImage(64);
    mbr.resize(8 * 512);  // the head only: partition 2 (sectors 24..55) lies beyond it
    auto e = diskExtent(mbr);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(*e, 56u * 512);

    auto gpt = gptImage();
    gpt.resize(3 * 512);  // MBR, header and the entry array (4 x 128 bytes at LBA 2)
    e = diskExtent(gpt);
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(*e, 100u * 512);  // partition 2 ends with LBA 99

    gpt.resize(2 * 512 + 100);  // the entry array is cut
    e = diskExtent(gpt);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("reaches past the first 1124 bytes"), std::string::npos)
        << e.error().message;

    std::vector<std::uint8_t> junk(4096, 0x5a);
    EXPECT_FALSE(diskExtent(junk));
    EXPECT_FALSE(diskExtent(std::span<const std::uint8_t>(junk.data(), 100)));
}

TEST(Crc32Test, KnownVector) {
    const std::string s = "123456789";  // the standard check value
    EXPECT_EQ(crc32(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()),
                                                  s.size())),
              0xCBF43926u);
}

}  // namespace
}  // namespace pinet::proto::disk
