#pragma once
// Images served in place (issue #18, `pinetboot image add FILE --in-place`): the image
// file is registered, never extracted and never written. The confined reader (io/sandbox)
// parses its FAT boot partition once and writes a map of every file's extents in the
// image (proto/disk/boot_map); from then on the boot files are read with pread at those
// extents, and nothing parses the image's FAT outside the sandbox. The map is checked
// against the image file as it is now (size and mtime as recorded), so a file changed
// since `image add` is refused, not served wrong.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

/// The files of the in-place image @p info, checked against its source file.
Result<MapBootFiles> openInPlace(const ImageInfo& info);

}  // namespace pinet::app
