#include "app/nbd/boot_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/image/in_place.h"
#include "app/nbd/nbd_manager.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/tree_copy.h"
#include "io/process/process.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

// A constant program name looked up in PATH (docs/security.md: never from a file).
constexpr const char* kQemuImg = "qemu-img";

/// qemu's option syntax: a ',' inside a value would start another option.
bool usableInQemuOptions(const std::string& p) {
    return p.find_first_of(",\n") == std::string::npos;
}

/// The disk as qemu block options; an overlay's backing given here, opened read-only
/// (the path written in its header is never followed, as qemu-nbd is given it).
std::string diskOptions(const fs::path& disk, const std::string& rootMode, const ImageInfo& img,
                        const std::string& prefix) {
    if (rootMode == "nbd") {
        return fmt::format(
            "{0}driver=qcow2,{0}file.driver=file,{0}file.filename={1},{0}backing.driver=raw,"
            "{0}backing.file.driver=file,{0}backing.file.filename={2},{0}backing.read-only=on",
            prefix, disk.string(), img.source);
    }
    return fmt::format("{0}driver=raw,{0}file.driver=file,{0}file.filename={1}", prefix,
                       disk.string());
}

/// Whether the overlay's own layer (depth 0 in qemu-img map) holds data or written
/// zeros inside [offset, offset + size): the board wrote in its boot partition.
Result<bool> overlayTouches(const fs::path& disk, const ImageInfo& img, std::uint64_t offset,
                            std::uint64_t size, std::chrono::milliseconds timeout) {
    // -U: the running qemu-nbd holds the image's write lock; this only reads metadata.
    auto text = runNbdTool(
        {kQemuImg, "map", "-U", "--output=json", "--image-opts", diskOptions(disk, "nbd", img, "")},
        timeout);
    if (!text) {
        return tl::unexpected(text.error());
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_array()) {
        return fail("qemu-img map: not a JSON list");
    }
    for (const auto& e : j) {
        const auto start = e.value("start", std::uint64_t{0});
        const auto length = e.value("length", std::uint64_t{0});
        const bool own = e.value("depth", -1) == 0;
        const bool written = e.value("data", false) || e.value("zero", false);
        if (own && written && start < offset + size && offset < start + length) {
            return true;
        }
    }
    return false;
}

}  // namespace

fs::path bootViewDir(const fs::path& stateDir, const std::string& serial) {
    return stateDir / "roots" / serial / "boot-view";
}

std::optional<ImageInfo> bootViewInfo(const fs::path& stateDir, const std::string& serial) {
    const fs::path dir = bootViewDir(stateDir, serial);
    auto id = io::fileIdentity(dir / "boot.fat");
    if (!id || !id->regular) {
        return std::nullopt;
    }
    // Published whole by rename and never written after: its identity now is its own.
    ImageInfo v;
    v.name = "client " + serial;
    v.dir = dir;
    v.source = (dir / "boot.fat").string();
    v.inPlace = true;
    v.sourceSize = id->size;
    v.sourceMtime = id->mtimeNs;
    return v;
}

Result<BootViewRefresh> refreshBootView(const fs::path& stateDir, const ImageInfo& img,
                                        const std::string& serial, const std::string& rootMode,
                                        std::chrono::milliseconds timeout) {
    if (!img.inPlace || img.bootSize == 0) {
        return fail(
            fmt::format("image {} is not served in place (or predates boot_offset in its "
                        "image.json: add it again)",
                        img.name));
    }
    if (!isNbdRootMode(rootMode)) {
        return fail(
            fmt::format("client {}: root mode {} has no disk of its own", serial, rootMode));
    }
    const fs::path disk = NbdPaths{stateDir}.disk(serial, rootMode);
    if (!usableInQemuOptions(disk.string()) || !usableInQemuOptions(img.source)) {
        return fail(fmt::format("{} or {}: a path with ',' cannot be passed to qemu-img",
                                disk.string(), img.source));
    }
    if (!io::programExists(kQemuImg)) {
        return fail("qemu-img is not installed: apt install qemu-utils (Debian/Ubuntu)");
    }
    const fs::path dir = bootViewDir(stateDir, serial);
    BootViewRefresh res;
    if (rootMode == "nbd") {
        auto touched = overlayTouches(disk, img, img.bootOffset, img.bootSize, timeout);
        if (!touched) {
            return tl::unexpected(touched.error());
        }
        if (!*touched) {
            if (auto r = io::removeTree(dir); !r) {
                return tl::unexpected(r.error());
            }
            res.message = fmt::format(
                "client {}: no writes in its boot partition; the image's "
                "files serve",
                serial);
            return res;
        }
    }
    // The partition read out of the disk through the overlay (sparse: zeros are skipped).
    const fs::path staged = stateDir / "roots" / serial / ".boot-view-new";
    if (auto r = io::removeTree(staged); !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = io::makeDirectory(staged, 0700); !r) {
        return tl::unexpected(r.error());
    }
    auto cleanup = [&] {
        (void)io::removeTree(staged);
    };
    const fs::path fat = staged / "boot.fat";
    const std::string part = fmt::format("driver=raw,offset={},size={},{}", img.bootOffset,
                                         img.bootSize, diskOptions(disk, rootMode, img, "file."));
    if (auto r = runNbdTool(
            {kQemuImg, "convert", "-U", "-O", "raw", "--image-opts", part, fat.string()}, timeout);
        !r) {
        cleanup();
        return tl::unexpected(r.error());
    }
    auto mapped =
        mapBootConfined(fat, img.bootSize, 0, img.bootSize, 1, std::nullopt, staged, timeout);
    if (!mapped) {
        cleanup();
        return fail(
            fmt::format("client {}: its boot partition: {}", serial, mapped.error().message));
    }
    // Checked as any map the reader wrote (bounded, every extent inside the file).
    auto id = io::fileIdentity(fat);
    ImageInfo probe;
    probe.name = "client " + serial;
    probe.dir = staged;
    probe.source = fat.string();
    probe.inPlace = true;
    probe.sourceSize = id ? id->size : 0;
    probe.sourceMtime = id ? id->mtimeNs : 0;
    auto files = openInPlace(probe);
    if (!files) {
        cleanup();
        return fail(fmt::format("client {}: {}", serial, files.error().message));
    }
    const fs::path old = stateDir / "roots" / serial / ".boot-view-old";
    (void)io::removeTree(old);
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (auto r = io::renamePath(dir, old); !r) {
            cleanup();
            return tl::unexpected(r.error());
        }
    }
    if (auto r = io::renamePath(staged, dir); !r) {
        (void)io::renamePath(old, dir);
        cleanup();
        return tl::unexpected(r.error());
    }
    // Transfers in flight keep the old file open: removing it here is safe.
    (void)io::removeTree(old);
    res.outcome = BootViewRefresh::Outcome::Refreshed;
    res.message = fmt::format("client {}: boot files from its own disk ({} files, {})", serial,
                              files->files().size(), mapped->bootFs);
    return res;
}

}  // namespace pinet::app
