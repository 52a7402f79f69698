#pragma once
// What the bootloader reads out of a self-update (spec eeprom-usbboot.md 1.11/1.12;
// netboot-protocol.md §4.3 step 3, §7): the config inside a pieeprom.upd image and the
// two settings that decide whether a board netboots and self-updates again. Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/eeprom/image.h"
#include "proto/error.h"

namespace pinet::proto::eeprom {

/// BOOT_ORDER when the config does not set it (Raspberry Pi bootloader documentation,
/// BOOT_ORDER: default 0xf41 = SD card, USB, restart).
inline constexpr std::uint32_t kDefaultBootOrder = 0xf41;
/// BOOT_ORDER nibble of TFTP network boot (spec 1.12 table).
inline constexpr unsigned kBootModeNetwork = 0x2;

/// The parts of an update image the bootloader acts on.
struct UpdateContent {
    std::string bootconf;  ///< bootconf.txt bytes ("" when the image has none)
    std::optional<Chip> chip;
};

/// Parses @p image as a standard-size EEPROM image and reads its bootconf.txt.
/// @return an error naming what is wrong (size, section chain).
Result<UpdateContent> readUpdateContent(std::span<const std::uint8_t> image);

/// Whether a board running @p config self-updates: ENABLE_SELF_UPDATE ([all] section;
/// documented default 1 on BCM2711 and BCM2712, spec 1.12, docs/eeprom-rollout.md), and
/// not FREEZE_VERSION=1, which overrides it.
bool selfUpdateEnabled(std::string_view config);

/// The effective BOOT_ORDER of @p config: its value, kDefaultBootOrder when unset,
/// nullopt when set but not a valid BOOT_ORDER.
std::optional<std::uint32_t> effectiveBootOrder(std::string_view config);

/// True when the effective BOOT_ORDER tries TFTP network boot (nibble 2) at all, i.e. a
/// board flashed with @p config still comes back to a netboot server.
bool bootOrderNetboots(std::string_view config);

}  // namespace pinet::proto::eeprom
