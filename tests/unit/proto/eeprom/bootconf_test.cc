#include "proto/eeprom/bootconf.h"

#include <string>

#include <gtest/gtest.h>

#include "lib/test_env.h"

namespace pinet::proto::eeprom {
namespace {

std::string loadText(const char* file) {
    auto b = test::readAll(test::eepromTestData() / file);
    return {b.begin(), b.end()};
}

TEST(BootOrderTest, DescribesInWords) {
    EXPECT_EQ(describeBootOrder(0xf21), "SD card, then network, then restart");
    EXPECT_EQ(describeBootOrder(0xf41), "SD card, then USB mass storage, then restart");
    EXPECT_EQ(describeBootOrder(0xf461), "SD card, then NVMe, then USB mass storage, then restart");
    EXPECT_EQ(describeBootOrder(0x3), "USB device boot (rpiboot)");
    EXPECT_EQ(describeBootOrder(0x1e2), "network, then stop");
    auto steps = bootOrderSteps(0xf25641);
    ASSERT_EQ(steps.size(), 6u);
    EXPECT_EQ(steps[0].name, "SD CARD");
    EXPECT_EQ(steps[3].name, "BCM-USB-MSD");
    EXPECT_EQ(steps[5].name, "RESTART");
}

TEST(BootOrderTest, ParsesAndRejects) {
    EXPECT_EQ(parseBootOrder("0xf21"), 0xf21u);
    EXPECT_EQ(parseBootOrder("0XF21"), 0xf21u);
    EXPECT_EQ(parseBootOrder("0x0000f21"), 0xf21u);
    EXPECT_EQ(parseBootOrder("0xf7654321"), 0xf7654321u);
    EXPECT_FALSE(parseBootOrder("f21"));
    EXPECT_FALSE(parseBootOrder("0x"));
    EXPECT_FALSE(parseBootOrder("0xfz1"));
    EXPECT_FALSE(parseBootOrder("0x1f7654321"));
    auto r = parseBootOrder("0xf91");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown boot mode 0x9"), std::string::npos);
}

TEST(LintTest, ShippedConfigsAreClean) {
    for (const char* f :
         {"boot.conf", "pieeprom-2711-2021-07-06.conf", "pieeprom-2711-2026-05-17.conf",
          "pieeprom-2712-2023-12-06.conf", "pieeprom-2712-2026-05-26.conf", "max-4076.conf"}) {
        auto d = lintConfig(loadText(f));
        EXPECT_TRUE(d.empty()) << f << ": " << (d.empty() ? "" : d[0].message);
    }
}

TEST(LintTest, SizeLimit) {
    auto d = lintConfig(loadText("toolarge-4077.conf"));
    ASSERT_TRUE(hasErrors(d));
    EXPECT_NE(d[0].message.find("4077 bytes"), std::string::npos);
}

TEST(LintTest, UnknownKeySuggestsNearest) {
    auto d = lintConfig("[all]\nBOOT_ODER=0xf21\nboot_uart=1\nTOTALLY_DIFFERENT_THING=3\n");
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].severity, Severity::Warning);
    EXPECT_EQ(d[0].line, 2u);
    EXPECT_EQ(d[0].message, "unknown key BOOT_ODER (did you mean BOOT_ORDER?)");
    EXPECT_EQ(d[1].message, "unknown key boot_uart (did you mean BOOT_UART?)");
    EXPECT_EQ(d[2].message, "unknown key TOTALLY_DIFFERENT_THING");
    EXPECT_FALSE(hasErrors(d));
}

TEST(LintTest, InvalidValuesAreErrors) {
    auto d = lintConfig(
        "BOOT_ORDER=0xfz1\nBOOT_UART=2\nDHCP_TIMEOUT=100\nTFTP_IP=1.2.3\nMAC_ADDRESS=zz\n"
        "DHCP_OPTION97=1234\nTFTP_PREFIX_STR=" +
        std::string(33, 'a') + "\nBOOT_ORDER=0xf81\n");
    ASSERT_EQ(d.size(), 9u);  // 8 errors + duplicate BOOT_ORDER warning
    EXPECT_TRUE(hasErrors(d));
    EXPECT_NE(d[0].message.find("not a hex number"), std::string::npos);
    EXPECT_EQ(d[1].message, "BOOT_UART: '2' must be 0 or 1");
    EXPECT_EQ(d[2].message, "DHCP_TIMEOUT: 100 is outside 5000..4294967295");
    EXPECT_EQ(d[8].line, 8u);
    EXPECT_NE(d[8].message.find("unknown boot mode 0x8"), std::string::npos);
}

TEST(LintTest, DuplicatesPerSectionAndConfigTxtIgnored) {
    auto d = lintConfig(
        "[all]\nBOOT_UART=1\n[pi4]\nBOOT_UART=0\n[all]\nBOOT_UART=0\n[config.txt]\nfoo bar\nX=1\n");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].line, 6u);
    EXPECT_EQ(d[0].message,
              "BOOT_UART is set again in [all] (first on line 2); the last value wins");
}

