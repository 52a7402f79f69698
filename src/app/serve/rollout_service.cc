#include "app/serve/rollout_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/file.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/netboot/ids.h"

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

/// "10.0.0.9:1234" -> 10.0.0.9; nullopt for IPv6 ("[..]:port") or anything else.
std::optional<std::uint32_t> ipOfAddr(const std::string& addr) {
    const auto colon = addr.rfind(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    return proto::dhcp::parseIp(std::string_view(addr).substr(0, colon));
}

/// The request's identity as the engine saw it, from its record.
core::tftp::OverlayClient clientOf(const core::TransferRecord& r) {
    core::tftp::OverlayClient who;
    who.serial = r.serial;
    who.mac = r.mac;
    who.ipv4 = ipOfAddr(r.clientAddr);
    return who;
}

}  // namespace

std::unique_ptr<RolloutService> RolloutService::open(const std::filesystem::path& stateDir,
                                                     Clock clock) {
    auto store = io::RolloutStore::open(stateDir);
    if (!store) {
        spdlog::warn("ROLLOUTS_UNAVAILABLE error={}", store.error().message);
        return nullptr;
    }
    return std::make_unique<RolloutService>(std::move(*store), std::move(clock));
}

std::optional<std::string> RolloutService::identify(const core::tftp::OverlayClient& who,
                                                    ce::WallTime now) const {
    if (!rollout_) {
        return std::nullopt;
    }
    if (who.serial) {
        return rollout_->board(*who.serial) != nullptr ? who.serial : std::nullopt;
    }
    if (who.mac) {
        const auto mac = proto::netboot::normalizeMac(*who.mac);
        if (!mac) {
            return std::nullopt;
        }
        for (const auto* table : {&registryMacs_, &seenMacs_}) {
            if (auto it = table->find(*mac);
                it != table->end() && rollout_->board(it->second) != nullptr) {
                return it->second;
            }
        }
        return std::nullopt;
    }
    if (who.ipv4) {
        if (auto it = addresses_.find(*who.ipv4); it != addresses_.end() &&
                                                  now - it->second.at <= kAddressBindingTtl &&
                                                  rollout_->board(it->second.serial) != nullptr) {
            return it->second.serial;
        }
    }
    return std::nullopt;
}

void RolloutService::bindAddress(std::uint32_t ip, const std::string& serial, ce::WallTime now) {
    if (!rollout_ || rollout_->board(serial) == nullptr) {
        return;
    }
    // Bounded by the rollout's boards (a board may hold two addresses within the TTL, a
    // few spare): drop the expired first, then refuse past it.
    const std::size_t cap = rollout_->boards().size() * 2 + 16;
    if (!addresses_.contains(ip) && addresses_.size() >= cap) {
        std::erase_if(addresses_,
                      [&](const auto& kv) { return now - kv.second.at > kAddressBindingTtl; });
        if (addresses_.size() >= cap) {
            return;
        }
    }
    addresses_[ip] = Binding{serial, now};
}

void RolloutService::setKnownClients(const std::vector<KnownClient>& clients) {
    std::map<std::string, std::string> macs;
    for (const auto& c : clients) {
        auto mac = proto::netboot::normalizeMac(c.mac);
        auto serial = proto::netboot::normalizeSerial(c.serial);
        if (mac && serial) {
            macs[*mac] = *serial;
        }
    }
    std::lock_guard lock(mutex_);
    registryMacs_ = std::move(macs);
}

