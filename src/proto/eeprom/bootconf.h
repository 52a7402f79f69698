#pragma once
// The bootloader config language (`bootconf.txt`, spec eeprom-usbboot.md 1.12):
// BOOT_ORDER decoding, a line-preserving editor for `eeprom set`, and a linter
// driven by one table of known keys with types, ranges and defaults.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::eeprom {

// ---------------------------------------------------------------- BOOT_ORDER

/// One boot mode nibble (spec 1.12 table).
struct BootMode {
    unsigned nibble = 0;
    std::string_view name;   ///< upstream name, e.g. "SD CARD"
    std::string_view words;  ///< plain words, e.g. "SD card"
};

/// The mode for @p nibble, or nullopt for the unassigned values 0x8..0xd.
std::optional<BootMode> bootMode(unsigned nibble);

/// Parses a BOOT_ORDER value: "0x" + 1..8 hex digits, every nibble a known mode.
/// @return the value, or an error ("not a hex number", "more than 8 modes", "unknown boot
///         mode 0x9 (nibble 2)").
Result<std::uint32_t> parseBootOrder(std::string_view text);

/// The modes tried, least significant nibble first, up to the highest non-zero nibble
/// (a value of 0 is one SD CARD DETECT step).
std::vector<BootMode> bootOrderSteps(std::uint32_t value);

/// Plain words: 0xf21 -> "SD card, then network, then restart".
std::string describeBootOrder(std::uint32_t value);

// ---------------------------------------------------------------- key table

enum class ValueType {
    Bool,        ///< 0 or 1
    Int,         ///< decimal or 0x hex, within [min, max]
    Hex,         ///< 0x + hex digits, 32-bit
    BootOrder,   ///< see parseBootOrder
    Ip,          ///< dotted IPv4 address
    Mac,         ///< xx:xx:xx:xx:xx:xx
    String,      ///< free text up to maxLen bytes (0 = no limit)
    VidPidList,  ///< up to 4 comma-separated VVVVPPPP hex pairs
};

struct KeySpec {
    std::string_view name;
    ValueType type;
    std::int64_t min = 0;
    std::int64_t max = 0;
    std::size_t maxLen = 0;
    std::string_view defaultValue;  ///< as documented ("" = unset)
    std::string_view summary;
};

/// Every key the linter knows (eeprom-bootloader.adoc via spec 1.12).
std::span<const KeySpec> knownKeys();
/// Exact lookup.
const KeySpec* findKey(std::string_view name);
/// The known key closest by edit distance (case-insensitive), if close enough to be a typo.
std::optional<std::string_view> nearestKey(std::string_view name);
/// Levenshtein distance (exposed for tests).
std::size_t editDistance(std::string_view a, std::string_view b);

// ---------------------------------------------------------------- lint

enum class Severity { Warning, Error };

struct Diagnostic {
    Severity severity = Severity::Warning;
    std::size_t line = 0;  ///< 1-based, 0 = whole file
    std::string message;
};

/// Lints config text: unknown key (warning, with the nearest known name), invalid value
/// (error), duplicate key in one section (warning), malformed line (warning), size over
/// kMaxFileSize (error). Lines after a `[config.txt]` filter belong to the OS config.txt
/// and are not checked.
std::vector<Diagnostic> lintConfig(std::string_view text);

/// True if any diagnostic is an error.
bool hasErrors(const std::vector<Diagnostic>& diags);

// ---------------------------------------------------------------- editing

/// The value of the last @p key line in the blocks of filter @p section ("all" includes lines
/// before any filter), or nullopt if it is not set there.
std::optional<std::string> getKey(std::string_view text, std::string_view key,
                                  std::string_view section = "all");

/// Sets KEY=VALUE in the blocks of filter @p section ("all" includes lines before any
/// filter): the last existing KEY line there is rewritten, otherwise a line is added after
/// the section's last setting, otherwise a new `[section]` block is added (before any
/// `[config.txt]` block). Every other line, comment and line ending is kept.
/// @return the new text, or an error for an empty/malformed key or a value with a newline.
Result<std::string> setKey(std::string_view text, std::string_view key, std::string_view value,
                           std::string_view section = "all");

}  // namespace pinet::proto::eeprom
