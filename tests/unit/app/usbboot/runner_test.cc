#include "app/usbboot/runner.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "cli/progress.h"
#include "io/file.h"
#include "io/usb/disk_fs_view.h"
#include "lib/test_env.h"
#include "lib/usb_device_sim.h"

namespace pinet::app {
namespace {

namespace pu = proto::usbboot;
using test::SimBoard;
using test::SimBus;
using test::SimFaults;

std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) {
        b = static_cast<std::uint8_t>(rng());
    }
    return v;
}

void put(const std::filesystem::path& p, const std::vector<std::uint8_t>& d) {
    std::filesystem::create_directories(p.parent_path());
    ASSERT_TRUE(io::writeFileAtomic(p, d).has_value());
}

/// A boot directory with per-chip subfolders: 2711/ and 2712/ each hold a
/// bootcode and an image; config.txt and pieeprom.sig are shared.
struct BootDir {
    io::TempDir dir{"pinet-usbtest"};
    std::vector<std::uint8_t> bootcode4 = pattern(52000, 4);
    std::vector<std::uint8_t> bootcode5 = pattern(41000, 5);
    std::vector<std::uint8_t> image2711 = pattern(524288, 11);
    std::vector<std::uint8_t> image2712 = pattern(2097152, 12);
    std::vector<std::uint8_t> config = {'x', '=', '1', '\n'};
    std::vector<std::uint8_t> sig = pattern(80, 13);
    BootDir() {
        put(dir.path() / "bootcode4.bin", bootcode4);
        put(dir.path() / "2712" / "bootcode5.bin", bootcode5);
        put(dir.path() / "2711" / "pieeprom.bin", image2711);
        put(dir.path() / "2712" / "pieeprom.bin", image2712);
        put(dir.path() / "config.txt", config);
        put(dir.path() / "pieeprom.sig", sig);
    }
};

struct Run {
    std::vector<std::string> lines;
    RunSummary summary;
};

Run runOn(SimBus& bus, const std::filesystem::path& root, RunnerOptions opt = {}) {
    io::DiskFsView view(root);
    opt.providerFor = [&view](const core::usbboot::DeviceInfo& d) {
        return std::make_unique<core::usbboot::LookupFileProvider>(
            view, std::string(pu::chipPrefix(d.product)));
    };
    opt.pollInterval = std::chrono::milliseconds(2);
    opt.settle = std::chrono::milliseconds(100);
    opt.openDelay = std::chrono::milliseconds(0);
    if (opt.noDeviceTimeout.count() == 0) {
        opt.noDeviceTimeout = std::chrono::seconds(20);  // a test never waits forever
    }
    Run run;
    opt.print = [&run](const std::string& l) {
        run.lines.push_back(l);
    };
    run.summary = runUsbboot(bus, opt);
    return run;
}

const SessionReport* findSession(const RunSummary& s, const std::string& location,
                                 pu::Stage stage) {
    for (const auto& r : s.sessions) {
        if (r.device.location == location && r.stage == stage) {
            return &r;
        }
    }
    return nullptr;
}