TEST(LintTest, UnreachableModesAndGarbageLines) {
    auto d = lintConfig("BOOT_ORDER=0x1f2\nhello world\n");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_NE(d[0].message.find("never tried"), std::string::npos);
    EXPECT_NE(d[1].message.find("not a KEY=value line"), std::string::npos);
}

TEST(SetKeyTest, ChangesExistingValueKeepingEverythingElse) {
    const std::string in = loadText("pieeprom-2712-2026-05-26.conf");
    auto out = setKey(in, "BOOT_ORDER", "0xf21");
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "[all]\nBOOT_UART=1\nBOOT_ORDER=0xf21\nNET_INSTALL_AT_POWER_ON=1\n");
    // Unchanged value: identical text.
    EXPECT_EQ(*setKey(in, "BOOT_ORDER", "0xf461"), in);
}

TEST(SetKeyTest, AddsAfterLastSettingOfSection) {
    const std::string in = "[all]\nBOOT_UART=0\n\n# trailing comment\n";
    EXPECT_EQ(*setKey(in, "BOOT_ORDER", "0xf21"),
              "[all]\nBOOT_UART=0\nBOOT_ORDER=0xf21\n\n# trailing comment\n");
}

TEST(SetKeyTest, SectionsAndConfigTxt) {
    const std::string in = "BOOT_UART=0\n[pi4]\nBOOT_ORDER=0xf41\n[config.txt]\ndtoverlay=x\n";
    // BOOT_ORDER in [all]: not the [pi4] line.
    EXPECT_EQ(
        *setKey(in, "BOOT_ORDER", "0xf21"),
        "BOOT_UART=0\nBOOT_ORDER=0xf21\n[pi4]\nBOOT_ORDER=0xf41\n[config.txt]\ndtoverlay=x\n");
    EXPECT_EQ(*setKey(in, "BOOT_ORDER", "0xf1", "pi4"),
              "BOOT_UART=0\n[pi4]\nBOOT_ORDER=0xf1\n[config.txt]\ndtoverlay=x\n");
    // A new section goes before [config.txt].
    EXPECT_EQ(*setKey(in, "BOOT_ORDER", "0xf6", "cm5"),
              "BOOT_UART=0\n[pi4]\nBOOT_ORDER=0xf41\n[cm5]\nBOOT_ORDER=0xf6\n[config.txt]\n"
              "dtoverlay=x\n");
    // [all] when only a filtered block exists: new [all] block at the end.
    EXPECT_EQ(*setKey("[pi4]\nBOOT_UART=1\n", "BOOT_UART", "0"),
              "[pi4]\nBOOT_UART=1\n[all]\nBOOT_UART=0\n");
}

TEST(SetKeyTest, KeepsCrlfAndMissingFinalNewline) {
    EXPECT_EQ(*setKey("[all]\r\nBOOT_UART=0\r\n", "WAKE_ON_GPIO", "1"),
              "[all]\r\nBOOT_UART=0\r\nWAKE_ON_GPIO=1\r\n");
    EXPECT_EQ(*setKey("[all]\nBOOT_UART=0", "WAKE_ON_GPIO", "1"),
              "[all]\nBOOT_UART=0\nWAKE_ON_GPIO=1\n");
    EXPECT_EQ(*setKey("", "BOOT_UART", "1"), "BOOT_UART=1\n");
    EXPECT_EQ(*setKey("# only a comment\n", "BOOT_UART", "1"), "# only a comment\nBOOT_UART=1\n");
}

TEST(SetKeyTest, RejectsBadInput) {
    EXPECT_FALSE(setKey("", "", "1"));
    EXPECT_FALSE(setKey("", "A B", "1"));
    EXPECT_FALSE(setKey("", "A", "1\nB=2"));
    EXPECT_FALSE(setKey("", "A", "1", "pi4]"));
}

TEST(KeyTableTest, EditDistanceAndLookup) {
    EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
    EXPECT_EQ(editDistance("", "abc"), 3u);
    EXPECT_NE(findKey("BOOT_ORDER"), nullptr);
    EXPECT_EQ(findKey("BOOT_ORDER")->defaultValue, "0xf41");
    EXPECT_EQ(findKey("boot_order"), nullptr);
    EXPECT_EQ(nearestKey("DHCP_TIMEOUTS"), "DHCP_TIMEOUT");
    EXPECT_FALSE(nearestKey("XYZZY_PLUGH_FOO"));
    EXPECT_GT(knownKeys().size(), 40u);
}

}  // namespace
}  // namespace pinet::proto::eeprom

namespace pinet::proto::eeprom {
namespace {
TEST(GetKeyTest, LastValueOfSection) {
    const std::string in = "BOOT_ORDER=0xf41\n[pi4]\nBOOT_ORDER=0xf1\n[all]\nBOOT_ORDER=0xf21\n";
    EXPECT_EQ(getKey(in, "BOOT_ORDER"), "0xf21");
    EXPECT_EQ(getKey(in, "BOOT_ORDER", "pi4"), "0xf1");
    EXPECT_FALSE(getKey(in, "BOOT_UART"));
}
}  // namespace
}  // namespace pinet::proto::eeprom
