#pragma once
// Random-access reads for the disk-image parsers. The parsers never see a
// file: they ask for bytes at an offset through this callback, so the same
// code runs over an in-memory span (unit tests, fuzzing) and over a
// multi-gigabyte image file (io layer), and every read is bounds-checked.

#include <cstdint>
#include <functional>
#include <span>

#include "proto/error.h"

namespace pinet::proto::disk {

/// Fills @p out with the bytes at @p offset, or fails (out of range, I/O error).
using ReadAt = std::function<Result<void>(std::uint64_t offset, std::span<std::uint8_t> out)>;

/// A ReadAt over bytes in memory; reads past the end fail with "truncated".
ReadAt spanReader(std::span<const std::uint8_t> data);

/// A ReadAt that sees only [@p base, @p base + @p size) of @p inner (a partition).
ReadAt sliceReader(ReadAt inner, std::uint64_t base, std::uint64_t size);

}  // namespace pinet::proto::disk