bool hasLine(const Run& run, const std::string& needle) {
    for (const auto& l : run.lines) {
        if (l.find(needle) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(UsbbootRunnerTest, TwoBoardsAtOnce2711And2712) {
    BootDir boot;
    SimBus bus;
    auto pi4 = std::make_shared<SimBoard>(pu::kProduct2711, "100000001234abcd", "1-1.2",
                                          test::recoveryScript());
    auto pi5 = std::make_shared<SimBoard>(pu::kProduct2712, "2000000056789abc", "1-1.3",
                                          test::recoveryScript());
    pi5->setReenumerateDelay(5);
    bus.add(pi4);
    bus.add(pi5);
    io::TempDir meta("pinet-usbmeta");
    RunnerOptions opt;
    opt.metadataDir = meta.path();
    opt.recordTranscripts = true;
    auto run = runOn(bus, boot.dir.path(), opt);

    EXPECT_TRUE(run.summary.fatal.empty());
    ASSERT_EQ(run.summary.sessions.size(), 4u);
    for (const auto& s : run.summary.sessions) {
        EXPECT_TRUE(s.ok) << s.device.location << ": " << s.error;
        EXPECT_FALSE(s.transcript.empty());
    }
    EXPECT_TRUE(pi4->violations().empty());
    EXPECT_TRUE(pi5->violations().empty());
    // Each chip got its own second stage and its own image (spec 2.6 prefix lookup).
    EXPECT_EQ(pi4->secondStageReceived(), boot.bootcode4);
    EXPECT_EQ(pi5->secondStageReceived(), boot.bootcode5);
    EXPECT_EQ(pi4->received()["pieeprom.bin"], boot.image2711);
    EXPECT_EQ(pi5->received()["pieeprom.bin"], boot.image2712);
    EXPECT_EQ(pi5->received()["config.txt"], boot.config);
    const auto* s2 = findSession(run.summary, "1-1.3", pu::Stage::SecondStage);
    ASSERT_NE(s2, nullptr);
    EXPECT_EQ(s2->serial, "2000000056789abc");
    EXPECT_EQ(s2->metadataFile, meta.path() / "2000000056789abc.json");
    auto json = test::readAll(meta.path() / "100000001234abcd.json");
    EXPECT_EQ(std::string(json.begin(), json.end()),
              "{\n\t\"EEPROM_UPDATE\": \"success\",\n\t\"MAC_ADDR\": \"d8:3a:dd:00:00:01\"\n}\n");
    // One progress line per event, labelled by board.
    EXPECT_TRUE(hasLine(run, "[1-1.2 2711] rom: sending bootcode4.bin (52000 bytes)"));
    EXPECT_TRUE(hasLine(run, "[1-1.3 2712] rom: sending bootcode5.bin (41000 bytes)"));
    EXPECT_TRUE(hasLine(run, "[1-1.3 2712 2000000056789abc] pieeprom.bin: 50% "));
    EXPECT_TRUE(hasLine(run, "[1-1.2 2711 100000001234abcd] pieeprom.bin: sent 524288 bytes"));
    EXPECT_TRUE(hasLine(run, "[1-1.2 2711 100000001234abcd] vl805.sig: not found"));
}

// Issue #15: on a terminal `flash` draws a bar instead of the 25 % lines. The runner hands
// it every piece of each large file, the last at 100 %, then says the session ended; the
// CLI's TransferBar draws both boards' files as one bar that reaches 100 %.
TEST(UsbbootRunnerTest, ProgressForABarReachesTheTotal) {
    BootDir boot;
    SimBus bus;
    bus.add(std::make_shared<SimBoard>(pu::kProduct2711, "100000001234abcd", "1-1.2",
                                       test::recoveryScript()));
    bus.add(std::make_shared<SimBoard>(pu::kProduct2712, "2000000056789abc", "1-1.3",
                                       test::recoveryScript()));
    std::vector<std::string> drawn;
    auto now = std::chrono::steady_clock::time_point{};
    cli::ProgressBar bar(
        true, [&now] { return now += std::chrono::milliseconds(1); },
        [&drawn](const std::string& s) { drawn.push_back(s); });
    cli::TransferBar transfers(bar, "sending");
    std::map<std::string, std::pair<std::size_t, std::size_t>> last;  // key -> sent, total
    std::vector<std::string> ended;
    RunnerOptions opt;
    opt.progress = [&](const std::string& board, const std::string& file, std::size_t sent,
                       std::size_t total) {
        if (total == 0) {
            ended.push_back(board);
            transfers.forget(board + " ");
            return;
        }
        EXPECT_LE(sent, total);
        last[board + " " + file] = {sent, total};
        transfers.update(board + " " + file, sent, total);
    };
    auto run = runOn(bus, boot.dir.path(), opt);
    ASSERT_EQ(run.summary.sessions.size(), 4u);
    EXPECT_FALSE(hasLine(run, "%"));  // no 25 % lines beside a bar
    EXPECT_TRUE(hasLine(run, "[1-1.3 2712 2000000056789abc] pieeprom.bin: sent 2097152 bytes"));
    const auto pi5 = last.find("[1-1.3 2712 2000000056789abc] pieeprom.bin");
    ASSERT_NE(pi5, last.end());
    EXPECT_EQ(pi5->second, std::pair(std::size_t{2097152}, std::size_t{2097152}));
    const auto pi4 = last.find("[1-1.2 2711 100000001234abcd] pieeprom.bin");
    ASSERT_NE(pi4, last.end());
    EXPECT_EQ(pi4->second.first, pi4->second.second);
    EXPECT_EQ(ended.size(), 2u);  // one per second-stage session
    // Every bar drawn ends at 100 % and on its own line.
    std::size_t full = 0;
    for (std::size_t i = 0; i < drawn.size(); ++i) {
        if (drawn[i].find("100.0%") != std::string::npos) {
            ++full;
            ASSERT_LT(i + 1, drawn.size());
            EXPECT_EQ(drawn[i + 1], "\n");
        }
    }
    EXPECT_GE(full, 1u);
    EXPECT_EQ(drawn.back(), "\n");
}

TEST(UsbbootRunnerTest, FaultOnOneBoardLeavesTheOtherIntact) {
    BootDir boot;
    SimBus bus;
    SimFaults vanish;
    vanish.vanishDuring = "pieeprom.bin";
    vanish.vanishAfter = 100000;
    auto bad = std::make_shared<SimBoard>(pu::kProduct2711, "bad00001", "1-1.1",
                                          test::recoveryScript(), vanish);
    auto good =
        std::make_shared<SimBoard>(pu::kProduct2711, "good0002", "1-1.4", test::recoveryScript());
    bus.add(bad);
    bus.add(good);
    auto run = runOn(bus, boot.dir.path());
    const auto* b = findSession(run.summary, "1-1.1", pu::Stage::SecondStage);
    const auto* g = findSession(run.summary, "1-1.4", pu::Stage::SecondStage);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(g, nullptr);
    EXPECT_FALSE(b->ok);
    EXPECT_EQ(b->error, "sending pieeprom.bin: device disconnected after 98304 of 524288 bytes");
    EXPECT_TRUE(g->ok) << g->error;
    EXPECT_EQ(good->received()["pieeprom.bin"], boot.image2711);
    EXPECT_EQ(bad->received().count("pieeprom.bin"), 0u);
    EXPECT_TRUE(hasLine(run, "[1-1.1 2711 bad00001] second stage: failed: sending pieeprom.bin"));
}

TEST(UsbbootRunnerTest, EachFaultEndsWithAClearMessage) {
    BootDir boot;
    struct Case {
        SimFaults faults;
        std::string expect;
    };
    std::vector<Case> cases;
    {
        SimFaults f;
        f.shortBulkDuring = "pieeprom.sig";
        f.shortBulkAt = 10;
        cases.push_back({f, "sending pieeprom.sig: device took fewer bytes after 10 of 80 bytes"});
    }
    {
        SimFaults f;
        f.timeoutAtRequest = 3;
        f.timeouts = 50;
        cases.push_back({f,
                         "device stopped sending requests: simulated timeout (timeout) after 4 "
                         "tries"});
    }
    for (const auto& c : cases) {
        SimBus bus;
        auto board = std::make_shared<SimBoard>(pu::kProduct2711, "f1", "2-1",
                                                test::recoveryScript(), c.faults);
        auto other =
            std::make_shared<SimBoard>(pu::kProduct2711, "f2", "2-2", test::recoveryScript());
        bus.add(board);
        bus.add(other);
        auto run = runOn(bus, boot.dir.path());
        const auto* s = findSession(run.summary, "2-1", pu::Stage::SecondStage);
        ASSERT_NE(s, nullptr);
        EXPECT_FALSE(s->ok);
        EXPECT_EQ(s->error, c.expect);
        EXPECT_EQ(other->received()["pieeprom.bin"], boot.image2711);
    }
}

TEST(UsbbootRunnerTest, MissingBootcodeAndLostBoard) {
    BootDir boot;
    std::filesystem::remove(boot.dir.path() / "2712" / "bootcode5.bin");
    SimBus bus;
    auto pi5 = std::make_shared<SimBoard>(pu::kProduct2712, "s5", "3-1", test::recoveryScript());
    auto lost = std::make_shared<SimBoard>(pu::kProduct2711, "s4", "3-2", test::recoveryScript());
    lost->setReenumerateDelay(1000000);  // never comes back
    bus.add(pi5);
    bus.add(lost);
    RunnerOptions opt;
    opt.reenumerateTimeout = std::chrono::milliseconds(200);
    auto run = runOn(bus, boot.dir.path(), opt);
    const auto* rom = findSession(run.summary, "3-1", pu::Stage::Rom);
    ASSERT_NE(rom, nullptr);
    EXPECT_FALSE(rom->ok);
    EXPECT_EQ(rom->error, "no bootcode5.bin (or 2712/bootcode5.bin) in the boot directory");
    const auto* gone = findSession(run.summary, "3-2", pu::Stage::SecondStage);
    ASSERT_NE(gone, nullptr);
    EXPECT_FALSE(gone->ok);
    EXPECT_EQ(gone->error,
              "board did not come back as the second stage within 0 s after the ROM stage");
}

TEST(UsbbootRunnerTest, NoDeviceTimesOutAndOpenErrorsAreReported) {
    BootDir boot;
    {
        SimBus empty;
        RunnerOptions opt;
        opt.noDeviceTimeout = std::chrono::milliseconds(50);
        auto run = runOn(empty, boot.dir.path(), opt);
        EXPECT_TRUE(run.summary.noDevice);
        EXPECT_TRUE(run.summary.sessions.empty());
        EXPECT_TRUE(hasLine(run, "waiting for a Raspberry Pi in USB boot mode"));
    }
    {
        SimBus bus;
        bus.add(std::make_shared<SimBoard>(pu::kProduct2711, "s", "4-1", test::recoveryScript()));
        bus.failOpenWith(core::usbboot::UsbStatus::Access);
        auto run = runOn(bus, boot.dir.path());
        ASSERT_EQ(run.summary.sessions.size(), 1u);
        EXPECT_FALSE(run.summary.sessions[0].ok);
        EXPECT_EQ(run.summary.sessions[0].error, "simulated open failure");
    }
}

TEST(UsbbootRunnerTest, PortFilterAndMaxBoards) {
    BootDir boot;
    SimBus bus;
    auto a = std::make_shared<SimBoard>(pu::kProduct2711, "a", "5-1", test::recoveryScript());
    auto b = std::make_shared<SimBoard>(pu::kProduct2711, "b", "5-2", test::recoveryScript());
    bus.add(a);
    bus.add(b);
    RunnerOptions opt;
    opt.port = "5-2";
    opt.maxBoards = 1;
    opt.loop = true;  // maxBoards ends the loop
    auto run = runOn(bus, boot.dir.path(), opt);
    EXPECT_EQ(run.summary.sessions.size(), 2u);
    EXPECT_TRUE(a->secondStageReceived().empty());
    EXPECT_EQ(b->received()["pieeprom.bin"], boot.image2711);
}

}  // namespace
}  // namespace pinet::app
