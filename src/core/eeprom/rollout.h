#pragma once
// An EEPROM rollout: a bootloader update offered to a set of boards through their own
// self-update (pieeprom.sig / pieeprom.upd in the boot folder, netboot-protocol.md §4.3
// step 3), in waves, with every board's state read from what it does on the wire.
// Pure: the app feeds in what it saw (a bootloader DHCP DISCOVER, a file served whole)
// and the time (injected; wall clock, since rollouts outlive a serve process), and asks
// whom to offer the files to.
//
// A board's way through one rollout:
//
//   Waiting (its wave has not started) -> Pending (offered, nothing seen yet)
//   Pending -- .sig served --> Offered
//   Pending -- a file past the self-update step, no .sig --> NotReached (self-update is
//              off on that board, or its bootloader predates it)
//   Pending -- nothing for returnTimeout after its wave opened --> NotReached (powered
//              off, or not netbooting from this server)
//   Offered -- .upd served --> Fetched (gone: flashing and resetting)
//   Offered -- another file, no .upd --> UpToDate (it already ran this timestamp)
//   Offered -- nothing for returnTimeout --> Failed (lost while fetching the update)
//   Fetched -- a new boot (DISCOVER, or the .sig again) --> Returned (how long it was gone)
//   Fetched -- another file in the same boot --> Failed (it refused the update: bad
//              hash or signature, and booted on with its old EEPROM)
//   Fetched -- nothing for returnTimeout --> Failed (did not come back)
//   Returned -- .upd again --> Failed (the flash did not take: failed to apply)
//   Returned -- .sig, then another file --> UpToDate
//   Returned -- not up to date within returnTimeout --> Failed (came back, then lost)
//   NotReached -- .sig / .upd served later --> Offered / Fetched (still offered: a board
//              powered on late takes the update then)
//
// The rollout goes to the next wave when every board of the open waves is UpToDate or
// NotReached, and stops by itself, naming the boards, as soon as one of them failed
// (lost boards included): so a bad update costs one wave, not the rack. A NotReached
// board never took the update, so it says nothing about it: it does not hold a wave up
// past the deadline, but a wave in which no board at all came back up to date gives no
// evidence, and stops the rollout too (resume goes on without it).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pinet::core::eeprom {

using WallTime = std::chrono::system_clock::time_point;

enum class BoardPhase {
    Waiting,
    Pending,
    Offered,
    Fetched,
    Returned,
    UpToDate,
    Failed,
    NotReached
};

/// Every phase, in the order above (for metrics and counts).
inline constexpr BoardPhase kAllBoardPhases[] = {
    BoardPhase::Waiting,  BoardPhase::Pending,  BoardPhase::Offered, BoardPhase::Fetched,
    BoardPhase::Returned, BoardPhase::UpToDate, BoardPhase::Failed,  BoardPhase::NotReached};
enum class RolloutState { Created, Running, Paused, Stopped, Aborted, Done };

const char* toString(BoardPhase p);
const char* toString(RolloutState s);
std::optional<BoardPhase> parseBoardPhase(std::string_view text);
std::optional<RolloutState> parseRolloutState(std::string_view text);

struct BoardTrack {
    std::string serial;  ///< 8 lowercase hex digits
    int wave = 0;        ///< 0-based
    BoardPhase phase = BoardPhase::Waiting;
    std::optional<std::uint64_t> offeredTs;  ///< ts of the .sig it was served
    int sigFetches = 0;
    int updateFetches = 0;  ///< pieeprom.upd served whole
    std::optional<WallTime> fetchedAt;
    std::optional<WallTime> returnedAt;
    /// When it entered its phase (Pending: its wave opened; Offered: .sig served;
    /// Fetched: .upd served; Returned: back): the return deadline counts from here.
    std::optional<WallTime> since;
    /// The last time it was seen (a DISCOVER or a file) since its wave opened.
    std::optional<WallTime> seenAt;
    std::string detail;  ///< why it failed, or a note
    /// Within the boot after Returned: the .sig was served (so a further file means
    /// it did not want the update).
    bool sigThisBoot = false;
    /// A failure (or a wave without evidence) the operator resumed past: it no longer
    /// stops the rollout.
    bool excused = false;

