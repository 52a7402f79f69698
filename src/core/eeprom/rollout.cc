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
    for (auto p :
         {BoardPhase::Waiting, BoardPhase::Pending, BoardPhase::Offered, BoardPhase::Fetched,
          BoardPhase::Returned, BoardPhase::UpToDate, BoardPhase::Failed}) {
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

void Rollout::openWave(int wave) {
    wave_ = wave;
    for (auto& b : boards_) {
        if (b.wave == wave && b.phase == BoardPhase::Waiting) {
            b.phase = BoardPhase::Pending;
        }
    }
}

bool Rollout::start(WallTime now) {
    (void)now;
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
    openWave(0);
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
        if (b.phase == BoardPhase::Failed) {
            b.excused = true;
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
    if (b->phase == BoardPhase::Fetched) {
        b->phase = BoardPhase::Returned;
        b->returnedAt = now;
        touch();
    }
}

void Rollout::onSigServed(std::string_view serial, WallTime now) {
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created) {
        return;
    }
    ++b->sigFetches;
    b->offeredTs = plan_.sigTimestamp;
    if (b->phase == BoardPhase::Fetched) {
        // No DISCOVER seen (serve without DHCP): the .sig of the next boot says it is back.
        b->phase = BoardPhase::Returned;
        b->returnedAt = now;
    }
    if (b->phase == BoardPhase::Pending) {
        b->phase = BoardPhase::Offered;
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
    touch();
    switch (b->phase) {
        case BoardPhase::Pending:
        case BoardPhase::Offered:
            b->phase = BoardPhase::Fetched;
            b->fetchedAt = now;
            b->returnedAt.reset();
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
    (void)now;
    BoardTrack* b = find(serial);
    if (b == nullptr || state_ == RolloutState::Created || precedesSelfUpdate(name)) {
        return;
    }
    switch (b->phase) {
        case BoardPhase::Offered:
            b->phase = BoardPhase::UpToDate;
            b->detail = "already ran this timestamp (fetched only pieeprom.sig)";
            touch();
            break;
        case BoardPhase::Fetched:
            fail(*b, fmt::format("booted on after fetching pieeprom.upd ({}): it refused the "
                                 "update (hash or signature) and kept its old EEPROM",
                                 name));
            break;
        case BoardPhase::Returned:
            if (b->sigThisBoot) {
                b->phase = BoardPhase::UpToDate;
                b->detail = "rebooted, fetched only pieeprom.sig: up to date";
                touch();
            }
            break;
        case BoardPhase::Waiting:
        case BoardPhase::Pending:
        case BoardPhase::UpToDate:
        case BoardPhase::Failed: break;
    }
}

void Rollout::tick(WallTime now) {
    if (state_ == RolloutState::Created || state_ == RolloutState::Aborted ||
        state_ == RolloutState::Done) {
        return;
    }
    for (auto& b : boards_) {
        if (b.phase == BoardPhase::Fetched && b.fetchedAt &&
            now - *b.fetchedAt > plan_.returnTimeout) {
            fail(b, fmt::format("did not come back within {} s of fetching pieeprom.upd",
                                plan_.returnTimeout.count()));
        }
    }
    if (state_ != RolloutState::Running) {
        return;
    }
    std::vector<const BoardTrack*> failed;
    bool waveDone = true;
    for (const auto& b : boards_) {
        if (b.wave > wave_) {
            continue;
        }
        if (b.phase == BoardPhase::Failed) {
            if (!b.excused) {
                failed.push_back(&b);
            }
        } else if (b.phase != BoardPhase::UpToDate) {
            waveDone = false;
        }
    }
    if (!failed.empty()) {
        std::string names;
        for (std::size_t i = 0; i < failed.size() && i < kNamedInReason; ++i) {
            names +=
                fmt::format("{}{} ({})", i == 0 ? "" : "; ", failed[i]->serial, failed[i]->detail);
        }
        if (failed.size() > kNamedInReason) {
            names += fmt::format("; and {} more", failed.size() - kNamedInReason);
        }
        state_ = RolloutState::Stopped;
        reason_ = fmt::format("stopped in wave {} of {}: {} board{} failed: {}", wave_ + 1, waves(),
                              failed.size(), failed.size() == 1 ? "" : "s", names);
        touch();
        return;
    }
    if (!waveDone) {
        return;
    }
    if (wave_ + 1 < waves()) {
        openWave(wave_ + 1);
        touch();
        return;
    }
    state_ = RolloutState::Done;
    reason_ = fmt::format("every board up to date ({} waves)", waves());
    touch();
}

}  // namespace pinet::core::eeprom
