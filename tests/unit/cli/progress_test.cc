#include "cli/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/fs/tree_copy.h"

namespace pinet::cli {
namespace {

using namespace std::chrono_literals;

struct Fixture {
    std::chrono::steady_clock::time_point now{};
    std::vector<std::string> drawn;
    ProgressBar bar(bool tty) {
        return ProgressBar(
            tty, [this] { return now; }, [this](const std::string& s) { drawn.push_back(s); });
    }
};

constexpr std::uint64_t kMiB = 1048576;

// Issue #15: a redraw per MiB floods a terminal. 1000 updates over 1 s draw about 10 times.
TEST(ProgressBar, RedrawsAtMostTenTimesASecond) {
    Fixture f;
    {
        auto bar = f.bar(true);
        for (int i = 0; i <= 1000; ++i) {
            f.now = std::chrono::steady_clock::time_point{} + i * 1ms;
            bar.update("root", static_cast<std::uint64_t>(i) * kMiB, 2000 * kMiB);
        }
    }
    // First drawing + one per 100 ms (10) + the final newline.
    EXPECT_LE(f.drawn.size(), 12u);
    EXPECT_GE(f.drawn.size(), 10u);
    EXPECT_EQ(f.drawn.back(), "\n");
}

TEST(ProgressBar, EtaFromTheRateAndHundredPercentAtTheEnd) {
    Fixture f;
    auto bar = f.bar(true);
    bar.update("root", 0, 100 * kMiB);
    f.now += 10s;
    bar.update("root", 25 * kMiB, 100 * kMiB);  // 2.5 MiB/s, 75 MiB left: 30 s
    ASSERT_FALSE(f.drawn.empty());
    EXPECT_NE(f.drawn.back().find(" 25.0%"), std::string::npos) << f.drawn.back();
    EXPECT_NE(f.drawn.back().find("2.5 MiB/s ETA 30s"), std::string::npos) << f.drawn.back();
    // The last update stopped short of the total (a sparse file's holes): complete() draws 100 %.
    f.now += 20s;
    bar.update("root", 90 * kMiB, 100 * kMiB);
    bar.complete();
    EXPECT_NE(f.drawn.back().find("100.0%"), std::string::npos) << f.drawn.back();
    EXPECT_NE(f.drawn.back().find("[##############################]"), std::string::npos);
    EXPECT_NE(f.drawn.back().find("done in 30s"), std::string::npos) << f.drawn.back();
}

TEST(ProgressBar, ReachingTheTotalIsAlwaysDrawn) {
    Fixture f;
    auto bar = f.bar(true);
    bar.update("boot", 0, 10);
    f.now += 1ms;  // well inside the 100 ms interval
    bar.update("boot", 10, 10);
    EXPECT_NE(f.drawn.back().find("100.0%"), std::string::npos);
}

// No terminal: no '\r' bar, a plain line at most every 5 s.
TEST(ProgressBar, PlainLinesWithoutATerminal) {
    Fixture f;
    {
        auto bar = f.bar(false);
        for (int i = 0; i <= 200; ++i) {
            f.now = std::chrono::steady_clock::time_point{} + i * 100ms;  // 20 s
            bar.update("root", static_cast<std::uint64_t>(i), 400);
        }
        bar.complete();
    }
    // At 0, 5, 10, 15, 20 s and the completion.
    EXPECT_EQ(f.drawn.size(), 6u);
    for (const auto& d : f.drawn) {
        EXPECT_EQ(d.find('\r'), std::string::npos);
        EXPECT_EQ(d.back(), '\n');
        EXPECT_EQ(d.rfind("root: ", 0), 0u) << d;
    }
    EXPECT_NE(f.drawn.back().find("100.0%"), std::string::npos);
}

// Issue #15: the bar of `client add --root copy` reaches 100 % on the copy path itself: the
// tree copy reports the regular-file bytes done after each file, and their sum is what the
// image records as its root's size (regular-file sizes), so the last update is the total.
TEST(ProgressBar, TreeCopyDrivesTheBarToHundredPercent) {
    io::TempDir t("progress-copy");
    const auto src = t.path() / "src";
    std::filesystem::create_directories(src / "usr/bin");
    std::uint64_t total = 0;
    for (int i = 0; i < 40; ++i) {
        const std::string data(static_cast<std::size_t>(1000 * (i + 1)), 'x');
        ASSERT_TRUE(io::writeFileAtomic(src / "usr/bin" / ("f" + std::to_string(i)), data));
        total += data.size();
    }
    Fixture f;
    std::vector<std::uint64_t> seen;
    {
        auto bar = f.bar(true);
        auto r = io::copyTree(
            src, t.path() / "dst", [](const std::string&) { return io::FileShare::Copy; },
            [&](std::uint64_t done) {
                f.now += 1ms;  // 40 files in 40 ms: within one redraw interval
                seen.push_back(done);
                bar.update("root copy", done, total);
            });
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->fileBytes, total);
    }
    ASSERT_EQ(seen.size(), 40u);  // once per regular file
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), total);
    // The first drawing, the one at 100 % (never skipped) and the newline: not one per file.
    ASSERT_EQ(f.drawn.size(), 3u);
    EXPECT_NE(f.drawn[1].find("100.0%"), std::string::npos) << f.drawn[1];
    EXPECT_EQ(f.drawn[2], "\n");
}

