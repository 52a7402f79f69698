#include "app/serve/rollout_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/file.h"

namespace pinet::app::serve {

namespace ce = core::eeprom;

namespace {

class OwnedBytes final : public core::tftp::FileContent {
public:
    explicit OwnedBytes(std::vector<std::uint8_t> b) : bytes_(std::move(b)) {}
    [[nodiscard]] std::span<const std::uint8_t> bytes() const override { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
};

// Pending overlay opens kept at most: a board's request without a record (a lost
// transfer) must not grow the table for ever; far above one rollout's boards x 2 files.
constexpr std::size_t kMaxOpened = 65536;

std::int64_t toMs(const std::optional<ce::WallTime>& t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}
std::optional<ce::WallTime> fromMs(const std::optional<std::int64_t>& ms) {
    if (!ms) {
        return std::nullopt;
    }
    return ce::WallTime(std::chrono::milliseconds(*ms));
}

std::string leafOf(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::unique_ptr<RolloutService> RolloutService::open(const std::filesystem::path& stateDir) {
    auto store = io::RolloutStore::open(stateDir);
    if (!store) {
        spdlog::warn("ROLLOUTS_UNAVAILABLE error={}", store.error().message);
        return nullptr;
    }
    return std::make_unique<RolloutService>(std::move(*store));
}

std::shared_ptr<const core::tftp::FileContent> RolloutService::open(std::string_view serial,
                                                                    std::string_view name) {
    if (name != "pieeprom.sig" && name != "pieeprom.upd") {
        return nullptr;
    }
    std::lock_guard lock(mutex_);
    if (!rollout_ || !rollout_->offers(serial)) {
        return nullptr;
    }
    if (opened_.size() < kMaxOpened) {
        ++opened_[fmt::format("{}/{}", serial, name)];
    }
    return name == "pieeprom.sig" ? sig_ : update_;
}

std::optional<std::string> RolloutService::httpDir(std::string_view serial, std::string_view name) {
    if (!open(serial, name)) {
        return std::nullopt;
    }
    std::lock_guard lock(mutex_);
    if (!row_) {
        return std::nullopt;
    }
    return store_.filesDir(row_->name).string();
}

void RolloutService::onEvent(const core::BootEvent& event) {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(mutex_);
    if (!rollout_) {
        return;
    }
    if (const auto* d = std::get_if<core::DhcpEvent>(&event)) {
        if (d->kind == core::DhcpEvent::Kind::Discover && d->serial) {
            rollout_->onBoot(*d->serial, now);
        }
        return;
    }
    const auto& r = std::get<core::TransferRecord>(event);
    if (!r.serial || rollout_->board(*r.serial) == nullptr) {
        return;
    }
    const std::string name = leafOf(r.requestedPath);
    if (name == "pieeprom.sig" || name == "pieeprom.upd") {
        auto it = opened_.find(*r.serial + "/" + name);
        if (it == opened_.end()) {
            return;  // the tree's file (or none), not the rollout's
        }
        if (--it->second == 0) {
            opened_.erase(it);
        }
        if (r.result != core::TransferRecord::Result::Ok) {
            return;
        }
        if (name == "pieeprom.sig") {
            rollout_->onSigServed(*r.serial, now);
        } else {
            ++updatesServed_;
            rollout_->onUpdateServed(*r.serial, now);
            spdlog::info("ROLLOUT_UPDATE_SERVED rollout={} serial={}", rollout_->plan().name,
                         *r.serial);
        }
        return;
    }
    if (r.result == core::TransferRecord::Result::Ok) {
        rollout_->onOtherFile(*r.serial, name, now);
    }
}

void RolloutService::load(const io::RolloutRow& row) {
    const auto dir = store_.filesDir(row.name);
    auto upd = io::readFile(dir / "pieeprom.upd");
    auto sig = io::readFile(dir / "pieeprom.sig");
    if (!upd || !sig) {
        spdlog::warn("ROLLOUT_FILES_MISSING rollout={} error={}", row.name,
                     (!upd ? upd.error() : sig.error()).message);
        rollout_.reset();
        row_.reset();
        return;
    }
    auto boards = store_.boards(row.name);
    if (!boards) {
        spdlog::warn("ROLLOUT_READ_FAILED rollout={} error={}", row.name, boards.error().message);
        return;
    }
    ce::RolloutPlan plan;
    plan.name = row.name;
    plan.sigTimestamp = static_cast<std::uint64_t>(row.sigTimestamp);
    plan.wavePercent = static_cast<int>(row.wavePercent);
    plan.returnTimeout = std::chrono::seconds(row.returnTimeout);
    std::vector<ce::BoardTrack> tracks;
    for (const auto& b : *boards) {
        plan.boards.push_back(b.serial);
        ce::BoardTrack t;
        t.serial = b.serial;
        t.wave = static_cast<int>(b.wave);
        t.phase = ce::parseBoardPhase(b.phase).value_or(ce::BoardPhase::Waiting);
        if (b.offeredTs) {
            t.offeredTs = static_cast<std::uint64_t>(*b.offeredTs);
        }
        t.sigFetches = static_cast<int>(b.sigFetches);
        t.updateFetches = static_cast<int>(b.updateFetches);
        t.fetchedAt = fromMs(b.fetchedAtMs);
        t.returnedAt = fromMs(b.returnedAtMs);
        t.detail = b.detail;
        t.excused = b.excused;
        tracks.push_back(std::move(t));
    }
    rollout_.emplace(std::move(plan),
                     ce::parseRolloutState(row.state).value_or(ce::RolloutState::Created),
                     static_cast<int>(row.wave), row.reason, std::move(tracks));
    sig_ = std::make_shared<OwnedBytes>(std::move(*sig));
    update_ = std::make_shared<OwnedBytes>(std::move(*upd));
    row_ = row;
    savedVersion_ = rollout_->version();
    opened_.clear();
    spdlog::info("ROLLOUT_LOADED rollout={} state={} boards={} ts={}", row.name, row.state,
                 rollout_->boards().size(), row.sigTimestamp);
}

void RolloutService::save() {
    std::vector<io::RolloutBoardRow> rows;
    for (const auto& b : rollout_->boards()) {
        io::RolloutBoardRow r;
        r.serial = b.serial;
        r.wave = b.wave;
        r.phase = ce::toString(b.phase);
        if (b.offeredTs) {
            r.offeredTs = static_cast<std::int64_t>(*b.offeredTs);
        }
        r.sigFetches = b.sigFetches;
        r.updateFetches = b.updateFetches;
        if (b.fetchedAt) {
            r.fetchedAtMs = toMs(b.fetchedAt);
        }
        if (b.returnedAt) {
            r.returnedAtMs = toMs(b.returnedAt);
        }
        r.detail = b.detail;
        r.excused = b.excused;
        rows.push_back(std::move(r));
    }
    const std::string state = ce::toString(rollout_->state());
    if (auto w = store_.saveProgress(row_->name, state, rollout_->wave(), rollout_->reason(),
                                     row_->appliedSeq, rows);
        !w) {
        spdlog::warn("ROLLOUT_SAVE_FAILED rollout={} error={}", row_->name, w.error().message);
        return;
    }
    if (row_->state != state || row_->wave != rollout_->wave()) {
        spdlog::info("ROLLOUT_STATE rollout={} state={} wave={}/{} reason=\"{}\"", row_->name,
                     state, rollout_->wave() + 1, rollout_->waves(), rollout_->reason());
    }
    row_->state = state;
    row_->wave = rollout_->wave();
    row_->reason = rollout_->reason();
    savedVersion_ = rollout_->version();
    // Our own write bumped the generation by one: no reload for it (a CLI write in
    // between makes it more than one, and is then read on the next poll).
    if (auto g = store_.generation(); g && *g == seenGeneration_ + 1) {
        seenGeneration_ = *g;
    }
}

void RolloutService::poll(ce::WallTime now) {
    std::lock_guard lock(mutex_);
    auto gen = store_.generation();
    if (gen && *gen != seenGeneration_) {
        seenGeneration_ = *gen;
        auto rows = store_.list();
        if (rows) {
            // The rollout to follow: one with a command not yet applied, else the one
            // running, paused or stopped (the CLI allows one at a time).
            const io::RolloutRow* pick = nullptr;
            for (const auto& r : *rows) {
                if (r.commandSeq > r.appliedSeq) {
                    pick = &r;
                }
            }
            for (const auto& r : *rows) {
                if (pick == nullptr &&
                    (r.state == "running" || r.state == "paused" || r.state == "stopped")) {
                    pick = &r;
                }
            }
            if (pick != nullptr && (!row_ || row_->name != pick->name)) {
                load(*pick);
            }
            if (pick != nullptr && row_ && rollout_ && pick->commandSeq > row_->appliedSeq) {
                const std::string& cmd = pick->command;
                bool ok = false;
                if (cmd == "start") {
                    ok = rollout_->start(now);
                } else if (cmd == "pause") {
                    ok = rollout_->pause(now);
                } else if (cmd == "resume") {
                    ok = rollout_->resume(now);
                } else if (cmd == "abort") {
                    ok = rollout_->abort(now);
                }
                spdlog::info("ROLLOUT_COMMAND rollout={} command={} applied={}", row_->name, cmd,
                             ok);
                row_->appliedSeq = pick->commandSeq;
                row_->command = cmd;
                save();
            }
        }
    }
    if (rollout_ && row_) {
        rollout_->tick(now);
        if (rollout_->version() != savedVersion_) {
            save();
        }
    }
}

std::map<std::string, nlohmann::json> RolloutService::clientsEeprom() {
    std::lock_guard lock(mutex_);
    std::map<std::string, nlohmann::json> out;
    if (!rollout_) {
        return out;
    }
    for (const auto& b : rollout_->boards()) {
        const auto gone = b.goneSeconds();
        out[b.serial] = {
            {"rollout", rollout_->plan().name},
            {"rollout_state", ce::toString(rollout_->state())},
            {"state", ce::toString(b.phase)},
            {"wave", b.wave + 1},
            {"offered_ts", b.offeredTs ? nlohmann::json(*b.offeredTs) : nlohmann::json()},
            {"target_ts", rollout_->plan().sigTimestamp},
            {"sig_fetches", b.sigFetches},
            {"update_fetches", b.updateFetches},
            {"gone_s", gone ? nlohmann::json(*gone) : nlohmann::json()},
            {"detail", b.detail}};
    }
    return out;
}

void RolloutService::exportMetrics(core::metrics::Registry& m) {
    std::lock_guard lock(mutex_);
    if (!rollout_) {
        return;
    }
    const std::string name = rollout_->plan().name;
    const auto counts = rollout_->counts();
    for (auto p : {ce::BoardPhase::Waiting, ce::BoardPhase::Pending, ce::BoardPhase::Offered,
                   ce::BoardPhase::Fetched, ce::BoardPhase::Returned, ce::BoardPhase::UpToDate,
                   ce::BoardPhase::Failed}) {
        const auto it = counts.find(p);
        m.set("pinetboot_eeprom_rollout_boards", {{"rollout", name}, {"phase", ce::toString(p)}},
              it == counts.end() ? 0.0 : static_cast<double>(it->second));
    }
    for (auto s : {ce::RolloutState::Created, ce::RolloutState::Running, ce::RolloutState::Paused,
                   ce::RolloutState::Stopped, ce::RolloutState::Aborted, ce::RolloutState::Done}) {
        m.set("pinetboot_eeprom_rollout_state", {{"rollout", name}, {"state", ce::toString(s)}},
              rollout_->state() == s ? 1.0 : 0.0);
    }
    m.set("pinetboot_eeprom_rollout_wave", {{"rollout", name}},
          static_cast<double>(rollout_->wave() + 1));
}

std::uint64_t RolloutService::updatesServed() {
    std::lock_guard lock(mutex_);
    return updatesServed_;
}

}  // namespace pinet::app::serve
