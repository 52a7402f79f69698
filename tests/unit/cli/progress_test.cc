#include "cli/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(ProgressBar, EtaText) {
    EXPECT_EQ(ProgressBar::etaText(42.2), "42s");
    EXPECT_EQ(ProgressBar::etaText(65), "1m05s");
    EXPECT_EQ(ProgressBar::etaText(3 * 3600 + 120), "3h02m");
    EXPECT_EQ(ProgressBar::etaText(-1), "?");
}

}  // namespace
}  // namespace pinet::cli