// flash: two boards' files interleaved are one bar (no line per switch), drawn at most 10
// times a second, at 100 % once both arrived; a board that vanished ends the bar as it was.
TEST(TransferBar, InterleavedTransfersAreOneBarThatReachesTheTotal) {
    Fixture f;
    auto bar = f.bar(true);
    TransferBar transfers(bar, "sending");
    for (int i = 0; i <= 100; ++i) {
        f.now += 1ms;
        transfers.update("[1-1.2] pieeprom.bin", static_cast<std::uint64_t>(i) * kMiB / 50,
                         2 * kMiB);
        transfers.update("[1-1.3] pieeprom.bin", static_cast<std::uint64_t>(i) * kMiB / 100, kMiB);
    }
    // 202 updates over 100 ms: the first drawing, one more at most, the 100 % and the newline.
    EXPECT_LE(f.drawn.size(), 4u);
    ASSERT_GE(f.drawn.size(), 3u);
    EXPECT_NE(f.drawn[f.drawn.size() - 2].find("100.0%"), std::string::npos);
    EXPECT_NE(f.drawn[f.drawn.size() - 2].find("3.0 MiB"), std::string::npos);
    EXPECT_EQ(f.drawn.back(), "\n");
    for (std::size_t i = 0; i + 2 < f.drawn.size(); ++i) {
        EXPECT_EQ(f.drawn[i].find('\n'), std::string::npos) << "a line per board switch";
    }
    // A new transfer starts a new bar; the board vanishing ends its line without 100 %.
    f.drawn.clear();
    f.now += 1s;
    transfers.update("[1-1.2] pieeprom.bin", kMiB / 2, 2 * kMiB);
    transfers.forget("[1-1.2] ");
    ASSERT_EQ(f.drawn.size(), 2u);
    EXPECT_NE(f.drawn[0].find(" 25.0%"), std::string::npos) << f.drawn[0];
    EXPECT_EQ(f.drawn[1], "\n");
}

// Without a terminal every drawing is a line: an update that reached the total and the
// complete() after it must not print 100 % twice (client add did).
TEST(ProgressBar, CompleteAfterTheTotalDrawsNoSecondLine) {
    Fixture f;
    {
        auto bar = f.bar(false);
        bar.update("root copy", 0, 10);
        f.now += 1ms;
        bar.update("root copy", 10, 10);
        bar.complete();
    }
    ASSERT_EQ(f.drawn.size(), 2u);
    EXPECT_NE(f.drawn[1].find("100.0%"), std::string::npos);
}

TEST(ProgressBar, EtaText) {
    EXPECT_EQ(ProgressBar::etaText(42.2), "42s");
    EXPECT_EQ(ProgressBar::etaText(65), "1m05s");
    EXPECT_EQ(ProgressBar::etaText(3 * 3600 + 120), "3h02m");
    EXPECT_EQ(ProgressBar::etaText(-1), "?");
}

}  // namespace
}  // namespace pinet::cli