std::shared_ptr<const core::tftp::FileContent> RolloutService::open(
    const core::tftp::OverlayClient& who, std::string_view name) {
    const bool ours = name == "pieeprom.sig" || name == "pieeprom.upd";
    // A prefixed request binds its address (the prefix probe of a boot that then clears
    // its prefix), here on the TFTP thread, before the boot's next request.
    const bool binds = who.ipv4 && (who.serial || who.mac);
    if (!ours && !binds) {
        return nullptr;
    }
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    const auto serial = identify(who, now);
    if (!serial) {
        return nullptr;
    }
    if (binds) {
        bindAddress(*who.ipv4, *serial, now);
    }
    if (!ours || !rollout_->offers(*serial)) {
        return nullptr;
    }
    if (opened_.size() < kMaxOpened) {
        ++opened_[fmt::format("{}/{}", *serial, name)];
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

void RolloutService::noteDhcp(const core::DhcpEvent& event) {
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    if (rollout_) {
        learnDhcp(event, now);
    }
}

void RolloutService::learnDhcp(const core::DhcpEvent& d, ce::WallTime now) {
    const auto mac = proto::netboot::normalizeMac(d.mac);
    if (d.serial && mac && rollout_->board(*d.serial) != nullptr &&
        (seenMacs_.contains(*mac) || seenMacs_.size() < rollout_->boards().size() * 2 + 16)) {
        seenMacs_[*mac] = *d.serial;  // bounded: rollout boards only
    }
    // serve's own ACK hands the address out: bind it to the board, or unbind it when it
    // went to a board outside the rollout.
    if (d.kind == core::DhcpEvent::Kind::Ack && !d.drop && !d.clientIp.empty()) {
        if (auto ip = proto::dhcp::parseIp(d.clientIp)) {
            core::tftp::OverlayClient who;
            who.serial = d.serial;
            if (!who.serial && mac) {
                who.mac = proto::netboot::macPrefixDir(*mac);
            }
            if (auto serial = identify(who, now)) {
                bindAddress(*ip, *serial, now);
            } else {
                addresses_.erase(*ip);
            }
        }
    }
}

void RolloutService::onEvent(const core::BootEvent& event) {
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    if (!rollout_) {
        return;
    }
    if (const auto* d = std::get_if<core::DhcpEvent>(&event)) {
        learnDhcp(*d, now);  // again: a DHCP server without the tap (tests) still teaches
        if (d->kind == core::DhcpEvent::Kind::Discover && d->serial) {
            rollout_->onBoot(*d->serial, now);
        }
        return;
    }
    const auto& r = std::get<core::TransferRecord>(event);
    const auto who = clientOf(r);
    const auto serial = identify(who, now);
    if (!serial) {
        return;
    }
    if (who.ipv4 && (who.serial || who.mac)) {
        bindAddress(*who.ipv4, *serial, now);  // e.g. the prefix probe of this boot
    }
    const std::string name = leafOf(r.requestedPath);
    if (name == "pieeprom.sig" || name == "pieeprom.upd") {
        auto it = opened_.find(*serial + "/" + name);
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
            rollout_->onSigServed(*serial, now);
        } else {
            ++updatesServed_;
            rollout_->onUpdateServed(*serial, now);
            spdlog::info("ROLLOUT_UPDATE_SERVED rollout={} serial={}", rollout_->plan().name,
                         *serial);
        }
        return;
    }
    if (r.result == core::TransferRecord::Result::Ok) {
        rollout_->onOtherFile(*serial, name, now);
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
        t.since = fromMs(b.sinceMs);
        t.seenAt = fromMs(b.seenAtMs);
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
    seenMacs_.clear();
    addresses_.clear();
    savedPhases_.clear();
    for (const auto& b : rollout_->boards()) {
        savedPhases_[b.serial] = b.phase;
    }
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
        if (b.since) {
            r.sinceMs = toMs(b.since);
        }
        if (b.seenAt) {
            r.seenAtMs = toMs(b.seenAt);
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
    // One line per board that became lost (failed) or not reached, naming it.
    for (const auto& b : rollout_->boards()) {
        auto& before = savedPhases_[b.serial];
        if (before != b.phase &&
            (b.phase == ce::BoardPhase::Failed || b.phase == ce::BoardPhase::NotReached)) {
            spdlog::warn("ROLLOUT_BOARD_{} rollout={} serial={} wave={} detail=\"{}\"",
                         b.phase == ce::BoardPhase::Failed ? "FAILED" : "NOT_REACHED", row_->name,
                         b.serial, b.wave + 1, b.detail);
        }
        before = b.phase;
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
            {"detail", b.detail},
            {"rollout_reason", rollout_->reason()}};
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
    for (auto p : ce::kAllBoardPhases) {
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
