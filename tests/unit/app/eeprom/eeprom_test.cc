#include "app/eeprom/eeprom.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "lib/eeprom_synth.h"
#include "lib/test_env.h"

namespace pinet::app::eeprom {
namespace {

std::vector<std::uint8_t> load(const std::string& file) {
    return test::readAll(test::eepromTestData() / file);
}
std::string loadText(const std::string& file) {
    auto b = load(file);
    return {b.begin(), b.end()};
}
NamedBytes named(const std::string& file) {
    return {file, load(file)};
}

TEST(EepromAppTest, SignedImageMatchesVector8) {
    ApplyOptions opt;
    opt.config = named("boot.conf");
    opt.digest = named("boot.rsa.sig");
    opt.pubkeyPem = named("test-key-shared.public.pem");
    auto orig = load("pieeprom-2711-2026-05-17.bin");
    auto out = applyConfig(orig, opt);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(test::sha256Hex(*out),
              "23837b43b3c83306624f18bb6497a2ccd878268708c7bb636bb7c45a63c07199");
    auto patch = load("pieeprom-2711-2026-05-17.signed.patch");
    auto expected = orig;
    std::copy(patch.begin(), patch.end(), expected.begin() + 0x71d00);
    EXPECT_EQ(*out, expected);
    auto img = parseImage(*out, "signed");
    ASSERT_TRUE(img);
    auto pk = proto::eeprom::readFile(img->bytes, img->layout, "pubkey.bin");
    ASSERT_TRUE(pk);
    EXPECT_EQ(std::vector<std::uint8_t>(pk->begin(), pk->end()),
              load("test-key-shared.pubkey.bin"));
}

TEST(EepromAppTest, PrivatePemGivesSamePubkey) {
    ApplyOptions pub;
    pub.config = named("boot.conf");
    pub.pubkeyPem = named("test-key-shared.public.pem");
    ApplyOptions priv = pub;
    priv.pubkeyPem = named("test-key-shared.private.pem");
    auto orig = load("pieeprom-2711-2021-07-06.bin");
    auto a = applyConfig(orig, pub);
    auto b = applyConfig(orig, priv);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(*a, *b);
}

TEST(EepromAppTest, ConfigPlusTimestampAndTimestampOnly) {
    auto orig = load("pieeprom-2712-2026-05-26.bin");
    ApplyOptions opt;
    opt.config = named("boot.conf");
    opt.timestamp = 1700000000;
    auto out = applyConfig(orig, opt);
    ASSERT_TRUE(out);
    EXPECT_EQ(test::sha256Hex(*out),
              "f8b6c03e0e4d8b667ac25526cbb07592c04eb0dfdfc5d12404daa71281b3fe51");
    opt.config.reset();
    out = applyConfig(orig, opt);
    ASSERT_TRUE(out);
    EXPECT_EQ(test::sha256Hex(*out),
              "4647e7b1c6917e17c5dcb01dde8f86bf979f528b568d5d7d5d8987c4bd468125");
}

TEST(EepromAppTest, MissingTargetsReportedInUpstreamOrder) {
    auto img = test::minimalImage();
    ApplyOptions opt;
    opt.config = named("boot.conf");
    opt.pubkeyPem = named("test-key-shared.public.pem");
    auto r = applyConfig(img, opt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "Update target pubkey.bin not found");
    opt.digest = named("boot.rsa.sig");
    r = applyConfig(img, opt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "Update target bootconf.sig not found");
}

TEST(EepromAppTest, RejectsWrongSizeImage) {
    std::vector<std::uint8_t> img(524287, 0xFF);
    ApplyOptions opt;
    opt.timestamp = 1;
    auto r = applyConfig(img, opt);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("got actual size 524287 bytes"), std::string::npos);
}

TEST(EepromAppTest, ParseTimestampLikePythonInt) {
    EXPECT_EQ(parseTimestamp("1700000000"), 1700000000u);
    EXPECT_EQ(parseTimestamp(" +42 "), 42u);
    EXPECT_EQ(parseTimestamp("4294967295"), 4294967295u);
    EXPECT_FALSE(parseTimestamp("4294967296"));
    EXPECT_FALSE(parseTimestamp("-1"));
    EXPECT_FALSE(parseTimestamp("12a"));
    EXPECT_FALSE(parseTimestamp(""));
}

TEST(EepromAppTest, DigestMatchesVectors) {
    for (const char* name : {"pieeprom-2711-2021-07-06", "pieeprom-2711-2026-05-17",
                             "pieeprom-2712-2023-12-06", "pieeprom-2712-2026-05-26"}) {
        ApplyOptions opt;
        opt.config = named("boot.conf");
        auto out = applyConfig(load(std::string(name) + ".bin"), opt);
        ASSERT_TRUE(out);
        DigestOptions d;
        d.timestamp = 1700000000;
        EXPECT_EQ(*makeDigest(*out, d), loadText(std::string(name) + ".netboot.sig")) << name;
        d.targetSoc = std::string(name).find("2711") != std::string::npos ? 2711 : 2712;
        EXPECT_EQ(*makeDigest(*out, d), loadText(std::string(name) + ".netboot.soc.sig")) << name;
    }
    DigestOptions bad;
    bad.targetSoc = 2710;
    EXPECT_FALSE(makeDigest(std::vector<std::uint8_t>{}, bad));
}

TEST(EepromAppTest, SignedDigestAndVerify) {
    auto priv = io::RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.private.pem");
    auto pub = io::RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.public.pem");
    ASSERT_TRUE(priv);
    ASSERT_TRUE(pub);
    DigestOptions d;
    d.timestamp = 1700000000;
    d.signingKey = &*priv;
    auto conf = load("boot.conf");
    auto text = makeDigest(conf, d);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, loadText("boot.rsa.sig"));

