#pragma once
// A one-line progress bar on stderr (image import; issue #15): percentage, MiB, rate and an
// ETA, redrawn at most 10 times a second (a redraw per MiB floods a terminal), and drawn at
// 100 % when the work completes. When stderr is not a terminal (a log, a pipe, CI) there is
// no bar: one plain line every 5 s at most, and one at the end. The clock and the output
// are injected so the logic is tested without a terminal or sleeps.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

namespace pinet::cli {

class ProgressBar {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    /// Receives each drawing: a bar starts with '\r' (redrawn in place), a plain line ends
    /// with '\n'.
    using Sink = std::function<void(const std::string&)>;

    /// Redraws no more often than this on a terminal (10 per second).
    static constexpr std::chrono::milliseconds kTtyInterval{100};
    /// A plain line no more often than this without a terminal.
    static constexpr std::chrono::seconds kPlainInterval{5};

    ProgressBar();  ///< stderr, its isatty(), the steady clock
    ProgressBar(bool tty, Clock clock, Sink sink);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(const std::string& stage, std::uint64_t done, std::uint64_t total);
    /// The stage finished: draws it at 100 % (whatever the last update said).
    void complete();
    /// Ends the line (a bar left on screen is kept as it was, e.g. after a failure).
    void finish();
    /// Ends the line and forgets the stage: the next update starts a new bar (its own
    /// rate and ETA), even under the same stage name.
    void restart();

    /// "1m05s" / "42s" / "?": the ETA text (exposed for tests).
    static std::string etaText(double seconds);

private:
    void draw(std::chrono::steady_clock::time_point now);

    bool tty_ = false;
    Clock clock_;
    Sink sink_;
    bool drawn_ = false;
    std::string stage_;
    std::uint64_t done_ = 0;
    std::uint64_t total_ = 0;
    std::chrono::steady_clock::time_point stageStart_{};
    std::chrono::steady_clock::time_point lastDraw_{};
    bool everDrawnStage_ = false;
    bool drawnFull_ = false;  ///< the last drawing of this stage was at 100 %
};

/// Transfers that may run at once (flash: a file to each board on USB) drawn as one bar:
/// the sum of their bytes over the sum of their sizes, so interleaved boards do not start
/// a line each. When every transfer has arrived the bar is drawn at 100 % and its line
/// ends; the next transfer starts a new bar.
class TransferBar {
public:
    TransferBar(ProgressBar& bar, std::string stage) : bar_(bar), stage_(std::move(stage)) {}

    /// @p key names one transfer ("[1-1.3 2711 abcd1234] pieeprom.bin").
    void update(const std::string& key, std::uint64_t sent, std::uint64_t total);
    /// The transfers whose key starts with @p prefix ended (a board's session is over,
    /// arrived or not): they no longer count; a bar left without transfers ends its line.
    void forget(const std::string& prefix);
    /// Ends the bar's line before a line of text is printed.
    void interrupt() { bar_.finish(); }

private:
    void settle();

    ProgressBar& bar_;
    std::string stage_;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> active_;  ///< sent, total
};

}  // namespace pinet::cli
