#pragma once
// The bootloader's self-update (netboot-protocol.md §4.3 step 3 and §7; Raspberry Pi
// bootloader documentation, ENABLE_SELF_UPDATE): with self-update enabled a netbooting
// board fetches pieeprom.sig from its boot folder; when the `ts:` there is newer than
// the update timestamp of the EEPROM it runs, it fetches pieeprom.upd, checks it
// against the .sig (sha256, and rsa2048 when the board holds a public key), flashes it
// and resets; a file that does not check out is not flashed and the board boots on
// with the EEPROM it has. The decisions, free of sockets and crypto (the check is
// injected), for the virtual board (core/virtual_pi/pi_board.*).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pinet::core::virtual_pi {

/// What the board's EEPROM holds, as far as self-update is concerned.
struct EepromState {
    std::uint64_t timestamp = 0;  ///< update timestamp of the running image (.sig `ts:`)
    std::string config;           ///< its bootconf.txt
    std::string sha256Hex;        ///< hash of the image last flashed ("" = not known)
};

/// Checks pieeprom.upd against pieeprom.sig: returns what is wrong, or "" with
/// @p detail saying what held (e.g. "sha256 and rsa2048 verified").
using UpdateVerifier = std::function<std::string(std::span<const std::uint8_t> update,
                                                 std::string_view sig, std::string& detail)>;

enum class SigAction {
    Skip,         ///< up to date, or nothing usable offered: boot on
    FetchUpdate,  ///< newer: fetch pieeprom.upd
};

struct SigDecision {
    SigAction action = SigAction::Skip;
    std::optional<std::uint64_t> offeredTs;
    std::string text;  ///< for the timeline
};

/// The decision on a fetched pieeprom.sig. Newer = `ts:` greater than the board's own;
/// a .sig without `ts:` (pre-2021 tooling) counts as newer unless its hash is the one
/// of the image the board last flashed; a malformed .sig is ignored, and so is one whose
/// `target-soc:` is not @p boardSoc (2711 / 2712; 0 = do not check): the bootloader
/// ignores updates for the other SoC (rpi-eeprom firmware-2711 and firmware-2712
/// release notes 2024-05-17, "Ignore bootloader updates for Pi5 on Pi4"; rpi-eeprom-update
/// writes the line with `rpi-eeprom-digest -c`).
SigDecision decideOnSig(const EepromState& current, std::string_view sigText,
                        unsigned boardSoc = 0);

struct FlashOutcome {
    bool flashed = false;
    std::string text;  ///< for the timeline: what was flashed, or why it was refused
    EepromState next;  ///< the EEPROM after a flash (== current when refused)
};

/// Checks @p update against @p sigText with @p verify and, when it holds and the image
/// parses (and, with @p boardSoc, is an image of that SoC by its size), "flashes" it: the
/// new state keeps the .sig's `ts:` and the image's config.
FlashOutcome checkAndFlash(const EepromState& current, std::span<const std::uint8_t> update,
                           std::string_view sigText, const UpdateVerifier& verify,
                           unsigned boardSoc = 0);

}  // namespace pinet::core::virtual_pi
