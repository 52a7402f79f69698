#pragma once
// Admission control for boot storms (issue #14): decides which boards boot now
// and which wait, so that every admitted board gets each of its files inside
// the bootloader's deadline and a waiting board loses nothing.
//
// Why. Every file a Pi fetches has its own deadline (TFTP_FILE_TIMEOUT, 30 s;
// spec netboot-protocol §4.1). With a fixed cap on transfers, boards beyond it
// see their first RRQ dropped until that deadline passes; with fair sharing and
// no cap, 1000 boards each get a thousandth of the wire and all miss their kernel's
// deadline. Neither works; the server has to decide who boots now.
//
// The gate is DHCP: a board held here gets no OFFER (proxy: no PXE offer, full:
// no address offer) and keeps re-sending DISCOVER every DHCP_REQ_TIMEOUT (4 s)
// for up to DHCP_TIMEOUT (45 s, spec §2.3) before it restarts its boot order, so
// holding it costs it nothing as long as the hold ends in time. With `--dhcp off`
// (a foreign DHCP server), the gate is a board's first TFTP request: a held RRQ
// is dropped and the Pi re-sends it every ~2 s for up to 30 s.
//
// The model (docs/architecture.md, "Boot storms"):
//  - throughput T: the bytes per second the TFTP and HTTP servers actually
//    deliver, measured in windows and smoothed;
//  - the plan P: the bytes of one board's boot files (learned from the boards
//    that finished, seeded from the boot tree's file sizes);
//  - the head of the queue is admitted while (n + 1) x P <= T x horizon, where n
//    counts the admitted boards that have not yet been sent P. The server shares
//    its throughput equally among boards fetching (lockstep TFTP: one block per
//    turn each), so each board's files take about n x P / T: the bound keeps that
//    inside the horizon (12 s, well inside the 30 s per-file deadline) at the rate
//    the server achieves, and since it holds at every admission, a newcomer only
//    takes the share of a board that finished: an admitted board is not slowed by
//    boards that arrive after it. A board that has been sent P counts only a small
//    reserve, so its slot passes on at once. When the server is not yet
//    saturated, T is what the admitted boards demand, and T x horizon grows with
//    every window, so the gate opens as fast as the measured rate does (like TCP's
//    slow start), from a small floor when nothing has been measured yet;
//  - a board that has waited maxHold (30 s of the 45 s DHCP_TIMEOUT) is admitted
//    even past the horizon, up to the hard horizon (20 s of work: still inside
//    the 30 s deadline), so that it does not time out. Beyond that the storm
//    cannot be carried inside the deadlines at the measured throughput; the head
//    stays queued (keeping its place), its DHCP attempt times out, and its next
//    attempt (the bootloader restarts its boot order) is admitted first.
//
// Pure: no clock, no I/O, no threads; the app holds it under a mutex.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pinet::core::boot {

using SteadyClock = std::chrono::steady_clock;

