#pragma once
// config.txt as the Raspberry Pi firmware reads it, for the part of the boot
// chain pinetboot must follow: which cmdline.txt, kernel, initramfs and device
// tree a given board loads (issue #18, "Newer boot layouts"). Pure: the boot
// partition is seen through the BootFiles interface.
//
// Behaviour from the Raspberry Pi documentation (raspberrypi/documentation,
// documentation/asciidoc/computers/config_txt/):
//  - what_is_config_txt.adoc: one `property=value` per line, `#` comments at the
//    line start, "a 98-character line length limit ... any characters past this
//    limit will be ignored"; `include FILE` inserts the file's content in place.
//  - conditional.adoc: `[all]` resets every filter, `[none]` applies nothing
//    until `[all]`; model filters (`[pi4]` = 4B, 400, CM4, CM4S; `[pi400]`,
//    `[cm4]`, `[cm4s]`; on current firmware `[pi5]` = 5, 500, CM5, and `[pi500]`,
//    `[cm5]`), `[board-type=0xNN]`, `[0xSERIAL]`, `[gpioN=V]`, `[EDID=...]`,
//    `[HDMI:N]`, `[tryboot]` ("succeeds if the tryboot reboot flag was set").
//    Filters of the same type replace each other, different types combine (AND).
//  - boot.adoc: `cmdline` ("alternative filename ... default cmdline.txt"),
//    `kernel`, `arm_64bit`, `initramfs FILE[,FILE] ADDR` (no `=`), `ramfsfile`,
//    `os_prefix`: prepended to "kernels, initramfs, cmdline.txt, .dtbs and
//    overlays"; "unless the expected kernel and .dtb can be found at the new
//    location/name, the prefix is ignored (set to "")"; overlays come from
//    `${os_prefix}${overlay_prefix}` only if `${os_prefix}${overlay_prefix}README`
//    exists; an absolute name (`kernel=/k.img`) bypasses every prefix;
//    `upstream_kernel=1` makes the prefix "upstream/" unless one is set.
//  - bootflow-2711.adoc (TRYBOOT): a one-shot flag "causes tryboot.txt to be
//    loaded instead of config.txt"; that file names the pending os_prefix,
//    cmdline and kernel. Ubuntu 25.10's piboot-try (Ubuntu's "A/B boot on Ubuntu
//    for Raspberry Pi") has no tryboot.txt: its config.txt sends a tryboot boot
//    to new/ with a `[tryboot]` section, so without tryboot.txt config.txt is
//    read, with `[tryboot]` true.
// Defaults per model from netboot-protocol.md 4.3/4.4: Pi 4 family kernel8.img
// (arm_64bit=0: kernel7l.img), Pi 5 family kernel_2712.img then kernel8.img;
// `auto_initramfs=1` pairs kernel8.img with initramfs8, kernel_2712.img with
// initramfs_2712.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::netboot {

/// Most bytes of one config file: a real config.txt is 1-3 KiB and the EEPROM
/// bootloader reads it into a small buffer; 64 KiB bounds memory and work.
inline constexpr std::size_t kMaxBootConfigBytes = 64 * 1024;
/// The firmware ignores what follows the 98th character of a line (what_is_config_txt.adoc).
inline constexpr std::size_t kBootConfigLineChars = 98;
/// include nesting: the documented use is one level (Raspberry Pi OS, Ubuntu); 4 leaves
/// room for odd images and stops a file that includes itself.
inline constexpr int kMaxBootConfigDepth = 4;
/// Most files read for one evaluation (config.txt and its includes), bounding the work
/// of a file that includes another many times.
inline constexpr std::size_t kMaxBootConfigFiles = 16;
/// Most lines evaluated over all files: 16 files of 64 KiB could hold a million empty
/// lines; 8192 is far beyond any real config and bounds the work per evaluation.
inline constexpr std::size_t kMaxBootConfigLines = 8192;
/// Longest path the chain may name: FAT long names are at most 255 characters.
inline constexpr std::size_t kMaxBootPathChars = 255;

