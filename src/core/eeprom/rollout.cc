#include "core/eeprom/rollout.h"

#include <algorithm>

#include <fmt/format.h>

namespace pinet::core::eeprom {

namespace {
// Named in the automatic stop's reason; the rest are counted ("and N more").
constexpr std::size_t kNamedInReason = 8;

/// Files a bootloader fetches before pieeprom.sig in one boot (netboot-protocol.md §4.3
/// steps 2-3, §4.4): seeing them says nothing about whether the update was taken.
bool precedesSelfUpdate(std::string_view name) {
    return name == "config.txt" || name == "vl805.sig" || name == "vl805.bin";
}
}  // namespace

const char* toString(BoardPhase p) {
    switch (p) {
        case BoardPhase::Waiting: return "waiting";
        case BoardPhase::Pending: return "pending";
        case BoardPhase::Offered: return "offered";
        case BoardPhase::Fetched: return "fetched";
        case BoardPhase::Returned: return "returned";
        case BoardPhase::UpToDate: return "up_to_date";
        case BoardPhase::Failed: return "failed";
        case BoardPhase::NotReached: return "not_reached";
    }
    return "?";
}

const char* toString(RolloutState s) {
    switch (s) {
        case RolloutState::Created: return "created";
        case RolloutState::Running: return "running";
        case RolloutState::Paused: return "paused";
        case RolloutState::Stopped: return "stopped";
        case RolloutState::Aborted: return "aborted";
        case RolloutState::Done: return "done";
    }
    return "?";
}

std::optional<BoardPhase> parseBoardPhase(std::string_view text) {
    for (auto p : kAllBoardPhases) {
        if (text == toString(p)) {
            return p;
        }
    }
    return std::nullopt;
}

std::optional<RolloutState> parseRolloutState(std::string_view text) {
    for (auto s : {RolloutState::Created, RolloutState::Running, RolloutState::Paused,
                   RolloutState::Stopped, RolloutState::Aborted, RolloutState::Done}) {
        if (text == toString(s)) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<double> BoardTrack::goneSeconds() const {
    if (!fetchedAt || !returnedAt) {
        return std::nullopt;
    }
    return std::chrono::duration<double>(*returnedAt - *fetchedAt).count();
}

int waveCount(std::size_t total, int percent) {
    if (total == 0) {
        return 0;
    }
    const std::size_t pct = static_cast<std::size_t>(std::clamp(percent, 1, 100));
    const std::size_t perWave = std::max<std::size_t>(1, (total * pct + 99) / 100);
    return static_cast<int>((total + perWave - 1) / perWave);
}

int waveOf(std::size_t index, std::size_t total, int percent) {
    const std::size_t pct = static_cast<std::size_t>(std::clamp(percent, 1, 100));
    const std::size_t perWave = std::max<std::size_t>(1, (total * pct + 99) / 100);
    return static_cast<int>(index / perWave);
}

Rollout::Rollout(RolloutPlan plan) : plan_(std::move(plan)) {
    for (std::size_t i = 0; i < plan_.boards.size(); ++i) {
        BoardTrack b;
        b.serial = plan_.boards[i];
        b.wave = waveOf(i, plan_.boards.size(), plan_.wavePercent);
        index_.emplace(b.serial, boards_.size());
        boards_.push_back(std::move(b));
    }
}

Rollout::Rollout(RolloutPlan plan, RolloutState state, int wave, std::string reason,
                 std::vector<BoardTrack> boards)
    : plan_(std::move(plan)),
      state_(state),
      wave_(wave),
      reason_(std::move(reason)),
      boards_(std::move(boards)) {
    for (std::size_t i = 0; i < boards_.size(); ++i) {
        index_.emplace(boards_[i].serial, i);
    }
}

BoardTrack* Rollout::find(std::string_view serial) {
    auto it = index_.find(serial);
    return it == index_.end() ? nullptr : &boards_[it->second];
}

const BoardTrack* Rollout::board(std::string_view serial) const {
    auto it = index_.find(serial);
    return it == index_.end() ? nullptr : &boards_[it->second];
}

std::map<BoardPhase, std::size_t> Rollout::counts() const {
    std::map<BoardPhase, std::size_t> out;
    for (const auto& b : boards_) {
        ++out[b.phase];
    }
    return out;
}

void Rollout::setPhase(BoardTrack& b, BoardPhase p, WallTime now) {
    b.phase = p;
    b.since = now;
    touch();
}

void Rollout::openWave(int wave, WallTime now) {
    wave_ = wave;
    for (auto& b : boards_) {
        if (b.wave == wave && b.phase == BoardPhase::Waiting) {
            setPhase(b, BoardPhase::Pending, now);
            b.seenAt.reset();
        }
    }
}

bool Rollout::start(WallTime now) {
    if (state_ != RolloutState::Created) {
        return false;
    }
    if (boards_.empty()) {
        state_ = RolloutState::Done;
        reason_ = "no boards";
        touch();
        return true;
    }
    state_ = RolloutState::Running;
    openWave(0, now);
    touch();
    return true;
}

bool Rollout::pause(WallTime now) {
    (void)now;
    if (state_ != RolloutState::Running) {
        return false;
    }
    state_ = RolloutState::Paused;
    reason_ = "paused";
    touch();
    return true;
}

bool Rollout::resume(WallTime now) {
    if (state_ != RolloutState::Paused && state_ != RolloutState::Stopped) {
        return false;
    }
    for (auto& b : boards_) {
        if (b.wave > wave_) {
            continue;
        }
        if (b.phase == BoardPhase::Failed || b.phase == BoardPhase::NotReached) {
            b.excused = true;
        }
        if (b.phase == BoardPhase::Pending) {
            b.since = now;  // nothing was offered while paused: its deadline starts again
        }
    }
    state_ = RolloutState::Running;
    reason_.clear();
    touch();
    tick(now);
    return true;
}

bool Rollout::abort(WallTime now) {
    (void)now;
    if (state_ == RolloutState::Aborted || state_ == RolloutState::Done) {
        return false;
    }
    state_ = RolloutState::Aborted;
    reason_ = "aborted";
    touch();
    return true;
}

bool Rollout::offers(std::string_view serial) const {
    if (state_ != RolloutState::Running) {
        return false;
    }
    const BoardTrack* b = board(serial);
    return b != nullptr && b->wave <= wave_ && b->phase != BoardPhase::Failed &&
           b->phase != BoardPhase::Waiting;
}

void Rollout::fail(BoardTrack& b, std::string why) {
    b.phase = BoardPhase::Failed;
    b.detail = std::move(why);
    touch();
}

// Events are taken in every state but Created: a board that fetched the update before
// a pause still comes back, and its outcome still counts.
void Rollout::onBoot(std::string_view serial, WallTime now) {
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created) {
        return;
    }
    b->sigThisBoot = false;
    if (b->phase != BoardPhase::Waiting) {
        b->seenAt = now;
    }
    if (b->phase == BoardPhase::Fetched) {
        b->returnedAt = now;
        setPhase(*b, BoardPhase::Returned, now);
    }
}

void Rollout::onSigServed(std::string_view serial, WallTime now) {
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created) {
        return;
    }
    ++b->sigFetches;
    b->offeredTs = plan_.sigTimestamp;
    b->seenAt = now;
    if (b->phase == BoardPhase::Fetched) {
        // No DISCOVER seen (serve without DHCP): the .sig of the next boot says it is back.
        b->returnedAt = now;
        setPhase(*b, BoardPhase::Returned, now);
    }
    if (b->phase == BoardPhase::Pending || b->phase == BoardPhase::NotReached) {
        b->detail.clear();
        setPhase(*b, BoardPhase::Offered, now);
    }
    b->sigThisBoot = true;
    touch();
}

void Rollout::onUpdateServed(std::string_view serial, WallTime now) {
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created) {
        return;
    }
    ++b->updateFetches;
    b->seenAt = now;
    touch();
    switch (b->phase) {
        case BoardPhase::Pending:
        case BoardPhase::Offered:
        case BoardPhase::NotReached:
            b->fetchedAt = now;
            b->returnedAt.reset();
            b->detail.clear();
            setPhase(*b, BoardPhase::Fetched, now);
            break;
        case BoardPhase::Returned:
        case BoardPhase::UpToDate:
            fail(*b, fmt::format("fetched pieeprom.upd again after it rebooted: the update did "
                                 "not apply ({} fetches)",
                                 b->updateFetches));
            break;
        case BoardPhase::Fetched:
            fail(*b, "fetched pieeprom.upd again without booting in between");
            break;
        case BoardPhase::Waiting:
        case BoardPhase::Failed: break;
    }
}

