#pragma once
// Which Raspberry Pi a board is, from what it shows on the wire. Option 97 says only
// "RPi4" or "RPi5" (spec netboot-protocol.md §2.2): a CM4, a Pi 400 and a Pi 4B all
// say RPi4. Two better signs:
//   - the board revision code in the same option (offset 5..8): new-style codes carry
//     the board type in bits 4-11 (Raspberry Pi documentation, "New-style revision
//     codes": 0x11 4B, 0x13 400, 0x14 CM4, 0x15 CM4S, 0x17 5, 0x18 CM5, 0x19 500,
//     0x1a CM5 Lite);
//   - the device tree the board fetches: the Pi 4 family's firmware, and the Pi 5's
//     bootloader, ask for the one of their own board (spec §4.3 step 7, §4.4):
//     bcm2711-rpi-cm4.dtb vs bcm2711-rpi-4-b.dtb, bcm2712-rpi-cm5-*.dtb vs
//     bcm2712-rpi-5-b.dtb, ...
// Each sign has a rank (the revision is what the board's OTP says; a dtb can be
// renamed with device_tree=; the fourcc only names the family) and a guess only
// moves to a sign of the same or a higher rank, of the same family. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pinet::core::boot {

enum class BoardModel {
    Unknown,
    Pi4Family,  ///< "RPi4" in option 97, nothing better yet
    Pi5Family,  ///< "RPi5"
    Pi4B,
    Pi400,
    Cm4,
    Cm4s,
    Pi5,
    Pi500,
    Cm5,
};

/// Lowest to highest trust.
enum class ModelSource { None, Fourcc, Registry, Dtb, Revision };

struct ModelGuess {
    BoardModel model = BoardModel::Unknown;
    ModelSource source = ModelSource::None;
    bool operator==(const ModelGuess&) const = default;
};

/// The model a new-style revision code names; nullopt for old-style codes and for
/// types that do not netboot this way (Pi 3 and older, Zero).
std::optional<BoardModel> modelFromRevision(std::uint32_t revision);
/// The model a requested path's device tree names ("9ffefdef/bcm2711-rpi-cm4.dtb"):
/// the base name, any case, `bcm2711-rpi-*` / `bcm2712*-rpi-*` ending in .dtb; nullopt
/// for anything else (overlays, custom device trees).
std::optional<BoardModel> modelFromDtb(std::string_view path);
/// "RPi4"/"RPi5" (option 97's fourcc, as DhcpEvent::model) -> the family.
std::optional<BoardModel> modelFromFourcc(std::string_view fourcc);

/// @p current refined by @p sign: taken when it ranks at least as high and, against a
/// known family, names a model of the same family (a bcm2712 device tree does not make a
/// Pi 4 a Pi 5).
ModelGuess refineModel(ModelGuess current, ModelGuess sign);

/// The registry's and API's code: "pi4", "pi400", "cm4", "cm4s", "pi5", "pi500", "cm5",
/// "pi4-family", "pi5-family"; "" for Unknown.
std::string_view modelCode(BoardModel model);
/// For people: "Pi 4", "Pi 400", "CM4", "CM4S", "Pi 5", "Pi 500", "CM5", "Pi 4 family",
/// "Pi 5 family"; "" for Unknown.
std::string_view modelName(BoardModel model);
/// A code as stored in the registry (modelCode's, and "RPi4"/"RPi5" that older
/// versions stored); nullopt for anything else.
std::optional<BoardModel> parseModelCode(std::string_view code);
/// "revision", "dtb", "registry", "dhcp" (the fourcc), "".
std::string_view toString(ModelSource source);

}  // namespace pinet::core::boot
