#include "proto/eeprom/image.h"

#include <string>

#include <gtest/gtest.h>

#include "lib/eeprom_synth.h"
#include "lib/test_env.h"
#include "proto/hex.h"

namespace pinet::proto::eeprom {
namespace {

using test::eepromTestData;
using test::readAll;
using test::sha256Hex;

struct Vector {
    const char* name;
    std::size_t size;
    bool ab;
    std::size_t confLen;
    const char* netbootSha;
    std::size_t patchOffset;
    const char* tsSha;
    const char* confTsSha;
};

// Values from shared/testdata/eeprom/README.md, sections 1, 2, 4 and 5.
const Vector kVectors[] = {
    {"pieeprom-2711-2021-07-06", 524288, false, 54,
     "cd9aa514b1dff0f486c08ef1e26b1f8e5aee00380f596dfe0bf9b7dd64deac70", 0x55000,
     "1d2a50d7c39b8698485e5410a04a7cbc493d752b82162db238e113ee8e40bff2",
     "9ec97b8af421555f21cff920b184489e00845ad65f00b22b3b5e2c4a27bf8d54"},
    {"pieeprom-2711-2026-05-17", 524288, false, 79,
     "48285fc5369cf52b0e194a21f68f6c1ce4011aede67bf47e30c7d197af9dd769", 0x72e00,
     "7dee678645caa3cf5de2c68c7b86769f66fd942da839ea3d94817c33c88b1e1b",
     "e9ff738d87b010985663d7d71322c871d4b625eeedbe6a39165c1dae67e6fe38"},
    {"pieeprom-2712-2023-12-06", 2097152, false, 56,
     "9a631c8e90ad10e77ccf6f5e80c7c44fece66a39b329016d52bcb28dd2f27d1f", 0x98000,
     "7c37f1b90452c99ecd2cab9f52df4e0009fc5332fc76aa8f7c421c85853184c3",
     "35095b6635a48ae2d3a6a285b4d1be627d8bcf769737040c465eb933918314d9"},
    {"pieeprom-2712-2026-05-26", 2097152, true, 62,
     "4ca8b757d4d298881c4b291ab57cdee9ca8e2bcb25da0842c85c308fa8ed2c5f", 0xa3000,
     "4647e7b1c6917e17c5dcb01dde8f86bf979f528b568d5d7d5d8987c4bd468125",
     "f8b6c03e0e4d8b667ac25526cbb07592c04eb0dfdfc5d12404daa71281b3fe51"},
};

constexpr std::uint32_t kTs = 1700000000;

std::vector<std::uint8_t> load(const std::string& file) {
    return readAll(eepromTestData() / file);
}

class RealImageTest : public ::testing::TestWithParam<Vector> {};

TEST_P(RealImageTest, ParsesChainAndReadsConfig) {
    const auto& v = GetParam();
    auto img = load(std::string(v.name) + ".bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout) << layout.error().message;
    EXPECT_EQ(layout->size, v.size);
    EXPECT_EQ(layout->isAB(), v.ab);
    EXPECT_EQ(layout->chip(), v.size == kImageSize2711 ? Chip::Bcm2711 : Chip::Bcm2712);
    EXPECT_EQ(layout->sections.front().kind, SectionKind::Bootcode);
    auto conf = readFile(img, *layout, "bootconf.txt");
    ASSERT_TRUE(conf);
    EXPECT_EQ(conf->size(), v.confLen);
    auto expected = load(std::string(v.name) + ".conf");
    EXPECT_EQ(std::vector<std::uint8_t>(conf->begin(), conf->end()), expected);
    // bootconf.txt is the last non-pad section in every image (spec 1.3).
    const Section* last = nullptr;
    for (const auto& s : layout->sections) {
        if (s.kind != SectionKind::Pad) {
            last = &s;
        }
    }
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->name, "bootconf.txt");
    EXPECT_EQ(last->offset, v.patchOffset);
}

TEST_P(RealImageTest, ReplaceConfigMatchesUpstreamBytes) {
    const auto& v = GetParam();
    auto orig = load(std::string(v.name) + ".bin");
    auto img = orig;
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto conf = load("boot.conf");
    ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", conf, "boot.conf"));
    EXPECT_EQ(sha256Hex(img), v.netbootSha);
    // Same result rebuilt from the .patch file (README: orig[:off] + patch + orig[off+len:]).
    auto patch = load(std::string(v.name) + ".netboot.patch");
    auto expected = orig;
    std::copy(patch.begin(), patch.end(),
              expected.begin() + static_cast<std::ptrdiff_t>(v.patchOffset));
    EXPECT_EQ(img, expected);
    // Reads back identical.
    auto again = parseImage(img);
    ASSERT_TRUE(again);
    auto back = readFile(img, *again, "bootconf.txt");
    ASSERT_TRUE(back);
    EXPECT_EQ(std::vector<std::uint8_t>(back->begin(), back->end()), conf);
}

TEST_P(RealImageTest, ReapplyingOriginalConfigRestoresImage) {
    const auto& v = GetParam();
    auto orig = load(std::string(v.name) + ".bin");
    auto img = orig;
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto conf = load(std::string(v.name) + ".conf");
    ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", conf, "x.conf"));
    EXPECT_EQ(img, orig);
}

TEST_P(RealImageTest, TimestampMatchesUpstream) {
    const auto& v = GetParam();
    auto img = load(std::string(v.name) + ".bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    ASSERT_TRUE(setTimestamp(img, *layout, kTs));
    EXPECT_EQ(sha256Hex(img), v.tsSha);
}

TEST_P(RealImageTest, TimestampThenConfigMatchesUpstream) {
    const auto& v = GetParam();
    auto img = load(std::string(v.name) + ".bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    ASSERT_TRUE(setTimestamp(img, *layout, kTs));
    ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", load("boot.conf"), "boot.conf"));
    EXPECT_EQ(sha256Hex(img), v.confTsSha);
}

TEST_P(RealImageTest, OversizedConfigIsRefusedAndImageUnchanged) {
    const auto& v = GetParam();
    auto orig = load(std::string(v.name) + ".bin");
    auto img = orig;
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto r =
        replaceFile(img, *layout, "bootconf.txt", load("toolarge-4077.conf"), "toolarge-4077.conf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "src file toolarge-4077.conf is too large (4077 bytes). The maximum size is 4076 "
              "bytes.");
    EXPECT_EQ(img, orig);
}

INSTANTIATE_TEST_SUITE_P(Vectors, RealImageTest, ::testing::ValuesIn(kVectors),
                         [](const auto& param) {
                             std::string n = param.param.name;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

TEST(ImageTest, AbImageHasPadHeaderAfterNewConfig) {
    auto img = load("pieeprom-2712-2026-05-26.bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", load("boot.conf"), "boot.conf"));
    // README 2: pad header 55aafeef 00063f20 at 0xa30d8 (pad up to 0x107000).
    EXPECT_EQ(toHex(std::span(img).subspan(0xa30d8, 8)), "55aafeef00063f20");
    auto again = parseImage(img);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->isAB());
}

TEST(ImageTest, MaxSizeConfigEdge) {
    auto conf = load("max-4076.conf");
    ASSERT_EQ(conf.size(), kMaxFileSize);
    struct {
        const char* file;
        const char* sha;
    } cases[] = {
        {"pieeprom-2711-2021-07-06.bin",
         "71ed50bd746784579afb8562b048f04e2d78ad4b8b8aafc38e722a7dc82b679d"},
        {"pieeprom-2712-2026-05-26.bin",
         "5ef89d0440ab7ce4bc87a5e4e7a14b90e0048af5354a224146bf2694ae877a05"},
    };
    for (const auto& c : cases) {
        auto img = load(c.file);
        auto layout = parseImage(img);
        ASSERT_TRUE(layout);
        ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", conf, "max-4076.conf")) << c.file;
        EXPECT_EQ(sha256Hex(img), c.sha) << c.file;
        auto again = parseImage(img);
        ASSERT_TRUE(again);
        auto back = readFile(img, *again, "bootconf.txt");
        ASSERT_TRUE(back);
        EXPECT_EQ(std::vector<std::uint8_t>(back->begin(), back->end()), conf);
    }
}

TEST(ImageTest, ExtractListAndContents) {
    // README 6: names and sizes of every embedded file.
    auto img = load("pieeprom-2711-2026-05-17.bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto names = layout->fileNames();
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"bootcode.bin", "bootconf.sig", "bootconf.txt",
                                               "cacert.der", "pubkey.bin", "updatetime"}));
    auto size = [&](const char* n) {
        return readFile(img, *layout, n)->size();
    };
    EXPECT_EQ(size("bootcode.bin"), 73120u);
    EXPECT_EQ(size("bootconf.sig"), 1024u);
    EXPECT_EQ(size("cacert.der"), 2048u);
    EXPECT_EQ(size("pubkey.bin"), 512u);
    EXPECT_EQ(toHex(*readFile(img, *layout, "updatetime")), "00000000ffffffff");
    EXPECT_FALSE(isNonZero(*readFile(img, *layout, "pubkey.bin")));
    EXPECT_FALSE(readFile(img, *layout, "nosuch.bin"));

    auto ab = load("pieeprom-2712-2026-05-26.bin");
    auto abLayout = parseImage(ab);
    ASSERT_TRUE(abLayout);
    EXPECT_EQ(readFile(ab, *abLayout, "bootsys")->size(), 78332u);
    EXPECT_EQ(readFile(ab, *abLayout, "bootcode.bin")->size(), 25984u);
    // updatetime appears twice but is listed once.
    auto abNames = abLayout->fileNames();
    EXPECT_EQ(std::count(abNames.begin(), abNames.end(), "updatetime"), 1);
}

TEST(ImageTest, WrongSizeUsesUpstreamWording) {
    std::vector<std::uint8_t> img(524287, 0xFF);
    auto r = parseImage(img);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "Expected sizes [524288, 2097152] bytes, got actual size 524287 bytes");
}

TEST(ImageTest, SyntheticChainParses) {
    auto img =
        test::buildSyntheticImage(524288, 100,
                                  {{"updatetime", {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 0},
                                   {"pubkey.bin", std::vector<std::uint8_t>(512, 0), 0x10000},
                                   {"bootconf.txt", {'a', '\n'}, 0x11000}});
    auto layout = parseImage(img);
    ASSERT_TRUE(layout) << layout.error().message;
    ASSERT_EQ(layout->sections.size(), 6u);  // bootcode, updatetime, pad, pubkey, pad, conf
    EXPECT_EQ(layout->sections[1].offset, 112u);
    EXPECT_EQ(layout->sections[2].kind, SectionKind::Pad);
    EXPECT_EQ(layout->sections[3].name, "pubkey.bin");
    EXPECT_EQ(layout->sections[5].offset, 0x11000u);
    EXPECT_FALSE(layout->isAB());
}

TEST(ImageTest, MalformedChainsAreErrors) {
    auto base = test::minimalImage();
    {
        auto img = base;
        img[0x10000] = 0x12;  // bad magic on the config section
        auto r = parseImage(img);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("EEPROM is corrupted"), std::string::npos);
    }
    {
        auto img = base;
        img[0x10004] = 0x7f;  // length runs past the end
        auto r = parseImage(img);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("runs past the end"), std::string::npos);
    }
    {
        auto img = base;
        img[0x10004] = 0;
        img[0x10005] = 0;
        img[0x10006] = 0;
        img[0x10007] = 4;  // file section shorter than name + reserved
        auto r = parseImage(img);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("length 4"), std::string::npos);
    }
    {
        std::vector<std::uint8_t> img(524288, 0xFF);  // erased flash
        EXPECT_FALSE(parseImage(img));
    }
    {
        auto img = base;
        img[3] = 0x1F;  // first section is a file, not bootcode
        EXPECT_FALSE(parseImage(img));
    }
    // Arbitrary lengths are fine without the size rule (fuzzing); cut headers are errors.
    std::vector<std::uint8_t> tiny = {0x55, 0xAA, 0xF0, 0x0F, 0,    0,    0,    2,    1,
                                      2,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x55, 0xAA};
    auto r = parseImage(tiny, ParseOptions{.requireStandardSize = false});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cut off"), std::string::npos);
    tiny.resize(10);
    EXPECT_TRUE(parseImage(tiny, ParseOptions{.requireStandardSize = false}));
}