void Rollout::onOtherFile(std::string_view serial, std::string_view name, WallTime now) {
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created) {
        return;
    }
    if (b->phase != BoardPhase::Waiting) {
        b->seenAt = now;
    }
    if (precedesSelfUpdate(name)) {
        return;
    }
    switch (b->phase) {
        case BoardPhase::Offered:
            b->detail = "already ran this timestamp (fetched only pieeprom.sig)";
            setPhase(*b, BoardPhase::UpToDate, now);
            break;
        case BoardPhase::Fetched:
            fail(*b, fmt::format("booted on after fetching pieeprom.upd ({}): it refused the "
                                 "update (hash or signature) and kept its old EEPROM",
                                 name));
            break;
        case BoardPhase::Returned:
            if (b->sigThisBoot) {
                b->detail = "rebooted, fetched only pieeprom.sig: up to date";
                setPhase(*b, BoardPhase::UpToDate, now);
            }
            break;
        case BoardPhase::Pending:
            // Past the self-update step (spec §4.3 step 3) without asking for the .sig:
            // this boot did not look for an update at all.
            b->detail = fmt::format(
                "booted ({}) without asking for pieeprom.sig: self-update is off on this "
                "board (ENABLE_SELF_UPDATE=0 or FREEZE_VERSION=1 in its EEPROM, "
                "bootloader_update=0 in its config.txt) or its bootloader predates it",
                name);
            setPhase(*b, BoardPhase::NotReached, now);
            break;
        case BoardPhase::Waiting:
        case BoardPhase::UpToDate:
        case BoardPhase::Failed:
        case BoardPhase::NotReached: break;
    }
}