struct AdmissionConfig {
    bool enabled = true;
    /// Outstanding work of admitted boards must drain within this at the measured
    /// throughput. 12 s is 40 % of the 30 s per-file deadline: a board's largest file
    /// (the kernel) is most of its plan, so it completes well inside its deadline even
    /// when the throughput estimate is 2x too high.
    std::chrono::milliseconds horizon{12000};
    /// A board at maxHold is admitted while the outstanding work fits this: 20 s of
    /// the 30 s deadline.
    std::chrono::milliseconds hardHorizon{20000};
    /// Longest hold before a board is admitted past the horizon: DHCP_TIMEOUT (45 s)
    /// less 15 s, so that its OFFER, REQUEST and ACK have three DHCP_REQ_TIMEOUT
    /// (4 s) retransmissions of room.
    std::chrono::milliseconds maxHold{30000};
    /// A board that has not asked for this long has gone (or is in another boot mode):
    /// it leaves the queue. Five DHCP_REQ_TIMEOUTs.
    std::chrono::milliseconds forgetWaiting{20000};
    /// An admitted board that fetched and then went quiet this long has finished its
    /// boot files (a booting Pi's files follow each other within milliseconds; the
    /// longest gap is an unanswered RRQ's 2 s retransmission).
    std::chrono::milliseconds idleDone{3000};
    /// An admitted board that fetched nothing this long after admission is a no-show
    /// (it took another server's offer, lost power, or was a forged DISCOVER): its
    /// capacity is freed. A real board fetches within a few hundred milliseconds of its
    /// OFFER, or re-sends DISCOVER after DHCP_REQ_TIMEOUT (4 s) if the OFFER was lost
    /// (and is answered at once, being admitted): 6 s covers that, and keeps what a
    /// flood of forged DISCOVERs can tie up short.
    std::chrono::milliseconds noShow{6000};
    /// Throughput measuring window; the estimate is smoothed over about four windows.
    std::chrono::milliseconds window{250};
    /// Throughput assumed before any is measured (bytes/s): 10 MB/s is a 100 Mbit/s
    /// link, so a slow server does not over-admit at the start of a storm; the
    /// estimate replaces it within a window.
    std::uint64_t floorThroughput = 10'000'000;
    /// Configured ceiling on the throughput estimate (bytes/s), e.g. the wire's speed
    /// when the server is faster than its link; 0 = none.
    std::uint64_t maxThroughput = 0;
    /// Configured ceiling on boards admitted at once; 0 = none (kMaxAdmitted).
    std::size_t maxAdmitted = 0;
    /// Boards waiting at once. Each costs about 100 bytes here and a held DISCOVER
    /// (about 600 bytes) in the DHCP responder: 8192 is two racks of 4096 boards in
    /// about 6 MB. Beyond it a board is not queued (its DISCOVER is dropped and
    /// counted) and is queued when it re-sends 4 s later, if there is room then.
    std::size_t maxWaiting = 8192;
    /// Boot plan bytes per board before any board has finished (the app seeds it
    /// from the boot tree); a Raspberry Pi OS arm64 boot is about 12 MB.
    std::uint64_t initialPlanBytes = 12ull << 20;
};

/// Hard bound on admitted boards whatever the estimate says (memory: ~150 bytes each).
inline constexpr std::size_t kMaxAdmitted = 16384;

enum class AdmitResult {
    Admitted,
    Held,       ///< queued; answer nothing, it will be released in arrival order
    QueueFull,  ///< not queued (maxWaiting); answer nothing, it re-sends
};
const char* toString(AdmitResult r);

/// Upper bounds (seconds) of the wait histogram's buckets; +Inf is implicit.
inline constexpr std::array<double, 10> kWaitBuckets{0.1, 0.5, 1, 2, 5, 10, 15, 20, 30, 45};

struct WaitingBoard {
    std::string board;
    SteadyClock::duration waited{};
};

struct AdmissionSnapshot {
    bool enabled = true;
    std::size_t waiting = 0;
    std::size_t admitted = 0;
    std::uint64_t throughput = 0;   ///< bytes/s, smoothed; 0 = nothing measured yet
    std::uint64_t outstanding = 0;  ///< bytes committed to admitted boards (see outstanding())
    std::uint64_t budget = 0;       ///< what may be outstanding: throughput x horizon
    /// The throughput stopped growing while boards waited: the server (or its wire) is
    /// the bottleneck, and boards' own speed limits no longer widen the gate.
    bool pipeFull = false;
    /// Median of the admitted boards' speed limits (bytes/s, from their fastest
    /// round trip; 0 = none measured).
    std::uint64_t boardCeiling = 0;
    std::uint64_t planBytes = 0;      ///< bytes per board's boot, learned
    std::uint64_t admissions = 0;     ///< boards admitted, ever
    double admissionRate = 0;         ///< boards admitted per second over the last 10 s
    std::uint64_t heldBoards = 0;     ///< boards that had to wait, ever
    std::uint64_t overcommitted = 0;  ///< admitted at maxHold past the horizon
    std::uint64_t completed = 0;      ///< admitted boards that finished their files
    std::uint64_t noShows = 0;        ///< admitted boards that never fetched
    /// No-shows that had waited, put back at the front of the queue (see requeueNoShow).
    std::uint64_t requeued = 0;
    std::uint64_t forgotten = 0;  ///< waiting boards that stopped asking
    std::uint64_t queueFull = 0;  ///< requests not queued at maxWaiting
    std::uint64_t unmanaged = 0;  ///< boards seen only by their traffic (not gated)
    /// Cumulative counts per kWaitBuckets bucket plus +Inf (Prometheus style), of
    /// every admission's wait.
    std::array<std::uint64_t, kWaitBuckets.size() + 1> waitBuckets{};
    double waitSecondsSum = 0;
    /// The longest-waiting boards first, at most 64 (for the dashboard).
    std::vector<WaitingBoard> queue;
};

