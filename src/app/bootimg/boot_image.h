#pragma once
// boot.img + boot.sig for HTTP boot (spec netboot-protocol.md section 5): a raw
// FAT file system (no partition table) holding a boot folder, and its .sig with
// the same format and signing code as `pinetboot eeprom digest`.

#include <filesystem>
#include <optional>
#include <string>

#include "app/image/image_store.h"
#include "proto/error.h"

namespace pinet::app::bootimg {

struct BootImageOptions {
    std::filesystem::path sourceDir;
    std::filesystem::path output;                 ///< boot.img; the .sig goes next to it
    std::optional<std::filesystem::path> keyPem;  ///< RSA-2048 private key -> rsa2048 line
    std::string volumeLabel = "BOOT";
};

struct BootImageResult {
    std::filesystem::path image;
    std::filesystem::path sig;
    std::uint64_t imageBytes = 0;
    std::uint64_t contentBytes = 0;
    bool signedWithKey = false;
};

/// The Pi loads boot.img into RAM: the docs give 96 MB as the limit (a 2022
/// release note says 128 MB; stay with the smaller, spec section 5).
inline constexpr std::uint64_t kMaxBootImageBytes = 96ull * 1000 * 1000;

/// Builds the image (mkfs.fat + mcopy) and the .sig. Nothing is left behind
/// on failure (temp files + rename). Errors name the file and the reason.
Result<BootImageResult> buildBootImage(const BootImageOptions& options);

/// For a board of an in-place image (issue #18): copies the image's boot files, read
/// through its map as TFTP serves them (never by parsing the image's FAT here), into the
/// empty directory @p stageDir, then @p overlayDir's own files over them (the board's
/// generated cmdline.txt wins), so that buildBootImage(stageDir) makes the board's
/// boot.img. Bounded by kMaxBootImageBytes before anything is copied. Returns the bytes
/// staged; on failure @p stageDir may hold part of them (the caller's temporary dir).
Result<std::uint64_t> stageInPlaceBoot(const ImageInfo& image,
                                       const std::filesystem::path& overlayDir,
                                       const std::filesystem::path& stageDir);

}  // namespace pinet::app::bootimg