void Rollout::applyDeadlines(WallTime now) {
    const auto limit = plan_.returnTimeout;
    const long long secs = limit.count();
    for (auto& b : boards_) {
        if (b.wave > wave_) {
            continue;
        }
        const bool inFlight = b.phase == BoardPhase::Pending || b.phase == BoardPhase::Offered ||
                              b.phase == BoardPhase::Fetched || b.phase == BoardPhase::Returned;
        if (!inFlight) {
            continue;
        }
        if (!b.since) {
            // Rows from before the deadline existed: the times they have, else from now.
            b.since = b.phase == BoardPhase::Fetched && b.fetchedAt     ? *b.fetchedAt
                      : b.phase == BoardPhase::Returned && b.returnedAt ? *b.returnedAt
                                                                        : now;
            touch();
        }
        if (now - *b.since <= limit) {
            continue;
        }
        switch (b.phase) {
            case BoardPhase::Offered:
                fail(b, fmt::format("lost: fetched pieeprom.sig, then nothing for {} s (no "
                                    "pieeprom.upd, no other file)",
                                    secs));
                break;
            case BoardPhase::Fetched:
                fail(b, fmt::format("lost: did not come back within {} s of fetching "
                                    "pieeprom.upd",
                                    secs));
                break;
            case BoardPhase::Returned:
                fail(b, fmt::format("lost: came back after the flash but was not up to date "
                                    "within {} s (no pieeprom.sig and boot files)",
                                    secs));
                break;
            case BoardPhase::Pending:
                // Only a running rollout offers anything: a pause does not count (resume
                // restarts the wait).
                if (state_ == RolloutState::Running) {
                    b.detail = b.seenAt ? fmt::format(
                                              "seen, but did not ask for pieeprom.sig within "
                                              "{} s of its wave opening",
                                              secs)
                                        : fmt::format(
                                              "not seen within {} s of its wave opening "
                                              "(powered off, or not netbooting from this "
                                              "server)",
                                              secs);
                    setPhase(b, BoardPhase::NotReached, now);
                }
                break;
            case BoardPhase::Waiting:
            case BoardPhase::UpToDate:
            case BoardPhase::Failed:
            case BoardPhase::NotReached: break;
        }
    }
}

