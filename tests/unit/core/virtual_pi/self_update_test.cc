#include "core/virtual_pi/self_update.h"

#include <gtest/gtest.h>

#include <optional>

#include "app/eeprom/eeprom.h"
#include "io/crypto.h"
#include "lib/eeprom_synth.h"
#include "lib/test_env.h"
#include "proto/eeprom/self_update.h"

namespace pinet::core::virtual_pi {
namespace {

std::string sigFor(std::span<const std::uint8_t> data, std::uint64_t ts,
                   const io::RsaKey* key = nullptr, std::optional<unsigned> soc = std::nullopt) {
    app::eeprom::DigestOptions o;
    o.timestamp = ts;
    o.signingKey = key;
    o.targetSoc = soc;
    return *app::eeprom::makeDigest(data, o);
}

UpdateVerifier verifierWith(const io::RsaKey* key) {
    return [key](std::span<const std::uint8_t> upd, std::string_view sig, std::string& detail) {
        auto r = app::eeprom::verifyDigest(upd, sig, key);
        if (!r) {
            return r.error().message;
        }
        detail = r->signatureChecked ? "sha256 and rsa2048 verified" : "sha256 verified";
        return std::string();
    };
}

TEST(SelfUpdateSig, NewerTimestampFetchesOlderOrEqualSkips) {
    const auto img = test::minimalImage();
    EepromState s{1000, "BOOT_ORDER=0xf21\n", ""};
    EXPECT_EQ(decideOnSig(s, sigFor(img, 1001)).action, SigAction::FetchUpdate);
    EXPECT_EQ(decideOnSig(s, sigFor(img, 1000)).action, SigAction::Skip);
    EXPECT_EQ(decideOnSig(s, sigFor(img, 999)).action, SigAction::Skip);
    EXPECT_EQ(decideOnSig(s, sigFor(img, 1001)).offeredTs, 1001u);
}

// A .sig for the other SoC is ignored (rpi-eeprom release notes 2024-05-17); one for this
// SoC, or with no target-soc line, is taken as before.
TEST(SelfUpdateSig, TargetSocOfAnotherChipIsIgnored) {
    const auto img = test::minimalImage();
    EepromState s{1000, "BOOT_ORDER=0xf21\n", ""};
    const auto for2712 = decideOnSig(s, sigFor(img, 2000, nullptr, 2712), 2711);
    EXPECT_EQ(for2712.action, SigAction::Skip);
    EXPECT_NE(for2712.text.find("target-soc 2712 is not this board's 2711"), std::string::npos)
        << for2712.text;
    EXPECT_EQ(decideOnSig(s, sigFor(img, 2000, nullptr, 2711), 2711).action,
              SigAction::FetchUpdate);
    EXPECT_EQ(decideOnSig(s, sigFor(img, 2000), 2712).action, SigAction::FetchUpdate);
    // The image itself: a 512 KiB (BCM2711) image is not flashed by a BCM2712 board.
    auto f = checkAndFlash(s, img, sigFor(img, 2000), verifierWith(nullptr), 2712);
    EXPECT_FALSE(f.flashed);
    EXPECT_NE(f.text.find("a BCM2711 image, this board is BCM2712"), std::string::npos) << f.text;
    EXPECT_TRUE(checkAndFlash(s, img, sigFor(img, 2000), verifierWith(nullptr), 2711).flashed);
}

TEST(SelfUpdateSig, MalformedIsIgnoredAndNoTsComparesTheHash) {
    EepromState s{1000, "", ""};
    EXPECT_EQ(decideOnSig(s, "not a sig\n").action, SigAction::Skip);
    const std::string hash(64, 'a');
    EXPECT_EQ(decideOnSig(s, hash + "\n").action, SigAction::FetchUpdate);
    s.sha256Hex = hash;
    EXPECT_EQ(decideOnSig(s, hash + "\n").action, SigAction::Skip);
}

TEST(SelfUpdateFlash, GoodUpdateKeepsTheNewTimestampAndConfig) {
    const std::string conf = "[all]\nBOOT_ORDER=0xf21\nBOOT_UART=1\n";
    const auto img = test::minimalImage(conf);
    EepromState s{1000, "BOOT_ORDER=0xf41\n", ""};
    auto f = checkAndFlash(s, img, sigFor(img, 2000), verifierWith(nullptr));
    ASSERT_TRUE(f.flashed) << f.text;
    EXPECT_EQ(f.next.timestamp, 2000u);
    EXPECT_EQ(f.next.config, conf);
    EXPECT_EQ(f.next.sha256Hex, io::sha256Hex(img));
}

TEST(SelfUpdateFlash, BadHashIsRefusedAndTheOldEepromStays) {
    auto img = test::minimalImage();
    const std::string sig = sigFor(img, 2000);
    img[100] ^= 0xff;  // corrupted on the way
    EepromState s{1000, "OLD\n", ""};
    auto f = checkAndFlash(s, img, sig, verifierWith(nullptr));
    EXPECT_FALSE(f.flashed);
    EXPECT_NE(f.text.find("refused"), std::string::npos) << f.text;
    EXPECT_EQ(f.next.timestamp, 1000u);
    EXPECT_EQ(f.next.config, "OLD\n");
}

TEST(SelfUpdateFlash, BoardWithAKeyRefusesUnsignedAndWronglySigned) {
    auto pub = io::RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.public.pem");
    auto priv = io::RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.private.pem");
    ASSERT_TRUE(pub && priv);
    const auto img = test::minimalImage();
    EepromState s{1000, "", ""};
    // Unsigned: a board holding a key wants the rsa2048 line.
    EXPECT_FALSE(checkAndFlash(s, img, sigFor(img, 2000), verifierWith(&*pub)).flashed);
    // Signed over other bytes: the signature does not verify.
    auto other = img;
    other[200] ^= 1;
    std::string forged = sigFor(other, 2000, &*priv);
    const std::string good = sigFor(img, 2000, &*priv);
    forged.replace(0, 64, good.substr(0, 64));  // right hash, signature of other bytes
    EXPECT_FALSE(checkAndFlash(s, img, forged, verifierWith(&*pub)).flashed);
    // Properly signed.
    auto f = checkAndFlash(s, img, good, verifierWith(&*pub));
    EXPECT_TRUE(f.flashed) << f.text;
    EXPECT_NE(f.text.find("rsa2048"), std::string::npos);
}

TEST(SelfUpdateFlash, NotAnImageIsRefused) {
    const std::vector<std::uint8_t> junk(1000, 0x11);
    EepromState s{1, "", ""};
    EXPECT_FALSE(checkAndFlash(s, junk, sigFor(junk, 5), verifierWith(nullptr)).flashed);
}

TEST(SelfUpdateProto, SettingsThatDecideTheNextBoot) {
    namespace pe = proto::eeprom;
    EXPECT_TRUE(pe::selfUpdateEnabled(""));
    EXPECT_TRUE(pe::selfUpdateEnabled("ENABLE_SELF_UPDATE=1\n"));
    EXPECT_FALSE(pe::selfUpdateEnabled("[all]\nENABLE_SELF_UPDATE=0\n"));
    EXPECT_FALSE(pe::selfUpdateEnabled("ENABLE_SELF_UPDATE=1\nFREEZE_VERSION=1\n"));
    EXPECT_TRUE(pe::selfUpdateEnabled("FREEZE_VERSION=0\n"));
    EXPECT_FALSE(pe::bootOrderNetboots(""));  // default 0xf41: SD, USB
    EXPECT_TRUE(pe::bootOrderNetboots("BOOT_ORDER=0xf21\n"));
    EXPECT_FALSE(pe::bootOrderNetboots("BOOT_ORDER=0xf41\n"));
    EXPECT_FALSE(pe::bootOrderNetboots("BOOT_ORDER=0xf71\n"));  // HTTP only: not this server
    EXPECT_FALSE(pe::bootOrderNetboots("BOOT_ORDER=zz\n"));
    auto c = pe::readUpdateContent(test::minimalImage("X=1\n"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->bootconf, "X=1\n");
}

}  // namespace
}  // namespace pinet::core::virtual_pi