/// Something worth one log line.
struct AdmissionNotice {
    enum class Kind { HoldingStarted, StormOver } kind = Kind::HoldingStarted;
    std::size_t waiting = 0;
    std::size_t admitted = 0;
    std::uint64_t throughput = 0;
    /// StormOver: boards that waited during the storm, the longest wait, how long
    /// boards were held.
    std::uint64_t boardsHeld = 0;
    SteadyClock::duration longestWait{};
    SteadyClock::duration duration{};
};

/// File content bytes sent to one IPv4 address (host order).
struct Delivery {
    std::uint32_t address = 0;
    std::uint64_t bytes = 0;
    /// The fastest this board can take its files (bytes/s, from its shortest round
    /// trip: lockstep TFTP sends one window per round trip); 0 = not measured.
    std::uint64_t ceiling = 0;
};

/// What the servers see of admission (the DHCP responder, the TFTP engine): the app
/// implements it over one AdmissionController shared by every server, under a lock.
class AdmissionGate {
public:
    virtual ~AdmissionGate() = default;
    virtual AdmitResult request(std::string_view board, SteadyClock::time_point now,
                                std::optional<std::uint32_t> address) = 0;
    virtual void bindAddress(std::string_view board, std::uint32_t address) = 0;
    /// What the file servers sent in one turn of their loop.
    virtual void onDelivered(std::span<const Delivery> deliveries, SteadyClock::time_point now) = 0;
    /// Runs the controller's tick() and returns the boards it released for which
    /// @p mine is true (the caller holds their DISCOVER; with a responder per
    /// interface, each takes its own, and the others stay for them).
    virtual std::vector<std::string> takeReleased(
        SteadyClock::time_point now, const std::function<bool(std::string_view)>& mine) = 0;
    [[nodiscard]] virtual std::optional<std::size_t> positionOf(std::string_view board) = 0;
    [[nodiscard]] virtual std::optional<SteadyClock::duration> waitOf(std::string_view board) = 0;
};

class AdmissionController {
public:
    explicit AdmissionController(AdmissionConfig config);

    /// A board asks to boot (a DHCP DISCOVER; with `--dhcp off` its first RRQ, with
    /// @p address set). Admitted boards stay admitted until they finish or vanish.
    AdmitResult request(std::string_view board, SteadyClock::time_point now,
                        std::optional<std::uint32_t> address = std::nullopt);
    /// The board's address is known (full DHCP ACK): its traffic is counted to it.
    void bindAddress(std::string_view board, std::uint32_t address);
    /// @p bytes of file content were sent to @p address, which can take at most
    /// @p ceiling bytes/s (Delivery::ceiling; 0 = not measured).
    void onDelivered(std::uint32_t address, std::uint64_t bytes, SteadyClock::time_point now,
                     std::uint64_t ceiling = 0);
    /// Windows, expiry, and the queue's head; call a few times a second.
    void tick(SteadyClock::time_point now);
    /// Boards admitted from the queue since the last call (not those admitted by
    /// their own request), in admission order: their held DISCOVERs get answered now.
    std::vector<std::string> takeReleased();
    std::vector<AdmissionNotice> takeNotices();
    /// Seeds the plan estimate (the boot tree's files) until boards have finished.
    void setInitialPlanBytes(std::uint64_t bytes);