/// The boards pinetboot netboots, by conditional-filter name.
enum class PiBoard { Pi4, Pi400, Cm4, Cm4s, Pi5, Pi500, Cm5 };

/// "pi4", "pi400", "cm4", "cm4s", "pi5", "pi500", "cm5" (the registry's model codes).
std::optional<PiBoard> parsePiBoard(std::string_view code);
std::string_view piBoardCode(PiBoard board);
/// Every PiBoard, Pi 4 family first.
std::span<const PiBoard> allPiBoards();
/// The device tree the firmware loads by default (netboot-protocol.md 4.3 step 7, 4.4).
std::string_view defaultDtb(PiBoard board);
bool isPi5Family(PiBoard board);

/// Who reads the config: the board and whether its tryboot flag is set.
struct BoardContext {
    PiBoard board = PiBoard::Pi4;
    bool tryboot = false;
    std::string serial;  ///< 8 hex digits for `[0xSERIAL]` filters; "" unknown
};

/// The boot partition as the firmware sees it. Paths are relative ("current/vmlinuz"),
/// already checked by isSafeBootPath.
class BootFiles {
public:
    virtual ~BootFiles() = default;
    /// The file's bytes; nullopt if it is absent or not a regular file. An
    /// implementation may stop after kMaxBootConfigBytes + 1 bytes.
    [[nodiscard]] virtual std::optional<std::string> read(std::string_view path) const = 0;
    [[nodiscard]] virtual bool exists(std::string_view path) const = 0;
};

/// Relative, '/'-separated, no empty, "." or ".." part, no backslash or control
/// byte, at most kMaxBootPathChars: a name that stays inside the boot partition.
bool isSafeBootPath(std::string_view path);

/// The directives config.txt sets for one board (after filters and includes).
struct BootSettings {
    std::optional<std::string> osPrefix;
    std::optional<std::string> overlayPrefix;
    std::optional<std::string> cmdline;
    std::optional<std::string> kernel;
    std::optional<std::string> deviceTree;
    std::optional<std::vector<std::string>> initramfs;  ///< `initramfs` or `ramfsfile`
    std::optional<bool> arm64;
    bool autoInitramfs = false;
    bool upstreamKernel = false;
    std::string configFile;                ///< "config.txt" or "tryboot.txt"
    bool configFound = false;              ///< false: firmware defaults only
    std::vector<std::string> configFiles;  ///< read, in order (includes after their parent)
    std::vector<std::string> notes;        ///< what was ignored or assumed, for people
};

/// The chain a board follows from its config file to Linux.
struct BootChain {
    BootSettings settings;
    std::string requestedPrefix;  ///< os_prefix as configured ("" none)
    std::string osPrefix;         ///< the prefix in force after the viability test
    std::string cmdline;          ///< the cmdline file the board reads
    std::string kernel;
    std::string dtb;
    std::vector<std::string> initramfs;
    std::string overlayDir;  ///< where `dtoverlay=` files are read from
    bool cmdlineFound = false;
    bool kernelFound = false;
    bool dtbFound = false;
    /// The firmware can load this chain: kernel, device tree and cmdline all exist.
    [[nodiscard]] bool complete() const { return cmdlineFound && kernelFound && dtbFound; }
};

/// config.txt (or tryboot.txt) and its includes evaluated for @p ctx. Fails for a
/// config file over kMaxBootConfigBytes or a path leaving the boot partition.
Result<BootSettings> evaluateBootConfig(const BootFiles& files, const BoardContext& ctx);

/// The whole chain for @p ctx: evaluateBootConfig, then defaults per model, the
/// os_prefix viability test, overlay and initramfs names.
Result<BootChain> resolveBootChain(const BootFiles& files, const BoardContext& ctx);

}  // namespace pinet::proto::netboot
