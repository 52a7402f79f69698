#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace pinet::cli {

ProgressBar::ProgressBar()
    : ProgressBar(
          ::isatty(STDERR_FILENO) == 1, [] { return std::chrono::steady_clock::now(); },
          [](const std::string& s) {
              std::fputs(s.c_str(), stderr);
              std::fflush(stderr);
          }) {}

ProgressBar::ProgressBar(bool tty, Clock clock, Sink sink)
    : tty_(tty), clock_(std::move(clock)), sink_(std::move(sink)) {}

ProgressBar::~ProgressBar() {
    finish();
}

std::string ProgressBar::etaText(double seconds) {
    if (!(seconds >= 0) || seconds > 99 * 3600) {
        return "?";
    }
    const auto s = static_cast<long>(seconds + 0.5);
    if (s >= 3600) {
        return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
    }
    if (s >= 60) {
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    }
    return fmt::format("{}s", s);
}

void ProgressBar::update(const std::string& stage, std::uint64_t done, std::uint64_t total) {
    const auto now = clock_();
    if (stage != stage_) {
        if (tty_ && drawn_) {
            sink_("\n");  // the finished stage's bar stays on its own line
            drawn_ = false;
        }
        stage_ = stage;
        stageStart_ = now;
        everDrawnStage_ = false;
        drawnFull_ = false;
    }
    done_ = done;
    total_ = total;
    const auto interval =
        tty_ ? std::chrono::duration_cast<std::chrono::milliseconds>(kTtyInterval)
             : std::chrono::duration_cast<std::chrono::milliseconds>(kPlainInterval);
    // The first drawing of a stage and its last (done == total) are never skipped.
    if (!everDrawnStage_ || (total != 0 && done >= total) || now - lastDraw_ >= interval) {
        draw(now);
    }
}

void ProgressBar::complete() {
    if (stage_.empty()) {
        return;
    }
    if (total_ == 0) {
        total_ = done_;
    }
    if (drawnFull_ && done_ >= total_) {
        return;  // the last update reached the total and was drawn: no second 100 % line
    }
    done_ = total_;
    draw(clock_());
}

void ProgressBar::draw(std::chrono::steady_clock::time_point now) {
    lastDraw_ = now;
    everDrawnStage_ = true;
    drawnFull_ = total_ != 0 && done_ >= total_;
    const double frac =
        total_ == 0 ? 0.0 : std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const double elapsed = std::chrono::duration<double>(now - stageStart_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    std::string eta;
    if (frac >= 1.0) {
        eta = fmt::format("done in {}", etaText(elapsed));
    } else if (rate > 0 && total_ != 0) {
        eta = fmt::format("ETA {}", etaText(static_cast<double>(total_ - done_) / rate));
    } else {
        eta = "ETA ?";
    }
    const double mib = 1048576.0;
    const auto numbers = fmt::format("{:5.1f}% {:8.1f} / {:.1f} MiB {:6.1f} MiB/s {}", frac * 100,
                                     static_cast<double>(done_) / mib,
                                     static_cast<double>(total_) / mib, rate / mib, eta);
    if (tty_) {
        constexpr int kWidth = 30;
        const int fill = static_cast<int>(frac * kWidth);
        std::string bar(static_cast<std::size_t>(fill), '#');
        bar.append(static_cast<std::size_t>(kWidth - fill), ' ');
        // Trailing spaces wipe what a longer previous drawing left.
        sink_(fmt::format("\r{:<10} [{}] {}   ", stage_, bar, numbers));
        drawn_ = true;
    } else {
        sink_(fmt::format("{}: {}\n", stage_, numbers));
    }
}

void ProgressBar::finish() {
    if (tty_ && drawn_) {
        sink_("\n");
        drawn_ = false;
    }
}

void ProgressBar::restart() {
    finish();
    stage_.clear();
    done_ = 0;
    total_ = 0;
}

void TransferBar::update(const std::string& key, std::uint64_t sent, std::uint64_t total) {
    active_[key] = {std::min(sent, total), total};
    std::uint64_t done = 0;
    std::uint64_t all = 0;
    for (const auto& [k, v] : active_) {
        done += v.first;
        all += v.second;
    }
    bar_.update(stage_, done, all);
    settle();
}

void TransferBar::forget(const std::string& prefix) {
    bool dropped = false;
    for (auto it = active_.begin(); it != active_.end();) {
        if (it->first.compare(0, prefix.size(), prefix) == 0) {
            it = active_.erase(it);
            dropped = true;
        } else {
            ++it;
        }
    }
    if (dropped && active_.empty()) {
        bar_.restart();  // a transfer that never arrived: the bar stays as it was
    }
}

void TransferBar::settle() {
    const bool allArrived = std::all_of(active_.begin(), active_.end(), [](const auto& e) {
        return e.second.first >= e.second.second;
    });
    if (allArrived) {
        // update() has drawn it at 100 % already: reaching the total is never skipped.
        bar_.restart();
        active_.clear();
    }
}

}  // namespace pinet::cli
