#include "app/eeprom/rollout_build.h"

#include <gtest/gtest.h>

#include "lib/eeprom_synth.h"
#include "lib/test_env.h"

namespace pinet::app::eeprom {
namespace {

TEST(RolloutBuild, SameBytesAsApplyAndDigest) {
    const auto image = test::readAll(test::eepromTestData() / "pieeprom-2711-2026-05-17.bin");
    auto key = io::RsaKey::loadPemFile(test::eepromTestData() / "test-key-shared.private.pem");
    ASSERT_TRUE(key);
    RolloutInputs in;
    in.image = NamedBytes{"img", image};
    in.settings = {"BOOT_ORDER=0xf21"};
    in.timestamp = 1800000000;
    in.signingKey = &*key;
    auto files = buildRolloutFiles(in);
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_NE(files->config.find("BOOT_ORDER=0xf21"), std::string::npos);
    // What `eeprom apply --config C --timestamp T` and `eeprom digest --timestamp T -k K` do.
    ApplyOptions a;
    a.config = NamedBytes{"c", {files->config.begin(), files->config.end()}};
    a.timestamp = 1800000000;
    auto upd = applyConfig(image, a);
    ASSERT_TRUE(upd);
    EXPECT_EQ(files->update, *upd);
    DigestOptions d;
    d.timestamp = 1800000000;
    d.signingKey = &*key;
    d.targetSoc = 2711;  // `eeprom digest --soc 2711`, as rpi-eeprom-update's -c
    EXPECT_EQ(files->sig, *makeDigest(*upd, d));
    EXPECT_NE(files->sig.find("rsa2048: "), std::string::npos);
    EXPECT_NE(files->sig.find("target-soc: 2711\n"), std::string::npos) << files->sig;
    EXPECT_EQ(files->soc, 2711u);
}

// The SoC comes from the image: a 2 MiB image is BCM2712's, and its .sig says so, so a
// Pi 4 bootloader ignores it.
TEST(RolloutBuild, A2712ImageIsMarkedForBcm2712) {
    const std::string conf = "[all]\nBOOT_ORDER=0xf21\n";
    RolloutInputs in;
    in.image = NamedBytes{
        "img", test::buildSyntheticImage(2097152, 1000,
                                         {{"bootconf.txt", {conf.begin(), conf.end()}, 0x10000}})};
    in.timestamp = 7;
    auto files = buildRolloutFiles(in);
    ASSERT_TRUE(files) << files.error().message;
    EXPECT_EQ(files->soc, 2712u);
    EXPECT_NE(files->sig.find("target-soc: 2712\n"), std::string::npos) << files->sig;
    in.settings = {"FREEZE_VERSION=1"};
    files = buildRolloutFiles(in);
    ASSERT_TRUE(files);
    ASSERT_FALSE(files->warnings.empty());
    EXPECT_NE(files->warnings.back().find("FREEZE_VERSION=1"), std::string::npos);
}

TEST(RolloutBuild, RefusesLintErrorsAndNoNetworkUnlessForced) {
    RolloutInputs in;
    in.image = NamedBytes{"img", test::minimalImage("[all]\nBOOT_ORDER=0xf21\n")};
    in.timestamp = 5;
    in.settings = {"BOOT_ORDER=zz"};
    auto bad = buildRolloutFiles(in);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("lint"), std::string::npos) << bad.error().message;
    in.settings = {"BOOT_ORDER=0xf41"};
    auto noNet = buildRolloutFiles(in);
    ASSERT_FALSE(noNet);
    EXPECT_NE(noNet.error().message.find("no network boot"), std::string::npos);
    in.force = true;
    auto forced = buildRolloutFiles(in);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_FALSE(forced->warnings.empty());
    in.force = false;
    in.settings = {"ENABLE_SELF_UPDATE=0"};
    auto last = buildRolloutFiles(in);
    ASSERT_TRUE(last);
    EXPECT_NE(last->warnings.at(0).find("ENABLE_SELF_UPDATE=0"), std::string::npos);
}

}  // namespace
}  // namespace pinet::app::eeprom