    /// From pieeprom.upd served whole to the next boot, when it came back.
    [[nodiscard]] std::optional<double> goneSeconds() const;
};

/// RolloutPlan::returnTimeout's default (see there).
inline constexpr std::chrono::seconds kDefaultReturnTimeout{600};

struct RolloutPlan {
    std::string name;
    std::uint64_t sigTimestamp = 0;   ///< the ts: line of the offered pieeprom.sig
    std::vector<std::string> boards;  ///< serials, in wave order
    /// Boards per wave as a share of all boards, 1..100 (at least one board a wave).
    int wavePercent = 10;
    /// The per-board deadline: a board of an open wave must make its next step within
    /// this (be seen at all once its wave opened; fetch the update after the .sig; boot
    /// again after fetching it; be up to date after coming back), else it is lost
    /// (Failed, which stops the rollout) or, never having taken the update, NotReached.
    /// A flash and a reset take tens of seconds; 10 minutes leaves room for a slow link,
    /// a long BOOT_ORDER (SD and USB timeouts before the network) and 30 s TFTP retries.
    std::chrono::seconds returnTimeout{kDefaultReturnTimeout};
};

/// The wave of board @p index of @p total with waves of @p percent %.
int waveOf(std::size_t index, std::size_t total, int percent);
/// Number of waves for @p total boards.
int waveCount(std::size_t total, int percent);

class Rollout {
public:
    explicit Rollout(RolloutPlan plan);
    /// Restores a rollout from stored rows (the boards as they were saved).
    Rollout(RolloutPlan plan, RolloutState state, int wave, std::string reason,
            std::vector<BoardTrack> boards);

    // Commands. Each returns false (and changes nothing) when it does not apply.
    bool start(WallTime now);
    bool pause(WallTime now);
    /// Resumes a paused or automatically stopped rollout: the boards that failed stay
    /// failed and are offered nothing, but no longer stop it (excused).
    bool resume(WallTime now);
    bool abort(WallTime now);

    /// Whether @p serial is to be served the rollout's pieeprom.sig / pieeprom.upd now.
    [[nodiscard]] bool offers(std::string_view serial) const;

    // What the wire showed, for boards of this rollout (others are ignored).
    void onBoot(std::string_view serial, WallTime now);
    void onSigServed(std::string_view serial, WallTime now);
    void onUpdateServed(std::string_view serial, WallTime now);
    /// Another file served whole (size queries do not count). @p name is the request's
    /// file name without the prefix; the files a boot fetches before pieeprom.sig
    /// (config.txt, vl805.*: spec §4.3 steps 2-3) say nothing about the update.
    void onOtherFile(std::string_view serial, std::string_view name, WallTime now);
    /// Timeouts, wave completion, automatic stop.
    void tick(WallTime now);

    [[nodiscard]] const RolloutPlan& plan() const { return plan_; }
    [[nodiscard]] RolloutState state() const { return state_; }
    [[nodiscard]] int wave() const { return wave_; }
    [[nodiscard]] int waves() const { return waveCount(plan_.boards.size(), plan_.wavePercent); }
    [[nodiscard]] const std::string& reason() const { return reason_; }
    [[nodiscard]] const std::vector<BoardTrack>& boards() const { return boards_; }
    [[nodiscard]] const BoardTrack* board(std::string_view serial) const;
    [[nodiscard]] std::map<BoardPhase, std::size_t> counts() const;
    /// Bumped by every change, so that the app writes rows only when something moved.
    [[nodiscard]] std::uint64_t version() const { return version_; }

private:
    BoardTrack* find(std::string_view serial);
    void fail(BoardTrack& b, std::string why);
    void setPhase(BoardTrack& b, BoardPhase p, WallTime now);
    void openWave(int wave, WallTime now);
    void applyDeadlines(WallTime now);
    void stop(std::string why);
    void touch() { ++version_; }

    RolloutPlan plan_;
    RolloutState state_ = RolloutState::Created;
    int wave_ = 0;
    std::string reason_;
    std::vector<BoardTrack> boards_;
    std::map<std::string, std::size_t, std::less<>> index_;
    std::uint64_t version_ = 0;
};

}  // namespace pinet::core::eeprom
