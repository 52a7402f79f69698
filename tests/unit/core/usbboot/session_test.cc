#include "core/usbboot/session.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "core/usbboot/transcript.h"
#include "lib/golden.h"
#include "lib/usb_device_sim.h"

namespace pinet::core::usbboot {
namespace {

namespace pu = proto::usbboot;
using test::SimBoard;
using test::SimFaults;
using test::SimRequest;

std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) {
        b = static_cast<std::uint8_t>(rng());
    }
    return v;
}

class MapFsView : public FsView {
public:
    void put(const std::string& path, std::vector<std::uint8_t> data) {
        files_[path] = std::make_shared<const std::vector<std::uint8_t>>(std::move(data));
    }
    std::optional<ServedFile> read(const std::string& relPath) override {
        tried_.push_back(relPath);
        auto it = files_.find(relPath);
        if (it == files_.end()) {
            return std::nullopt;
        }
        return ServedFile{relPath, it->second};
    }
    std::vector<std::string> tried_;

private:
    std::map<std::string, std::shared_ptr<const std::vector<std::uint8_t>>> files_;
};

// A recovery folder stand-in: contents are opaque to the host.
struct Folder {
    MapFsView fs;
    std::vector<std::uint8_t> config = {'u', 'a', 'r', 't', '_', '2', 'n', 'd', '\n'};
    std::vector<std::uint8_t> sig = pattern(91, 2);
    std::vector<std::uint8_t> image = pattern(40000, 3);
    Folder() {
        fs.put("config.txt", config);
        fs.put("pieeprom.sig", sig);
        fs.put("pieeprom.bin", image);
    }
};

void romFlow(std::uint16_t product, const std::string& golden) {
    const auto bootcode = pattern(product == pu::kProduct2712 ? 41000 : 52000, product);
    SimBoard board(product, "abcd1234", "1-1", {});
    RecordingTransport rec(board);
    auto res = runRomStage(rec, bootcode);
    ASSERT_TRUE(res.ok) << res.error;
    ASSERT_TRUE(res.deviceResult.has_value());
    EXPECT_EQ(*res.deviceResult, 0);
    EXPECT_TRUE(board.romDone());
    EXPECT_EQ(board.secondStageReceived(), bootcode);
    EXPECT_TRUE(board.violations().empty()) << board.violations().front();
    EXPECT_EQ(board.info().serialIndex, 3);
    board.closed();
    board.tick();
    EXPECT_TRUE(board.present());
    EXPECT_EQ(board.info().serialIndex, 1);
    EXPECT_EQ(board.serialString(), "abcd1234");
    test::expectGolden("usbboot/" + golden, rec.text());
}

TEST(UsbbootRomStageTest, Bcm2711SendsBootcode) {
    romFlow(pu::kProduct2711, "rom_2711.txt");
}
TEST(UsbbootRomStageTest, Bcm2712SendsBootcode) {
    romFlow(pu::kProduct2712, "rom_2712.txt");
}

TEST(UsbbootRomStageTest, RomResultIsReportedNotFatal) {
    SimFaults f;
    f.romResult = 0x1234;
    SimBoard board(pu::kProduct2711, "s", "1-1", {}, f);
    auto res = runRomStage(board, pattern(100, 1));
    EXPECT_TRUE(res.ok);
    EXPECT_EQ(res.deviceResult, 0x1234);
}

TEST(UsbbootRomStageTest, VanishingRomIsAnError) {
    SimFaults f;
    f.vanishInRom = true;
    SimBoard board(pu::kProduct2711, "s", "1-1", {}, f);
    auto res = runRomStage(board, pattern(60000, 1));
    EXPECT_FALSE(res.ok);
    EXPECT_NE(res.error.find("second stage: sent 16384 of 60000 bytes"), std::string::npos)
        << res.error;
    EXPECT_NE(res.error.find("no-device"), std::string::npos) << res.error;
}

