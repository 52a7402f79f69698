#pragma once
// A board's own boot files (issue #18): a `--root nbd` or `--root nbd-image` client of
// an image served in place has the whole image as its disk, so /boot/firmware on the
// board is the FAT partition of its own copy-on-write view. A kernel upgrade done on the
// board (apt writing /boot/firmware) must reach its next netboot with no copy step.
//
// refreshBootView makes roots/SERIAL/boot-view from the board's disk when the board has
// written inside the boot partition: qemu-img reads the partition out of the disk
// (through the overlay, which qemu-img map says has data there), the confined reader
// maps its FAT (the board wrote it: hostile), and the folder is swapped in by rename.
// serve then serves the board's files from it instead of the image's
// (app/tftp/in_place_source.h). A board that never wrote there has no boot-view, and
// its files come from the image. When to refresh is serve's choice (BootViewService):
// after the disk has been quiet a moment, and at once when the board asks DHCP.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "app/image/image_store.h"
#include "proto/error.h"

namespace pinet::app {

/// roots/SERIAL/boot-view.
std::filesystem::path bootViewDir(const std::filesystem::path& stateDir, const std::string& serial);

/// The board's boot view as an in-place image (for InPlaceView::open), if it has one.
std::optional<ImageInfo> bootViewInfo(const std::filesystem::path& stateDir,
                                      const std::string& serial);

struct BootViewRefresh {
    enum class Outcome {
        ImageFiles,  ///< nothing written in the boot partition: the image's files serve
        Refreshed,   ///< boot-view made from the board's disk
    };
    Outcome outcome = Outcome::ImageFiles;
    std::string message;
};

/// Brings roots/SERIAL/boot-view in line with the board's disk (@p rootMode nbd or
/// nbd-image over the in-place image @p img). Fails naming what went wrong; the
/// previous boot-view (if any) then stays.
Result<BootViewRefresh> refreshBootView(
    const std::filesystem::path& stateDir, const ImageInfo& img, const std::string& serial,
    const std::string& rootMode, std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace pinet::app
