#pragma once
// OS images in the state directory: images/NAME/{boot,root,image.json}.
// Import reads an .img (or .img.xz) without mounting anything: the partition
// table (proto/disk), the FAT boot partition (proto/disk/fat) and the ext4
// root (io/ext4 via libext2fs). Everything is built in a temporary directory
// next to images/ and renamed into place, so a failed import leaves nothing.

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

    [[nodiscard]] std::filesystem::path boot() const { return dir / "boot"; }
    [[nodiscard]] std::filesystem::path root() const { return dir / "root"; }
};

/// stage ("decompress", "boot", "root"), done, total.
using ImportProgress = std::function<void(const std::string&, std::uint64_t, std::uint64_t)>;

/// Image names double as directory names: letters, digits, '.', '_', '-',
/// 1..64 characters, starting with a letter or digit.
bool isValidImageName(const std::string& name);

Result<ImageInfo> importImage(const std::filesystem::path& stateDir,
                              const std::filesystem::path& file, const std::string& name,
                              std::int64_t now, const ImportProgress& progress);
Result<std::vector<ImageInfo>> listImages(const std::filesystem::path& stateDir);
Result<ImageInfo> findImage(const std::filesystem::path& stateDir, const std::string& name);
Result<void> removeImage(const std::filesystem::path& stateDir, const std::string& name);

}  // namespace pinet::app