TEST(UsbbootLookupTest, RpibootOrder) {
    EXPECT_EQ(lookupCandidates("start4.elf", "2711"),
              (std::vector<std::string>{"2711/start4.elf", "start4.elf"}));
    EXPECT_EQ(lookupCandidates("config.txt", "2712", "1-1.3"),
              (std::vector<std::string>{"1-1.3/config.txt", "2712/config.txt", "config.txt"}));
    // bootcode*.bin never comes from a per-port overlay (spec 2.6 step 2).
    EXPECT_EQ(lookupCandidates("bootcode4.bin", "2711", "1-1.3"),
              (std::vector<std::string>{"2711/bootcode4.bin", "bootcode4.bin"}));
    EXPECT_TRUE(lookupCandidates("../etc/passwd", "2711").empty());
    EXPECT_TRUE(lookupCandidates("a/../../b", "2711").empty());
    EXPECT_EQ(lookupCandidates("/etc/passwd", "2711"),
              (std::vector<std::string>{"2711/etc/passwd", "etc/passwd"}));
    EXPECT_TRUE(lookupCandidates("", "2711").empty());

    MapFsView fs;
    fs.put("config.txt", {1});
    fs.put("2711/config.txt", {2});
    LookupFileProvider p2711(fs, "2711");
    LookupFileProvider p2712(fs, "2712");
    EXPECT_EQ((*p2711.open("config.txt")->data)[0], 2);
    EXPECT_EQ((*p2712.open("config.txt")->data)[0], 1);
    EXPECT_FALSE(p2711.open("missing").has_value());
    EXPECT_FALSE(p2711.open("../config.txt").has_value());
}

void fileServerFlow(std::uint16_t product, const std::string& golden) {
    Folder folder;
    if (product == pu::kProduct2712) {
        // A per-chip image wins over the shared one (spec 2.6 step 3).
        folder.image = pattern(70000, 9);
        folder.fs.put("2712/pieeprom.bin", folder.image);
    }
    SimBoard board(product, "abcd1234", "1-1", test::recoveryScript(), {}, true);
    LookupFileProvider files(folder.fs, std::string(pu::chipPrefix(product)));
    RecordingTransport rec(board);
    auto res = serveFiles(rec, files);
    EXPECT_EQ(res.end, ServerEnd::EmptyName) << res.error;
    EXPECT_TRUE(board.violations().empty()) << board.violations().front();
    auto got = board.received();
    EXPECT_EQ(got["config.txt"], folder.config);
    EXPECT_EQ(got["pieeprom.sig"], folder.sig);
    EXPECT_EQ(got["pieeprom.bin"], folder.image);
    EXPECT_EQ(board.missing(), (std::vector<std::string>{"vl805.sig", "pieeprom.upd"}));
    EXPECT_EQ(res.missing, board.missing());
    ASSERT_NE(res.sentFile("pieeprom.bin"), nullptr);
    EXPECT_EQ(res.sentFile("pieeprom.bin")->size, folder.image.size());
    EXPECT_EQ(res.metadataValue("EEPROM_UPDATE"), "success");
    EXPECT_EQ(res.metadataValue("MAC_ADDR"), "d8:3a:dd:00:00:01");
    EXPECT_EQ(res.requests, test::recoveryScript().size());
    EXPECT_TRUE(board.finished());
    test::expectGolden("usbboot/" + golden, rec.text());
}

TEST(UsbbootFileServerTest, ServesRecoveryFolder2711) {
    fileServerFlow(pu::kProduct2711, "fileserver_2711.txt");
}
TEST(UsbbootFileServerTest, ServesRecoveryFolder2712) {
    fileServerFlow(pu::kProduct2712, "fileserver_2712.txt");
}

TEST(UsbbootFileServerTest, DoneWithNameEndsWithoutReply) {
    Folder folder;
    SimBoard board(pu::kProduct2712, "s", "1-1", {{0, "config.txt"}, {1, "config.txt"}, {2, "x"}},
                   {}, true);
    LookupFileProvider files(folder.fs, "2712");
    auto res = serveFiles(board, files);
    EXPECT_EQ(res.end, ServerEnd::Done);
    EXPECT_TRUE(board.violations().empty());
    EXPECT_TRUE(board.finished());
}

TEST(UsbbootFileServerTest, MissingFileReadsAsZeroAndContinues) {
    MapFsView fs;  // empty: every file is missing
    SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), {}, true);
    LookupFileProvider files(fs, "2711");
    auto res = serveFiles(board, files);
    EXPECT_EQ(res.end, ServerEnd::EmptyName);
    EXPECT_TRUE(board.violations().empty()) << board.violations().front();
    EXPECT_TRUE(board.received().empty());
    EXPECT_EQ(res.missing.size(), 5u);
    EXPECT_EQ(res.sentFile("pieeprom.bin"), nullptr);
}

