#pragma once
// OS images in the state directory: images/NAME/{boot,root,image.json}.
// Import reads a disk image without mounting anything: a file, a block
// device (an SD card in a reader) or stdin ("-"), raw or compressed as .xz,
// .gz or .zip (told apart by their first bytes, not their names; io/xz,
// io/compress decompress into a sparse temporary file first). Then the partition
// table (proto/disk), the FAT boot partition (proto/disk/fat) and the ext4
// root (io/ext4 via libext2fs). Everything is built in a temporary directory
// next to images/ and renamed into place, so a failed import leaves nothing.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "proto/error.h"

namespace pinet::app {

struct ImageInfo {
    std::string name;
    std::filesystem::path dir;  ///< images/NAME
    std::string source;         ///< the imported file
    std::int64_t importedAt = 0;
    std::string table;  ///< "mbr" or "gpt"
    std::string diskId;
    std::string bootPartuuid;
    std::string rootPartuuid;
    std::string bootFs;  ///< "FAT32" ...
    std::uint64_t bootFiles = 0;
    std::uint64_t rootFiles = 0;
    std::uint64_t rootBytes = 0;
    std::string models;  ///< which Pi models its boot files support ("pi4 cm4 pi5")
    /// How config.txt lays out the boot files (app/image/boot_layout): "flat",
    /// "os_prefix", "current-new-old"; "invalid" when config.txt cannot be followed
    /// (layoutError says why); "" for images imported before layouts were recorded.
    std::string bootLayout;
    bool bootTryboot = false;  ///< a tryboot boot reads other files
    std::string layoutError;
    // Extended attributes the confined reader cannot set (see importImage):
    std::uint64_t securityXattrs = 0;  ///< security.* set by pinetboot itself
    std::uint64_t droppedXattrs = 0;   ///< trusted.*: never applied
    std::uint64_t refusedXattrs = 0;   ///< security.* this host's kernel or LSM refused
    /// A few of the above, made safe for a terminal ("trusted.overlay.opaque on etc/x").
    std::vector<std::string> xattrNotes;

    /// Served in place (`image add --in-place`, app/image/in_place.h): no boot/ or root/,
    /// the boot files read out of `source` through boot-map; sourceSize and sourceMtime
    /// (nanoseconds) are the file's when it was added, checked before every use.
    bool inPlace = false;
    std::uint64_t sourceSize = 0;
    std::int64_t sourceMtime = 0;
    /// In place: the root partition's number (0: none) and file system, "ext4" (the
    /// ext2/3/4 magic, checked by the confined reader) or "other".
    int rootPartition = 0;
    std::string rootFs;
    /// In place: where the FAT boot partition lies in the file (bytes).
    std::uint64_t bootOffset = 0;
    std::uint64_t bootSize = 0;

    [[nodiscard]] std::filesystem::path boot() const { return dir / "boot"; }
    [[nodiscard]] std::filesystem::path bootMap() const { return dir / "boot-map"; }
    [[nodiscard]] std::filesystem::path root() const { return dir / "root"; }
};

/// stage ("decompress", "boot", "root"), done, total.
using ImportProgress = std::function<void(const std::string&, std::uint64_t, std::uint64_t)>;

/// Image names double as directory names: letters, digits, '.', '_', '-',
/// 1..64 characters, starting with a letter or digit.
bool isValidImageName(const std::string& name);

/// The default of ImportOptions::maxBytes: 64 GiB is twice the largest
/// Raspberry Pi OS image (the full desktop image decompresses to about 12
/// GiB) and the size of a common SD card; an SD card image of a larger card
/// needs --max-size.
inline constexpr std::uint64_t kDefaultMaxImageBytes = 64ULL << 30;

struct ImportOptions {
    /// How long the confined reader may take before it is killed and the
    /// import fails; zero: importTimeout() of the partitions.
    std::chrono::milliseconds timeout{0};
    /// Most bytes read from stdin, and most bytes any compressed image may
    /// decompress to (on top of each format's own bound); beyond it the
    /// import fails and removes what it wrote.
    std::uint64_t maxBytes = kDefaultMaxImageBytes;
};

/// The reader's default deadline for partitions of @p bytes in all.
std::chrono::seconds importTimeout(std::uint64_t bytes);

/// Imports @p file ("-": standard input) as images/@p name. The boot and root partitions are read
/// by a confined child (io/sandbox) that writes the trees; security.* and
/// trusted.* attributes, which it may not set, come back in a manifest
/// (proto/disk/xattr_manifest) that is checked here: security.* is applied
/// without following symlinks, trusted.* is dropped and counted.
Result<ImageInfo> importImage(const std::filesystem::path& stateDir,
                              const std::filesystem::path& file, const std::string& name,
                              std::int64_t now, const ImportProgress& progress,
                              const ImportOptions& options = {});
/// Registers the raw image file @p file as images/@p name without extracting it
/// (app/image/in_place.h): its partition table is read here, its FAT boot partition by
/// the confined reader, which writes the map of every boot file's extents; the map is
/// checked, the boot layout recorded from it, and the file is never written. Compressed
/// images, pipes and block devices are refused (an in-place image must stay as it is).
Result<ImageInfo> addImageInPlace(const std::filesystem::path& stateDir,
                                  const std::filesystem::path& file, const std::string& name,
                                  std::int64_t now,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
Result<std::vector<ImageInfo>> listImages(const std::filesystem::path& stateDir);
Result<ImageInfo> findImage(const std::filesystem::path& stateDir, const std::string& name);
Result<void> removeImage(const std::filesystem::path& stateDir, const std::string& name);

}  // namespace pinet::app
