#pragma once
// The map of an image served in place (issue #18, `image add --in-place`): every
// regular file of the image's FAT boot partition and where its bytes lie in the image
// file, so that the server reads a board's files with pread and never parses the
// image's FAT itself (the confined reader does, io/sandbox, and writes this map). One
// line per file, sorted by path (byte order):
//
//   SIZE MTIME EXTENTS PATH\n
//
//   SIZE     decimal, no leading zeros: the file's length
//   MTIME    decimal seconds since 1970 (the FAT's time taken as UTC), may be negative
//   EXTENTS  "-" for an empty file, else OFFSET+LENGTH pairs joined by ',': absolute
//            offsets in the image file, lengths > 0 adding up to SIZE, in file order
//   PATH     '/'-separated, relative, printable, no empty, "." or ".." part
//
// The parent reads what a (possibly compromised) reader wrote: decoding is bounded,
// strict, checks every extent against the image's size, and what it accepts encodes to
// the same bytes. Pure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::disk {

/// A boot partition holds a few hundred files; the tree manifest's bound (65,536).
inline constexpr std::size_t kMaxBootMapFiles = 65536;
/// Extents in one map: a 512 MiB FAT32 boot partition of 512-byte clusters, fully
/// fragmented, is 2^20 of them (Raspberry Pi OS makes 512 MiB partitions, 4 KiB clusters).
inline constexpr std::size_t kMaxBootMapExtents = std::size_t{1} << 20;
/// Longer than any path a FAT volume or a TFTP request (512 bytes) carries.
inline constexpr std::size_t kMaxBootMapPath = 1024;

struct BootMapExtent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    friend bool operator==(const BootMapExtent&, const BootMapExtent&) = default;
};

struct BootMapFile {
    std::string path;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
    std::vector<BootMapExtent> extents;
    friend bool operator==(const BootMapFile&, const BootMapFile&) = default;
};

/// The map text of @p files (sorted by path, no duplicates, extents as decodeBootMap
/// requires against @p imageSize); an error names the first file that is not valid.
Result<std::string> encodeBootMap(const std::vector<BootMapFile>& files, std::uint64_t imageSize);

/// Parses a map of an image file of @p imageSize bytes; an error names the line.
Result<std::vector<BootMapFile>> decodeBootMap(std::string_view text, std::uint64_t imageSize);

}  // namespace pinet::proto::disk
