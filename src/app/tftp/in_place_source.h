#pragma once
// Boot files served straight out of an image file (issue #18, images in place). A client
// of an in-place image has a boot directory of its own (tftp/SERIAL) that holds only
// what pinetboot generates for it (cmdline.txt where its model reads it, ssh); every
// other file is read out of the image's FAT partition at the extents its boot map gives
// (app/image/in_place.h), never by parsing the image's FAT here.
//
// InPlaceFileSource is the TFTP engine's FileSource in front of the folder cache: the
// client's directory first (its overlays win), then the image. Files of one contiguous
// run in the image (what mkfs.fat and cp leave) are shared mappings of the image file,
// as the folder cache maps files, so they are served at the same speed; fragmented ones
// are read once into memory. Both are kept under a byte budget while idle.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "app/image/image_store.h"
#include "core/tftp/file_source.h"
#include "io/fd.h"
#include "proto/disk/boot_map.h"
#include "proto/error.h"

namespace pinet::app {

/// One in-place image opened for serving: its file (held open, so a rename over it
/// cannot swap the bytes under the map) and its map. Immutable.
class InPlaceView {
public:
    /// Opens @p info's image and map, checked as openInPlace checks them (size and
    /// mtime as recorded at `image add`, every extent inside the file).
    static Result<std::shared_ptr<const InPlaceView>> open(const ImageInfo& info);

    [[nodiscard]] const std::string& image() const { return image_; }
    [[nodiscard]] int fd() const { return fd_.get(); }
    /// The map entry of @p path: exact first, then ASCII case-insensitively as the FAT
    /// itself looks names up (a board asking "Start4.elf" gets start4.elf). Null if none.
    [[nodiscard]] const proto::disk::BootMapFile* find(std::string_view path) const;
    /// Whether this view was opened from the image file and map as they are now.
    [[nodiscard]] bool current(const ImageInfo& info) const;

private:
    InPlaceView() = default;
    std::string image_;
    std::uint64_t sourceSize_ = 0;
    std::int64_t sourceMtime_ = 0;
    std::int64_t mapMtime_ = 0;
    io::Fd fd_;
    std::vector<proto::disk::BootMapFile> files_;             ///< sorted by path
    std::map<std::string, std::size_t, std::less<>> folded_;  ///< lowercase path -> index
};

/// Client boot directory (relative to the TFTP root, as the resolver gives it) -> the
/// in-place image its files come from.
using InPlaceViews = std::map<std::string, std::shared_ptr<const InPlaceView>, std::less<>>;

class InPlaceFileSource final : public core::tftp::FileSource {
public:
    struct Options {
        /// Bytes kept after their last transfer ended: mapped runs share the page cache,
        /// copied (fragmented) files are heap; 512 MiB holds the boot files of a dozen
        /// images (a Raspberry Pi OS boot partition holds about 100 MiB).
        std::uint64_t maxIdleBytes = 512ull << 20;
        /// Largest fragmented file read into memory: the largest boot file, an initramfs,
        /// is about 30 MiB; a map that claims more is not trusted with the heap.
        std::uint64_t maxCopyBytes = 256ull << 20;
        /// Netascii copies (text files only; FileCache's bound).
        std::uint64_t maxNetasciiBytes = 16ull << 20;
    };
    struct Stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t entries = 0;
        std::uint64_t bytes = 0;
    };

    /// @p folder: the TFTP root's own files (io::FileCache), asked first.
    explicit InPlaceFileSource(core::tftp::FileSource& folder);
    InPlaceFileSource(core::tftp::FileSource& folder, Options options);

    /// Swaps in the client directories of in-place images (any thread).
    void setViews(std::shared_ptr<const InPlaceViews> views);

    tl::expected<std::shared_ptr<const core::tftp::FileContent>, core::tftp::FileError> open(
        const std::string& relPath, bool netascii) override;

    [[nodiscard]] Stats stats() const;

private:
    struct Key {
        const InPlaceView* view;
        const proto::disk::BootMapFile* file;
        bool netascii;
        auto operator<=>(const Key&) const = default;
    };
    struct Entry {
        std::shared_ptr<const InPlaceView> view;  ///< keeps Key's pointers valid
        std::shared_ptr<const core::tftp::FileContent> blob;
        std::uint64_t lastUse = 0;
    };
    tl::expected<std::shared_ptr<const core::tftp::FileContent>, core::tftp::FileError> load(
        const InPlaceView& view, const proto::disk::BootMapFile& file, bool netascii) const;
    void evictLocked();

    core::tftp::FileSource& folder_;
    Options options_;
    mutable std::mutex mutex_;
    std::shared_ptr<const InPlaceViews> views_;
    std::map<Key, Entry> entries_;
    std::uint64_t useCounter_ = 0;
    std::uint64_t totalBytes_ = 0;
    Stats stats_;
};

}  // namespace pinet::app
