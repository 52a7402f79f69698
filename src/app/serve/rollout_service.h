#pragma once
// serve's side of EEPROM rollouts (docs/architecture.md, "Bootloader rollouts"): the one
// active rollout of state/rollouts.db as a core::eeprom::Rollout, fed with what the wire
// shows (a bootloader DISCOVER, pieeprom.sig / pieeprom.upd / other files served whole),
// and the TFTP overlay that serves the rollout's two files to the boards it offers them
// to, from memory, without writing into their boot folders. Commands queued by the CLI
// are applied on poll(); the state and the board rows are written back when they moved.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/boot_events.h"
#include "core/eeprom/rollout.h"
#include "core/metrics/metrics.h"
#include "core/tftp/file_overlay.h"
#include "io/registry/rollout_store.h"

namespace pinet::app::serve {

class RolloutService final : public core::tftp::FileOverlay {
public:
    explicit RolloutService(io::RolloutStore store) : store_(std::move(store)) {}

    /// Opens state/rollouts.db; on failure logs why and returns null (serve runs on
    /// without rollouts).
    static std::unique_ptr<RolloutService> open(const std::filesystem::path& stateDir);

    // FileOverlay (TFTP threads).
    std::shared_ptr<const core::tftp::FileContent> open(std::string_view serial,
                                                        std::string_view name) override;

    /// HTTP boot's overlay (app/http/http_boot.h): the rollout's folder when @p serial is
    /// offered @p name now, else nullopt. Counts the open as open() does.
    std::optional<std::string> httpDir(std::string_view serial, std::string_view name);

    /// The monitor's worker thread: every boot event.
    void onEvent(const core::BootEvent& event);
    /// The registry watcher, once a second: commands, timeouts, waves, rows.
    void poll(core::eeprom::WallTime now);

    /// serial -> the "eeprom" object of /api/v1/clients, for the boards of the active
    /// (or last) rollout.
    std::map<std::string, nlohmann::json> clientsEeprom();
    /// pinetboot_eeprom_rollout_boards{rollout,phase}, pinetboot_eeprom_rollout_state.
    void exportMetrics(core::metrics::Registry& m);

    /// Boards served pieeprom.upd by the overlay (whole), for tests and logs.
    [[nodiscard]] std::uint64_t updatesServed();

private:
    void load(const io::RolloutRow& row);
    void save();

    std::mutex mutex_;
    io::RolloutStore store_;
    std::int64_t seenGeneration_ = -1;
    std::optional<io::RolloutRow> row_;
    std::optional<core::eeprom::Rollout> rollout_;
    std::uint64_t savedVersion_ = 0;
    std::shared_ptr<const core::tftp::FileContent> sig_;
    std::shared_ptr<const core::tftp::FileContent> update_;
    /// "serial/name" -> overlay opens whose transfer record has not come yet: a record
    /// counts for the rollout only if the overlay served that content.
    std::map<std::string, int> opened_;
    std::uint64_t updatesServed_ = 0;
};

}  // namespace pinet::app::serve