void Rollout::stop(std::string why) {
    state_ = RolloutState::Stopped;
    reason_ = std::move(why);
    touch();
}

namespace {
std::string nameBoards(const std::vector<const BoardTrack*>& boards, bool withDetail) {
    std::string names;
    for (std::size_t i = 0; i < boards.size() && i < kNamedInReason; ++i) {
        names += i == 0 ? "" : "; ";
        names += withDetail ? fmt::format("{} ({})", boards[i]->serial, boards[i]->detail)
                            : boards[i]->serial;
    }
    if (boards.size() > kNamedInReason) {
        names += fmt::format("; and {} more", boards.size() - kNamedInReason);
    }
    return names;
}
}  // namespace

void Rollout::tick(WallTime now) {
    if (state_ == RolloutState::Created || state_ == RolloutState::Aborted ||
        state_ == RolloutState::Done) {
        return;
    }
    applyDeadlines(now);
    if (state_ != RolloutState::Running) {
        return;
    }
    std::vector<const BoardTrack*> failed;
    std::vector<const BoardTrack*> notReached;  // not excused, any open wave
    bool waveDone = true;
    std::size_t upToDateInWave = 0;
    for (const auto& b : boards_) {
        if (b.wave > wave_) {
            continue;
        }
        if (b.phase == BoardPhase::Failed) {
            if (!b.excused) {
                failed.push_back(&b);
            }
        } else if (b.phase == BoardPhase::NotReached) {
            if (!b.excused) {
                notReached.push_back(&b);
            }
        } else if (b.phase == BoardPhase::UpToDate) {
            upToDateInWave += b.wave == wave_ ? 1 : 0;
        } else {
            waveDone = false;
        }
    }
    if (!failed.empty()) {
        stop(fmt::format("stopped in wave {} of {}: {} board{} failed: {}", wave_ + 1, waves(),
                         failed.size(), failed.size() == 1 ? "" : "s", nameBoards(failed, true)));
        return;
    }
    if (!waveDone) {
        return;
    }
    if (upToDateInWave == 0 && !notReached.empty()) {
        stop(
            fmt::format("stopped in wave {} of {}: no board of the wave came back up to date, "
                        "so there is no evidence the update is good; {} not reached: {}; "
                        "resume to go on without it",
                        wave_ + 1, waves(), notReached.size(), nameBoards(notReached, true)));
        return;
    }
    if (wave_ + 1 < waves()) {
        openWave(wave_ + 1, now);
        touch();
        return;
    }
    state_ = RolloutState::Done;
    std::vector<const BoardTrack*> missed;
    for (const auto& b : boards_) {
        if (b.phase == BoardPhase::NotReached) {
            missed.push_back(&b);
        }
    }
    reason_ = missed.empty() ? fmt::format("every board up to date ({} waves)", waves())
                             : fmt::format(
                                   "done ({} waves): {} board{} not reached, offered nothing more: "
                                   "{}",
                                   waves(), missed.size(), missed.size() == 1 ? "" : "s",
                                   nameBoards(missed, false));
    touch();
}

}  // namespace pinet::core::eeprom
