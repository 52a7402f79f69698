#pragma once
// Images served in place (issue #18, `pinetboot image add FILE --in-place`): the image
// file is registered, never extracted and never written. The confined reader (io/sandbox)
// parses its FAT boot partition once and writes a map of every file's extents in the
// image (proto/disk/boot_map); from then on the boot files are read with pread at those
// extents, and nothing parses the image's FAT outside the sandbox. The map is checked
// against the image file as it is now (size and mtime as recorded), so a file changed
// since `image add` is refused, not served wrong.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/image/image_store.h"
#include "io/fs/read_at_file.h"
#include "proto/disk/boot_map.h"
#include "proto/error.h"
#include "proto/netboot/boot_config.h"

namespace pinet::app {

/// Largest boot-map file read: kMaxBootMapExtents extents of about 20 bytes, with the
/// file lines (64 MiB).
inline constexpr std::uint64_t kMaxBootMapBytes = 64ULL << 20;

/// The boot partition of an in-place image, seen through its map.
class MapBootFiles final : public proto::netboot::BootFiles {
public:
    MapBootFiles(io::FileReadAt image, std::vector<proto::disk::BootMapFile> files);

    [[nodiscard]] std::optional<std::string> read(std::string_view path) const override;
    [[nodiscard]] bool exists(std::string_view path) const override;

    /// The map entry of @p path, or null.
    [[nodiscard]] const proto::disk::BootMapFile* find(std::string_view path) const;
    /// Streams @p file's bytes to @p sink in pieces of at most 1 MiB.
    Result<void> readFile(
        const proto::disk::BootMapFile& file,
        const std::function<Result<void>(std::span<const std::uint8_t>)>& sink) const;
    [[nodiscard]] const std::vector<proto::disk::BootMapFile>& files() const { return files_; }

private:
    io::FileReadAt image_;
    std::vector<proto::disk::BootMapFile> files_;  ///< sorted by path
};

/// What the confined reader found (mapBootConfined).
struct ConfinedBootMap {
    std::uint64_t mapped = 0;   ///< files in the map
    std::uint64_t skipped = 0;  ///< names the map cannot carry
    std::string bootFs;         ///< "FAT16", "FAT32", ...
    std::string rootFs;         ///< "ext4", "other", or "" (no root range given)
};

/// Runs the confined reader (io/sandbox) over @p file (of @p imageSize bytes): it walks
/// the FAT volume at [@p bootOffset, +@p bootSize) and writes @p outDir/boot-map, every
/// file's extents as offsets in @p file; given @p root (offset, size), it also says
/// whether that partition holds an ext2/3/4 file system. The map is not checked here:
/// openInPlace checks it as hostile input. Implemented in image_store.cc.
Result<ConfinedBootMap> mapBootConfined(const std::filesystem::path& file, std::uint64_t imageSize,
                                        std::uint64_t bootOffset, std::uint64_t bootSize,
                                        int bootNumber,
                                        std::optional<std::pair<std::uint64_t, std::uint64_t>> root,
                                        const std::filesystem::path& outDir,
                                        std::chrono::milliseconds timeout);

/// The files of the in-place image @p info, checked against its source file.
Result<MapBootFiles> openInPlace(const ImageInfo& info);

}  // namespace pinet::app