    [[nodiscard]] bool isAdmitted(std::string_view board) const;
    /// How long @p board waited before its admission (0 if it did not), while admitted.
    [[nodiscard]] std::optional<SteadyClock::duration> waitOf(std::string_view board) const;
    /// Boards ahead of @p board in the queue (approximate after removals), if waiting.
    [[nodiscard]] std::optional<std::size_t> positionOf(std::string_view board) const;
    [[nodiscard]] AdmissionSnapshot snapshot(SteadyClock::time_point now) const;
    [[nodiscard]] std::size_t waiting() const { return queue_.size(); }
    [[nodiscard]] std::size_t admitted() const { return boards_.size(); }
    [[nodiscard]] const AdmissionConfig& config() const { return config_; }

private:
    struct Waiting {
        std::string board;
        std::optional<std::uint32_t> address;
        SteadyClock::time_point since{};
        SteadyClock::time_point lastSeen{};
        std::uint64_t sequence = 0;
    };
    struct Board {
        SteadyClock::time_point admittedAt{};
        SteadyClock::time_point lastTraffic{};
        SteadyClock::duration waited{};
        std::uint64_t delivered = 0;
        std::optional<std::uint32_t> address;
        bool started = false;
        std::uint64_t ceiling = 0;  ///< bytes/s it can take (its fastest round trip); 0 unknown
    };
    /// What the admitted boards have committed of the horizon's budget.
    struct Commitment {
        std::uint64_t work = 0;      ///< bytes, capped by ceilings while the pipe is not full
        std::uint64_t uncapped = 0;  ///< bytes, the plain rule (for the hard horizon)
        std::uint64_t newcomer = 0;  ///< what one more board would add to `work`
        bool capped = false;         ///< some board's work was capped by its ceiling
    };
    using Queue = std::list<Waiting>;

    void rollWindow(SteadyClock::time_point now);
    void expire(SteadyClock::time_point now);
    void admitFromQueue(SteadyClock::time_point now, std::string_view self);
    void admit(const Waiting& w, SteadyClock::time_point now);
    void bind(const std::string& board, Board& b, std::uint32_t address);
    void finish(std::unordered_map<std::string, Board>::iterator it);
    void requeueNoShow(const std::string& board, const Board& b);
    [[nodiscard]] std::uint64_t effectiveThroughput() const;
    [[nodiscard]] std::uint64_t outstanding() const;
    [[nodiscard]] Commitment commitment(std::uint64_t plan) const;
    [[nodiscard]] std::uint64_t medianCeiling() const;
    void probePipe();
    [[nodiscard]] std::uint64_t budget(std::chrono::milliseconds horizon) const;
    [[nodiscard]] std::uint64_t planBytes() const;
    void noteWait(SteadyClock::duration waited);

    AdmissionConfig config_;
    Queue queue_;
    std::unordered_map<std::string, Queue::iterator> waitingIndex_;
    std::unordered_map<std::string, Board> boards_;
    std::unordered_map<std::uint32_t, std::string> byAddress_;
    /// Admitted boards without a known address, oldest first: in proxy mode the
    /// address comes from another server, so the first unknown address that fetches
    /// is taken to be the board admitted longest ago (stale names are skipped).
    std::deque<std::string> unbound_;
    std::vector<std::string> released_;
    std::vector<AdmissionNotice> notices_;
    std::uint64_t nextSequence_ = 0;

    // Throughput.
    SteadyClock::time_point windowStart_{};
    std::uint64_t windowBytes_ = 0;
    double throughput_ = 0;  ///< bytes/s, smoothed
    // Full-pipe detection (as TCP BBR's: the throughput stopped growing while boards
    // were waiting), see commitment().
    bool pipeFull_ = false;
    double probeBest_ = 0;       ///< best throughput of the current growth run
    int stallWindows_ = 0;       ///< gate-limited windows without kProbeGrowth
    double fullThroughput_ = 0;  ///< the throughput at which the pipe was found full

    // Plan estimate.
    double learnedPlan_ = 0;
    std::uint64_t planSamples_ = 0;

    // Expiry runs at most every window.
    SteadyClock::time_point nextExpire_{};

    // Storm bookkeeping (notices).
    bool holding_ = false;
    SteadyClock::time_point holdingSince_{};
    SteadyClock::time_point queueEmptySince_{};
    std::uint64_t stormHeld_ = 0;
    SteadyClock::duration stormLongestWait_{};

    AdmissionSnapshot totals_;  ///< the counters and the histogram
    /// Admissions per second of the last kRateSeconds seconds (a ring by second).
    static constexpr std::size_t kRateSeconds = 10;
    std::array<std::uint32_t, kRateSeconds> perSecond_{};
    std::int64_t rateSecond_ = 0;  ///< the second perSecond_'s newest slot counts
    void countAdmission(SteadyClock::time_point now);
    [[nodiscard]] double admissionRate(SteadyClock::time_point now) const;
};

}  // namespace pinet::core::boot
