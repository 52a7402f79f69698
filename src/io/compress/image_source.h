#pragma once
// The containers a disk image arrives in besides .xz (io/xz): gzip (zlib),
// zip (libzip, one image inside) and a pipe (stdin). Each is turned into a
// sparse temporary file the partition parsers can read at random offsets,
// and each output is bounded before it is written, never after:
//   - gzip: its ISIZE trailer is the size modulo 2^32 only (RFC 1952 2.3.1),
//     useless for images over 4 GiB, so the bound comes from the image
//     itself: the partition table in the first decompressed MiB gives the
//     last byte anything reads (proto/disk diskExtent); output past it is
//     decoded (the CRC32 covers it) but not written;
//   - zip: the entry's size in the central directory (zip64 for large ones);
//     more bytes than that fails at once;
//   - stdin: nothing declares a size, so the caller's limit (--max-size).
// Every path also stops at the caller's maxBytes, so a crafted file costs at
// most that much disk (less: all-zero blocks become holes) and decoding time.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "proto/error.h"

namespace pinet::io {

/// What the first bytes of a file say it is. Raw is anything unrecognised:
/// the partition table parser then says whether it is a disk image.
enum class ImageFormat { Raw, Xz, Gzip, Zip, Bzip2, Zstd };

std::string_view imageFormatName(ImageFormat f);

/// The format of @p head (the first bytes of a file; 6 are enough):
/// xz FD 37 7A 58 5A 00 (xz file format 2.1.1.1), gzip 1F 8B (RFC 1952 2.3.1),
/// zip "PK\3\4" (a local file header) or "PK\5\6" (an empty archive's end of
/// central directory; APPNOTE 4.3.7, 4.3.16), bzip2 "BZh", zstd 28 B5 2F FD (RFC 8878 3.1.1).
ImageFormat detectImageFormat(std::span<const std::uint8_t> head);

/// detectImageFormat() of the first bytes of @p path (a file or block device).
Result<ImageFormat> detectImageFormat(const std::filesystem::path& path);

/// done, total (total 0: unknown, e.g. a pipe).
using ByteProgress = std::function<void(std::uint64_t, std::uint64_t)>;

/// Given the first bytes of the output (kBoundHeadBytes, or all of it if
/// shorter), how many bytes of output are worth writing; fails if the
/// output is no disk image at all.
using OutputBound = std::function<Result<std::uint64_t>(std::span<const std::uint8_t>)>;

/// How much output the OutputBound sees: a partition table and a GPT's
/// entry array (LBA 1..33) lie in the first MiB of every Pi image (the
/// first partition starts there or later).
inline constexpr std::size_t kBoundHeadBytes = 1 << 20;

/// Decompresses the gzip file @p src (one member or several concatenated,
/// as `cat a.gz b.gz` makes) into @p dest (created, must not exist).
/// Output beyond @p bound's answer is decoded but not written; more than
/// @p maxBytes of output in all fails. A corrupt or truncated stream fails
/// with the reason (zlib checks each member's CRC32 and ISIZE).
/// @p hitLimit (if given) tells whether it failed at @p maxBytes.
Result<std::uint64_t> decompressGzip(const std::filesystem::path& src,
                                     const std::filesystem::path& dest, std::uint64_t maxBytes,
                                     const OutputBound& bound, const ByteProgress& progress,
                                     bool* hitLimit = nullptr);

/// What extractZipImage took from the archive.
struct ZipImage {
    std::string entry;  ///< its name in the archive, made safe for a terminal
    std::uint64_t bytes = 0;
};

/// Writes the one disk image inside the zip archive @p src to @p dest: the
/// single entry whose name ends in ".img", or the single file of an archive
/// that holds one. Refuses (with the names) archives with several images,
/// encrypted entries and entries over @p maxBytes.
Result<ZipImage> extractZipImage(const std::filesystem::path& src,
                                 const std::filesystem::path& dest, std::uint64_t maxBytes,
                                 const ByteProgress& progress, bool* hitLimit = nullptr);

/// Copies everything readable from @p fd (stdin) into @p dest (created,
/// must not exist) until end of file; more than @p maxBytes fails.
Result<std::uint64_t> copyStreamToFile(int fd, const std::filesystem::path& dest,
                                       std::uint64_t maxBytes, const ByteProgress& progress,
                                       bool* hitLimit = nullptr);

}  // namespace pinet::io
