#pragma once
// .xz decompression (liblzma, streaming) of a disk image into a sparse
// temporary file, so the partition parsers can read it at random offsets.

#include <cstdint>
#include <filesystem>
#include <functional>

#include "proto/error.h"

namespace pinet::io {

/// True if @p path starts with the xz magic (FD 37 7A 58 5A 00, xz file format 2.1.1.1).
Result<bool> isXzFile(const std::filesystem::path& path);

/// Decompresses @p src into @p dest (created, must not exist). All-zero
/// blocks become holes. @p progress gets compressed bytes read / total.
/// A stream that ends early or is corrupt fails with the reason. The output
/// is capped at the uncompressed size the file's indexes declare (read first,
/// from the end of the file): writing more fails at once. A declared size
/// over @p maxBytes fails before anything is written (@p hitLimit, if given, says so).
Result<std::uint64_t> decompressXz(
    const std::filesystem::path& src, const std::filesystem::path& dest,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress,
    std::uint64_t maxBytes = UINT64_MAX, bool* hitLimit = nullptr);

}  // namespace pinet::io
