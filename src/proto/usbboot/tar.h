#pragma once
// Read-only index of a POSIX ustar archive, for rpiboot's bootfiles.bin
// (spec 2.6 step 1: 512-byte blocks, octal size field, names compared
// case-insensitively). Pure and bounds-checked: a malformed archive is an
// error value, never a read past the end.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::usbboot {

/// ustar block size (POSIX.1-1988 "ustar Interchange Format").
inline constexpr std::size_t kTarBlock = 512;

struct TarMember {
    std::string name;        ///< prefix "/" name, leading "./" removed
    std::size_t offset = 0;  ///< of the data in the archive
    std::size_t size = 0;
};

/// Lists the regular files of @p archive. Stops at the first all-zero block
/// (end of archive) or at the end of the data. Errors: a header whose size
/// field is not octal, or a member whose data runs past the end.
Result<std::vector<TarMember>> indexTar(std::span<const std::uint8_t> archive);

/// The member named @p name, compared case-insensitively (as rpiboot does).
const TarMember* findTarMember(std::span<const TarMember> members, std::string_view name);

}  // namespace pinet::proto::usbboot
