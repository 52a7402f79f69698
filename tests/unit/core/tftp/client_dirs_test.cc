#include "core/tftp/client_dirs.h"

#include <gtest/gtest.h>

namespace pinet::core::tftp {
namespace {

class MapResolver : public ClientDirectoryResolver {
public:
    std::optional<std::string> directoryForSerial(std::string_view serial) const override {
        if (serial == "d9780558") {
            return std::string("clients/cm4-1");
        }
        if (serial == "0badd100") {
            return std::string("../etc");
        }
        return std::nullopt;
    }
    std::optional<std::string> directoryForMac(std::string_view mac) const override {
        if (mac == "dc-a6-32-01-36-c2") {
            return std::string("clients/pi4");
        }
        return std::nullopt;
    }
};

TEST(TftpPathTest, SanitizeRefusesEscapes) {
    EXPECT_EQ(sanitizePath("../etc/passwd").error(), PathError::DotDot);
    EXPECT_EQ(sanitizePath("a/../../b").error(), PathError::DotDot);
    EXPECT_EQ(sanitizePath("a/..").error(), PathError::DotDot);
    EXPECT_EQ(sanitizePath("/etc/passwd").error(), PathError::Absolute);
    EXPECT_EQ(sanitizePath("a\\..\\b").error(), PathError::Backslash);
    EXPECT_EQ(sanitizePath(std::string_view("a\0b", 3)).error(), PathError::Nul);
    EXPECT_EQ(sanitizePath("a\nb").error(), PathError::ControlChar);
    EXPECT_EQ(sanitizePath(std::string(300, 'a')).error(), PathError::TooLong);
    EXPECT_EQ(sanitizePath("").error(), PathError::Empty);
    EXPECT_EQ(sanitizePath("./.").error(), PathError::Empty);
    EXPECT_EQ(*sanitizePath("./a//b/./c"), "a/b/c");
    EXPECT_EQ(*sanitizePath("..a/b.."), "..a/b..");  // names that merely contain dots are fine
}

TEST(TftpPathTest, PrefixParsers) {
    EXPECT_EQ(parseSerialPrefix("D9780558"), "d9780558");
    EXPECT_FALSE(parseSerialPrefix("d978055"));
    EXPECT_FALSE(parseSerialPrefix("d978055g"));
    EXPECT_EQ(parseMacPrefix("DC-A6-32-01-36-C2"), "dc-a6-32-01-36-c2");
    EXPECT_FALSE(parseMacPrefix("dc:a6:32:01:36:c2"));
    EXPECT_FALSE(parseMacPrefix("dc-a6-32-01-36-cz"));
}

TEST(TftpPathTest, MapsKnownSerialAndMac) {
    MapResolver r;
    auto m = mapRequest("d9780558/start4.elf", &r, "default");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path, "clients/cm4-1/start4.elf");
    EXPECT_EQ(m->serial, "d9780558");
    EXPECT_FALSE(m->unknownClient);
    m = mapRequest("dc-a6-32-01-36-c2/overlays/x.dtbo", &r, "");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path, "clients/pi4/overlays/x.dtbo");
    EXPECT_EQ(m->mac, "dc-a6-32-01-36-c2");
}

TEST(TftpPathTest, UnknownClientFallsBackToDefault) {
    MapResolver r;
    auto m = mapRequest("aabbccdd/start4.elf", &r, "default");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->unknownClient);
    EXPECT_TRUE(m->usedDefault);
    EXPECT_EQ(m->path, "default/start4.elf");
    m = mapRequest("aabbccdd/start4.elf", &r, "");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->unknownClient);
    EXPECT_FALSE(m->usedDefault);
    EXPECT_EQ(m->path, "aabbccdd/start4.elf");
    // A resolver answer that escapes is not trusted.
    m = mapRequest("0badd100/passwd", &r, "default");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path, "default/passwd");
    // No prefix: relative to the root.
    m = mapRequest("config.txt", &r, "default");
    EXPECT_EQ(m->path, "config.txt");
    EXPECT_FALSE(m->unknownClient);
    EXPECT_EQ(mapRequest("d9780558/../../x", &r, "").error(), PathError::DotDot);
}

TEST(TftpPathTest, UnknownClientLogIsBounded) {
    UnknownClientLog log(2);
    WallTime now{};
    EXPECT_TRUE(log.record("aabbccdd", false, "1.2.3.4:5", now));
    EXPECT_FALSE(log.record("aabbccdd", false, "1.2.3.4:6", now));
    EXPECT_TRUE(log.record("dc-a6-32-01-36-c2", true, "1.2.3.5:5", now));
    EXPECT_FALSE(log.record("11223344", false, "1.2.3.6:5", now));
    auto e = log.entries();
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].id, "aabbccdd");
    EXPECT_EQ(e[0].requests, 2u);
    EXPECT_EQ(e[0].sourceAddr, "1.2.3.4:6");
    EXPECT_EQ(log.dropped(), 1u);
}

}  // namespace
}  // namespace pinet::core::tftp