    auto ok = verifyDigest(conf, *text, &*pub);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_TRUE(ok->signatureChecked);
    auto hashOnly = verifyDigest(conf, *text, nullptr);
    ASSERT_TRUE(hashOnly);
    EXPECT_TRUE(hashOnly->signaturePresent);
    EXPECT_FALSE(hashOnly->signatureChecked);

    auto flipped = conf;
    flipped[0] ^= 1;
    auto bad = verifyDigest(flipped, *text, &*pub);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("sha256 mismatch"), std::string::npos);
    // Hash line rewritten to match the modified data: the signature must still fail.
    std::string forged = test::sha256Hex(flipped) + text->substr(64);
    bad = verifyDigest(flipped, forged, &*pub);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("RSA signature does not match"), std::string::npos);
    // A key given but no rsa2048 line.
    DigestOptions plain;
    plain.timestamp = 1;
    auto unsignedSig = makeDigest(conf, plain);
    EXPECT_FALSE(verifyDigest(conf, *unsignedSig, &*pub));
}

TEST(EepromAppTest, RecoveryFilesLikeUpdatePieepromSh) {
    RecoveryOptions opt;
    opt.config = named("boot.conf");
    opt.sigTimestamp = 1700000000;
    auto files = buildRecoveryFiles(load("pieeprom-2712-2023-12-06.bin"), opt);
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_EQ(test::sha256Hex(files->pieepromBin),
              "9a631c8e90ad10e77ccf6f5e80c7c44fece66a39b329016d52bcb28dd2f27d1f");
    EXPECT_EQ(files->pieepromSig, loadText("pieeprom-2712-2023-12-06.netboot.sig"));
}

TEST(EepromAppTest, DefaultTimestampHonoursSourceDateEpoch) {
    ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    EXPECT_EQ(defaultTimestamp(), 1700000000u);
    ::setenv("SOURCE_DATE_EPOCH", "soon", 1);
    EXPECT_FALSE(defaultTimestamp());
    ::unsetenv("SOURCE_DATE_EPOCH");
    auto now = defaultTimestamp();
    ASSERT_TRUE(now);
    EXPECT_GT(*now, 1700000000u);
}

}  // namespace
}  // namespace pinet::app::eeprom