TEST(UsbbootFileServerTest, ShortRequestIsNakedAndRetried) {
    Folder folder;
    SimFaults f;
    f.shortRequestAt = 1;  // the ReadFile config.txt request arrives cut
    SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), f, true);
    LookupFileProvider files(folder.fs, "2711");
    RecordingTransport rec(board);
    auto res = serveFiles(rec, files);
    EXPECT_EQ(res.end, ServerEnd::EmptyName) << res.error;
    EXPECT_EQ(res.badRequests, 1u);
    EXPECT_TRUE(board.violations().empty()) << board.violations().front();
    EXPECT_EQ(board.received()["pieeprom.bin"], folder.image);
    test::expectGolden("usbboot/fault_short_request.txt", rec.text());
}

TEST(UsbbootFileServerTest, ShortBulkFailsWithClearMessage) {
    Folder folder;
    SimFaults f;
    f.shortBulkDuring = "pieeprom.bin";
    f.shortBulkAt = 20000;
    SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), f, true);
    LookupFileProvider files(folder.fs, "2711");
    auto res = serveFiles(board, files);
    EXPECT_EQ(res.end, ServerEnd::Failed);
    EXPECT_EQ(res.error,
              "sending pieeprom.bin: device took fewer bytes after 20000 of 40000 bytes");
    EXPECT_EQ(board.received().count("pieeprom.bin"), 0u);
}

TEST(UsbbootFileServerTest, VanishMidTransfer) {
    Folder folder;
    SimFaults f;
    f.vanishDuring = "pieeprom.bin";
    f.vanishAfter = 30000;
    SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), f, true);
    LookupFileProvider files(folder.fs, "2711");
    RecordingTransport rec(board);
    auto res = serveFiles(rec, files);
    EXPECT_EQ(res.end, ServerEnd::Failed);
    EXPECT_EQ(res.error, "sending pieeprom.bin: device disconnected after 16384 of 40000 bytes");
    EXPECT_FALSE(board.present());
    test::expectGolden("usbboot/fault_vanish.txt", rec.text());
}

TEST(UsbbootFileServerTest, TimeoutsAreRetriedThenGiveUp) {
    Folder folder;
    {
        SimFaults f;
        f.timeoutAtRequest = 2;
        f.timeouts = 2;
        SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), f, true);
        LookupFileProvider files(folder.fs, "2711");
        int pauses = 0;
        auto res = serveFiles(board, files, {}, nullptr, [&](Millis) { ++pauses; });
        EXPECT_EQ(res.end, ServerEnd::EmptyName) << res.error;
        EXPECT_EQ(res.readRetries, 2u);
        EXPECT_EQ(pauses, 2);
        EXPECT_EQ(board.received()["pieeprom.bin"], folder.image);
    }
    {
        SimFaults f;
        f.timeoutAtRequest = 4;
        f.timeouts = 100;
        SimBoard board(pu::kProduct2711, "s", "1-1", test::recoveryScript(), f, true);
        LookupFileProvider files(folder.fs, "2711");
        auto res = serveFiles(board, files);
        EXPECT_EQ(res.end, ServerEnd::Failed);
        EXPECT_EQ(res.error,
                  "device stopped sending requests: simulated timeout (timeout) after 4 tries");
        EXPECT_EQ(board.received().count("pieeprom.bin"), 0u);
    }
}

TEST(UsbbootFileServerTest, UnknownCommandAndRequestFlood) {
    Folder folder;
    {
        SimBoard board(pu::kProduct2711, "s", "1-1", {{7, "x"}}, {}, true);
        LookupFileProvider files(folder.fs, "2711");
        auto res = serveFiles(board, files);
        EXPECT_EQ(res.end, ServerEnd::Failed);
        EXPECT_EQ(res.error, "unknown command 7 (name \"x\")");
    }
    {
        std::vector<SimRequest> flood(50, SimRequest{0, "config.txt"});
        SimBoard board(pu::kProduct2711, "s", "1-1", flood, {}, true);
        LookupFileProvider files(folder.fs, "2711");
        FileServerOptions opt;
        opt.maxRequests = 10;
        auto res = serveFiles(board, files, opt);
        EXPECT_EQ(res.end, ServerEnd::Failed);
        EXPECT_EQ(res.requests, 10u);
    }
    {
        // Script ends without Done: the board resets, which is a normal end.
        SimBoard board(pu::kProduct2711, "s", "1-1", {{0, "config.txt"}}, {}, true);
        LookupFileProvider files(folder.fs, "2711");
        EXPECT_EQ(serveFiles(board, files).end, ServerEnd::Disconnected);
    }
}

}  // namespace
}  // namespace pinet::core::usbboot
