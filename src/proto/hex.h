#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pinet::proto {

/// The value of one hex digit (either case), or -1 for any other character.
int hexDigitValue(char c);

/// Lowercase hex, two digits per byte, no separators.
std::string toHex(std::span<const std::uint8_t> bytes);

/// Parses an even-length hex string (either case); nullopt on any other character.
std::optional<std::vector<std::uint8_t>> fromHex(std::string_view hex);

}  // namespace pinet::proto
