#pragma once
// `pinetboot flash`: the seed's whole EEPROM flashing flow in one step
// (shared/seed/netbooting-cm4.txt; usbboot recovery/ + update-pieeprom.sh):
// pick the recovery second stage and an EEPROM image (from an rpi-eeprom
// checkout or explicit files), apply the boot config through the EEPROM API,
// write pieeprom.sig, assemble the recovery folder, serve it to every board
// in USB boot mode, and report per board.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "app/usbboot/runner.h"
#include "proto/error.h"

namespace pinet::app {

struct FlashInputs {
    /// rpi-eeprom checkout: firmware-<chip>/default/pieeprom-*.bin (newest by
    /// name, which is the date) and firmware-<chip>/default/recovery.bin.
    std::filesystem::path firmwareDir;
    std::filesystem::path image;     ///< explicit pieeprom image (overrides firmwareDir)
    std::filesystem::path bootcode;  ///< explicit recovery.bin (overrides firmwareDir)
    std::filesystem::path config;    ///< boot config file; default: the image's own bootconf.txt
    /// KEY=VALUE edits applied to the config (in the [all] section), in order.
    std::vector<std::pair<std::string, std::string>> sets;
    std::filesystem::path keyPem;  ///< RSA-2048 private key: adds the rsa2048 line to pieeprom.sig
    /// 2711 or 2712; 0 = from the image size (or 2711 with only --firmware-dir).
    unsigned chip = 0;
    /// Flash even if the config has lint errors (as `eeprom apply --force`).
    bool force = false;
};

struct FlashPlan {
    unsigned chip = 2711;
    std::filesystem::path imagePath;
    std::filesystem::path bootcodePath;
    std::string configSource;           ///< human description of where the config came from
    std::string configText;             ///< the bootconf.txt that will be flashed
    std::vector<std::string> warnings;  ///< config lint warnings (not fatal)
    std::uint64_t sigTimestamp = 0;
    bool signedSig = false;
    /// The recovery folder: file name -> content (bootcode4/5.bin, config.txt,
    /// pieeprom.bin, pieeprom.sig).
    std::map<std::string, std::vector<std::uint8_t>> files;
    std::string pieepromSha256;
};

/// Why @p data is not a recovery.bin (the USB second stage that flashes the EEPROM) for
/// @p chip, with where the real one comes from; nullopt when it looks like one. The host
/// never runs it, so this is a plausibility check: not empty, not an EEPROM image, names
/// the pieeprom files it fetches.
std::optional<std::string> recoveryBinProblem(std::span<const std::uint8_t> data, unsigned chip);
/// Where recovery.bin for @p chip comes from (rpi-eeprom, usbboot), for messages.
std::string recoveryBinSource(unsigned chip);

/// The config.txt recovery.bin reads (spec 2.9): UART output of the second
/// stage, metadata report on.
std::string recoveryConfigTxt();

/// Resolves inputs and builds every file of the recovery folder in memory.
/// Errors name the missing or bad input.
Result<FlashPlan> prepareFlash(const FlashInputs& in);
/// Writes the folder (each file atomically) into @p dir, creating it.
Result<void> writeRecoveryFolder(const FlashPlan& plan, const std::filesystem::path& dir);
/// Multi-line human description of the plan (printed by --dry-run and before flashing).
std::string describePlan(const FlashPlan& plan, const std::filesystem::path& folder);

/// What happened to one board.
struct BoardFlashResult {
    std::string location;
    std::string serial;
    bool ok = false;
    std::string flashed;  ///< what was sent, e.g. "pieeprom.bin 524288 bytes sha256 48285fc5..."
    std::string message;  ///< result line: "flashed, board reported EEPROM_UPDATE=success" / error
};

/// One result per board (second-stage sessions and boards that failed before it).
std::vector<BoardFlashResult> flashResults(const RunSummary& summary, const FlashPlan& plan);

}  // namespace pinet::app
