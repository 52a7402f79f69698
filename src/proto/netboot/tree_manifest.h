#pragma once
// The manifest of one boot tree (issue #19: boot trees must be the same on every
// node): one line per entry, sorted by path (byte order), each
//
//   KIND SHA256 SIZE PATH\n
//
//   KIND    'f' a regular file (SHA256 of its bytes, SIZE its length) or
//           'l' a symbolic link (SHA256 of its target text, SIZE the target's length);
//           directories are implied by the paths
//   SHA256  64 lowercase hex digits
//   SIZE    decimal, no leading zeros
//   PATH    relative to the tree, '/'-separated, printable (proto::text::isSafeText),
//           no empty, "." or ".." component, at most kMaxPath bytes
//
// A node writes its manifests to the shared store and every other node's doctor reads
// them back, so decoding is hostile input: bounded, strict, and what it accepts encodes
// to the same bytes again. Pure: hashing and walking are the io layer's.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::netboot {

/// A boot partition holds a few hundred files (Raspberry Pi OS: about 600 with its
/// overlays); 65536 is a hundred times that, and bounds what a hostile row costs.
inline constexpr std::size_t kMaxTreeEntries = 65536;
/// Longer than any path a FAT boot partition or a TFTP request (512 bytes) carries.
inline constexpr std::size_t kMaxTreePath = 1024;

struct TreeEntry {
    enum class Kind : std::uint8_t { File, Link };
    Kind kind = Kind::File;
    std::string sha256;  ///< 64 lowercase hex digits
    std::uint64_t size = 0;
    std::string path;

    friend bool operator==(const TreeEntry&, const TreeEntry&) = default;
};

/// Whether @p path may be a manifest path (see the header comment).
bool isValidTreePath(std::string_view path);

/// The manifest text of @p entries, which must be valid and sorted by path with no
/// duplicates (an error names the first that is not).
Result<std::string> encodeTreeManifest(const std::vector<TreeEntry>& entries);

/// Parses a manifest; an error names the line. Accepts only what encodeTreeManifest
/// writes (sorted, no duplicates, at most kMaxTreeEntries lines).
Result<std::vector<TreeEntry>> decodeTreeManifest(std::string_view text);

}  // namespace pinet::proto::netboot