TEST(ImageTest, ReplaceMissingTargetUsesUpstreamWording) {
    auto img = test::minimalImage();
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    std::vector<std::uint8_t> key(264, 1);
    auto r = replaceFile(img, *layout, "pubkey.bin", key, "k.pem");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "Update target pubkey.bin not found");
}

TEST(ImageTest, ReplaceOutsidePartitionAIsNotFound) {
    // A bootconf.txt below 0x10000 (read-only region) is never a write target (spec 1.5).
    auto img = test::buildSyntheticImage(524288, 64, {{"bootconf.txt", {'x'}, 0}});
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    EXPECT_FALSE(replaceFile(img, *layout, "bootconf.txt", std::vector<std::uint8_t>{'y'}, "c"));
}

TEST(ImageTest, ReplaceLargerThanSectionFails) {
    // Next real section 64 bytes after the config: 100 bytes do not fit.
    auto img = test::buildSyntheticImage(
        524288, 64, {{"bootconf.txt", {'a'}, 0x10000}, {"pubkey.bin", {0}, 0x10040}});
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto orig = img;
    auto r = replaceFile(img, *layout, "bootconf.txt", std::vector<std::uint8_t>(100, 'b'), "c");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "Update 120 bytes is larger than section size 64");
    EXPECT_EQ(img, orig);
    // 30 bytes fit: a pad header (length 0) fills the rest up to the next section.
    ASSERT_TRUE(replaceFile(img, *layout, "bootconf.txt", std::vector<std::uint8_t>(30, 'b'), "c"));
    auto again = parseImage(img);
    ASSERT_TRUE(again) << again.error().message;
    ASSERT_GE(again->sections.size(), 5u);
    EXPECT_EQ(again->sections[3].kind, SectionKind::Pad);
    EXPECT_EQ(again->sections[4].offset, 0x10040u);
}

