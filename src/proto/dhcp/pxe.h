#pragma once
// PXE and Raspberry Pi specific DHCP option payloads:
//  - option 43 PXE vendor sub-options (PXE spec 2.1 §2.4.4; spec netboot-protocol §3.1),
//  - option 97 client GUID as the Pi bootloader fills it (spec §2.2),
//  - option 60 vendor class of PXE clients.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pinet::proto::dhcp {

/// Spec §2.1: the Pi's option 60, byte for byte.
inline constexpr std::string_view kPiVendorClass = "PXEClient:Arch:00000:UNDI:002001";
/// PXE spec 2.1 §2.4.1: every PXE client's option 60 starts with this.
inline constexpr std::string_view kPxeClientPrefix = "PXEClient";
/// Spec §3.1: the default PXE_OPTION43 match string of the bootloader.
inline constexpr std::string_view kDefaultPxeMenuText = "Raspberry Pi Boot";

/// PXE option 43 sub-option codes (PXE spec 2.1 table 2-1).
namespace pxe {
inline constexpr std::uint8_t DiscoveryControl = 6;
inline constexpr std::uint8_t BootServers = 8;
inline constexpr std::uint8_t BootMenu = 9;
inline constexpr std::uint8_t MenuPrompt = 10;
inline constexpr std::uint8_t End = 255;
}  // namespace pxe

/// Option 43 exactly as dnsmasq builds it for `pxe-service=0,"<text>"` (spec §3.1):
/// 06 01 03 | 0a 04 00 'PXE' | 09 len 00 00 textlen text | ff.
/// @p text is cut to 240 bytes so that the whole option fits in 255 (15 bytes of framing).
std::vector<std::uint8_t> buildPxeMenuOption(std::string_view text);

struct PxeMenuItem {
    std::uint16_t type = 0;
    std::string description;
};
struct PxeVendorOptions {
    std::optional<std::uint8_t> discoveryControl;
    std::vector<PxeMenuItem> menu;
    bool malformed = false;  ///< a sub-option overran the option: items parsed so far are kept
};
/// Parses option 43 as PXE sub-options, the way the bootloader does (spec §3.1).
PxeVendorOptions parsePxeVendorOptions(std::span<const std::uint8_t> data);

/// Spec §3.1: the bootloader accepts the offer when a menu item's text contains its
/// PXE_OPTION43 string (sub-string match in current bootloaders).
bool pxeMenuMatches(const PxeVendorOptions& options, std::string_view match);

/// Option 97 as filled by the Pi 4/5 bootloader (spec §2.2), 17 bytes:
/// 0x00 | fourcc "RPi4"/"RPi5" | board revision LE | mac[2..5] | serial LE.
struct PiGuid {
    char modelDigit = '4';        ///< '4' or '5'
    bool reversedFourcc = false;  ///< "4iPR" byte order (explicit DHCP_OPTION97, spec §2.2)
    std::uint32_t boardRevision = 0;
    std::array<std::uint8_t, 4> macLsb{};
    std::uint32_t serial = 0;

    [[nodiscard]] std::string model() const { return std::string("RPi") + modelDigit; }
    [[nodiscard]] std::string serialHex() const;  ///< 8 lower-case hex digits (spec §2.2)
};
std::optional<PiGuid> parsePiGuid(std::span<const std::uint8_t> data);
std::vector<std::uint8_t> buildPiGuid(const PiGuid& guid);

/// True when @p vendorClass starts with "PXEClient".
bool isPxeVendorClass(std::string_view vendorClass);

}  // namespace pinet::proto::dhcp
