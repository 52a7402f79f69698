#pragma once
// serve's side of EEPROM rollouts (docs/architecture.md, "Bootloader rollouts"): the one
// active rollout of state/rollouts.db as a core::eeprom::Rollout, fed with what the wire
// shows (a bootloader DISCOVER, pieeprom.sig / pieeprom.upd / other files served whole),
// and the TFTP overlay that serves the rollout's two files to the boards it offers them
// to, from memory, without writing into their boot folders. Commands queued by the CLI
// are applied on poll(); the state and the board rows are written back when they moved.
//
// Which board asks (spec 4.2, TFTP_PREFIX): a serial prefix names it; a MAC prefix
// (TFTP_PREFIX=2) is mapped to its serial through the registry and the DHCP DISCOVERs
// seen (option 97 carries the serial next to chaddr); a request with no client prefix
// (TFTP_PREFIX=1, or a prefix the board cleared) is mapped by its source address to the
// board that address was last bound to: by serve's own DHCP ACK (--dhcp full) or by a
// serial- or MAC-prefixed request from it (the prefix probe of the same boot). Bindings
// are kept for rollout boards only, and expire (kAddressBindingTtl).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/serve/client_store.h"
#include "core/boot_events.h"
#include "core/eeprom/rollout.h"
#include "core/metrics/metrics.h"
#include "core/tftp/file_overlay.h"
#include "io/registry/rollout_store.h"

namespace pinet::app::serve {

class RolloutService final : public core::tftp::FileOverlay {
public:
    using Clock = std::function<core::eeprom::WallTime()>;

    /// An address stays bound to a board this long after the DHCP ACK or prefixed
    /// request that bound it: a boot gets from its DHCP to pieeprom.sig in seconds, and
    /// each boot binds again; a short life limits what a stale binding (the address
    /// handed to another board by a DHCP server we do not see) could be offered.
    static constexpr std::chrono::minutes kAddressBindingTtl{15};

    explicit RolloutService(io::RolloutStore store, Clock clock = {})
        : clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })),
          store_(std::move(store)) {}

    /// Opens state/rollouts.db; on failure logs why and returns null (serve runs on
    /// without rollouts).
    static std::unique_ptr<RolloutService> open(const std::filesystem::path& stateDir,
                                                Clock clock = {});

    // FileOverlay (TFTP threads).
    std::shared_ptr<const core::tftp::FileContent> open(const core::tftp::OverlayClient& who,
                                                        std::string_view name) override;
    /// open() for a request with a serial prefix.
    std::shared_ptr<const core::tftp::FileContent> open(std::string_view serial,
                                                        std::string_view name) {
        return open(core::tftp::OverlayClient{std::string(serial), std::nullopt, std::nullopt},
                    name);
    }

    /// The registry's clients (serial and MAC), for MAC-prefixed requests.
    void setKnownClients(const std::vector<KnownClient>& clients);

    /// HTTP boot's overlay (app/http/http_boot.h): the rollout's folder when @p serial is
    /// offered @p name now, else nullopt. Counts the open as open() does.
    std::optional<std::string> httpDir(std::string_view serial, std::string_view name);

    /// The monitor's worker thread: every boot event.
    void onEvent(const core::BootEvent& event);
    /// The DHCP threads, for each DHCP event before it is queued for the monitor: learns
    /// MAC -> serial and address -> board (quick; a lock and a map update).
    void noteDhcp(const core::DhcpEvent& event);
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
    /// The serial of the rollout board @p who is, if any (mutex_ held).
    std::optional<std::string> identify(const core::tftp::OverlayClient& who,
                                        core::eeprom::WallTime now) const;
    /// MAC -> serial and address bindings from a DHCP event (mutex_ held, rollout_ set).
    void learnDhcp(const core::DhcpEvent& d, core::eeprom::WallTime now);
    /// Binds @p ip to @p serial when it is a board of the rollout (mutex_ held).
    void bindAddress(std::uint32_t ip, const std::string& serial, core::eeprom::WallTime now);

    struct Binding {
        std::string serial;
        core::eeprom::WallTime at;
    };

    Clock clock_;
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
    /// MAC ("dc:a6:32:..") -> serial: the registry's, and the DISCOVERs' of rollout boards.
    std::map<std::string, std::string> registryMacs_;
    std::map<std::string, std::string> seenMacs_;
    /// Source address -> rollout board (see the file comment).
    std::map<std::uint32_t, Binding> addresses_;
    /// Phases at the last save, to log each board that became failed / not reached.
    std::map<std::string, core::eeprom::BoardPhase> savedPhases_;
};

}  // namespace pinet::app::serve
