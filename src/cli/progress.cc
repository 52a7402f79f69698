#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace pinet::cli {

ProgressBar::ProgressBar() : tty_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
    finish();
}

void ProgressBar::update(const std::string& stage, std::uint64_t done, std::uint64_t total) {
    if (!tty_) {
        return;
    }
    int permille =
        total == 0 ? 0 : static_cast<int>(std::min<std::uint64_t>(done * 1000 / total, 1000));
    if (stage == stage_ && permille == lastPermille_) {
        return;  // redraw only on a visible change
    }
    stage_ = stage;
    lastPermille_ = permille;
    constexpr int kWidth = 30;
    int fill = permille * kWidth / 1000;
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.append(static_cast<std::size_t>(kWidth - fill), ' ');
    std::fprintf(stderr, "\r%-10s [%s] %5.1f%% %8.1f / %.1f MiB ", stage.c_str(), bar.c_str(),
                 permille / 10.0, static_cast<double>(done) / 1048576.0,
                 static_cast<double>(total) / 1048576.0);
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (tty_ && drawn_) {
        std::fprintf(stderr, "\n");
        drawn_ = false;
    }
}

}  // namespace pinet::cli
