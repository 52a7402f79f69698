#pragma once
// `.sig` text files as written by `rpi-eeprom-digest` (spec 1.11):
//   <sha256 hex>\n ts: <unix time>\n [target-soc: <2711|2712>\n] [rsa2048: <512 hex>\n]

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::eeprom {

/// RSA-2048 signature length in bytes (spec 1.11).
inline constexpr std::size_t kRsa2048SigLen = 256;

struct SigFile {
    std::string sha256Hex;                             ///< 64 lowercase hex chars
    std::optional<std::uint64_t> timestamp;            ///< `ts:` line
    std::optional<unsigned> targetSoc;                 ///< `target-soc:` line (2711 / 2712)
    std::optional<std::vector<std::uint8_t>> rsa2048;  ///< 256-byte signature, big-endian
};

/// Formats the file exactly as rpi-eeprom-digest does (LF line ends, lowercase hex).
std::string formatSig(const SigFile& sig);

/// Parses a .sig file. The first line must be a 64-char hex sha256; `ts:`,
/// `target-soc:` and `rsa2048:` lines are recognised in any order, other lines ignored.
/// @return an error naming the bad line (bad hash, bad number, signature not 256 bytes).
Result<SigFile> parseSig(std::string_view text);

}  // namespace pinet::proto::eeprom