TEST(ImageTest, TimestampEncoding) {
    EXPECT_EQ(toHex(encodeTimestamp(kTs)), "ff0eac9a00f15365");
    auto img = load("pieeprom-2712-2026-05-26.bin");
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    ASSERT_TRUE(setTimestamp(img, *layout, kTs));
    EXPECT_EQ(toHex(std::span(img).subspan(0x67b8, 8)), "ff0eac9a00f15365");
    EXPECT_EQ(toHex(std::span(img).subspan(0xa1d28, 8)), "ff0eac9a00f15365");
    auto plain = load("pieeprom-2711-2021-07-06.bin");
    auto pl = parseImage(plain);
    ASSERT_TRUE(pl);
    ASSERT_TRUE(setTimestamp(plain, *pl, kTs));
    EXPECT_EQ(toHex(std::span(plain).last(8)), "ff0eac9a00f15365");
}

TEST(ImageTest, TimestampNeedsPartitionCopyWhenReadOnlyCopyExists) {
    auto img = test::buildSyntheticImage(
        524288, 64,
        {{"updatetime", std::vector<std::uint8_t>(8, 0), 0}, {"bootconf.txt", {'a'}, 0x10000}});
    auto layout = parseImage(img);
    ASSERT_TRUE(layout);
    auto r = setTimestamp(img, *layout, 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "Failed to find update time file in partition");
}

TEST(ImageTest, PubkeyBinMatchesVector) {
    // Modulus of the test key as big-endian = reverse of the first 256 bytes of pubkey.bin.
    auto expected = load("test-key-shared.pubkey.bin");
    ASSERT_EQ(expected.size(), 264u);
    std::vector<std::uint8_t> nBe(expected.rend() - 256, expected.rend());
    const std::vector<std::uint8_t> e = {0x01, 0x00, 0x01};
    auto bin = encodePubkeyBin(nBe, e);
    ASSERT_TRUE(bin);
    EXPECT_EQ(*bin, expected);
    EXPECT_EQ(toHex(std::span(*bin).last(8)), "0100010000000000");
    EXPECT_FALSE(encodePubkeyBin(std::vector<std::uint8_t>(257, 1), e));
    EXPECT_FALSE(encodePubkeyBin(nBe, std::vector<std::uint8_t>(9, 1)));
}

}  // namespace
}  // namespace pinet::proto::eeprom
