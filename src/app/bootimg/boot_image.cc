#include "app/bootimg/boot_image.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "app/eeprom/eeprom.h"
#include "app/image/in_place.h"
#include "io/crypto.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/process/process.h"

namespace pinet::app::bootimg {

namespace fs = std::filesystem;

// Why mkfs.fat + mcopy rather than our own FAT writer: dosfstools' mkfs.fat is
// the reference FAT formatter (it picks FAT12/16/32 and the geometry for the
// size, which is where hand-written writers go wrong), and mtools writes into
// the image without mounting it (no root, no loop device). Both are small
// Debian packages already needed by the tests (fsck.fat, mdir), and building a
// boot.img is an offline step, not a hot path.

namespace {

/// Runs argv (no shell); on failure returns the command and the first line it printed
/// on stderr.
Result<void> runTool(const std::vector<std::string>& args) {
    if (!io::programExists(args[0])) {
        return fail(
            fmt::format("{}: cannot run (not found in PATH); install dosfstools and mtools "
                        "(scripts/setup.sh)",
                        args[0]));
    }
    // Formatting a few MiB and copying a boot tree take seconds; the bound only stops a
    // hung tool.
    auto r = io::runProcess(args, std::chrono::minutes(10));
    if (!r) {
        return fail(r.error().message);
    }
    if (r->exitCode != 0) {
        std::string cmd;
        for (const auto& a : args) {
            cmd += (cmd.empty() ? "" : " ") + a;
        }
        const std::string firstLine = r->err.substr(0, r->err.find('\n'));
        return fail(fmt::format("{} failed (exit {}){}", cmd, r->exitCode,
                                firstLine.empty() ? std::string() : ": " + firstLine));
    }
    return {};
}

}  // namespace

Result<BootImageResult> buildBootImage(const BootImageOptions& o) {
    std::error_code ec;
    if (!fs::is_directory(o.sourceDir, ec)) {
        return fail(fmt::format("{}: not a directory", o.sourceDir.string()));
    }
    // Size: the files rounded up to 4 KiB clusters, plus room for FATs and
    // directories (1/16 + 1 MiB), at least 4 MiB (mkfs.fat's FAT12/16 range).
    std::uint64_t content = 0;
    std::uint64_t rounded = 0;
    std::size_t entries = 0;
    for (auto it = fs::recursive_directory_iterator(o.sourceDir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        ++entries;
        if (it->is_symlink(ec)) {
            return fail(
                fmt::format("{}: symlinks are not copied into a FAT image", it->path().string()));
        }
        if (it->is_regular_file(ec)) {
            const auto sz = it->file_size(ec);
            content += sz;
            rounded += (sz + 4095) / 4096 * 4096;
        }
    }
    if (ec) {
        return fail(fmt::format("{}: {}", o.sourceDir.string(), ec.message()));
    }
    const std::uint64_t overhead = rounded / 16 + entries * 4096 + (1u << 20);
    std::uint64_t kib = std::max<std::uint64_t>((rounded + overhead) / 1024 + 1, 4096);
    if (kib * 1024 > kMaxBootImageBytes) {
        return fail(
            fmt::format("{}: {} bytes of files make a boot.img over the {} byte limit the "
                        "bootloader loads (spec 5); use a smaller folder",
                        o.sourceDir.string(), content, kMaxBootImageBytes));
    }
    std::optional<io::RsaKey> key;
    if (o.keyPem) {
        auto k = io::RsaKey::loadPemFile(*o.keyPem);
        if (!k) {
            return fail(k.error().message);
        }
        if (!k->hasPrivate()) {
            return fail(fmt::format("{}: a private key is needed to sign", o.keyPem->string()));
        }
        key = std::move(*k);
    }

    const fs::path out = fs::absolute(o.output);
    fs::path sig = out;
    sig.replace_extension(".sig");
    const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".tmp");
    fs::remove(tmp, ec);
    auto cleanup = [&] {
        fs::remove(tmp, ec);
    };
    if (auto r =
            runTool({"mkfs.fat", "-C", "-n", o.volumeLabel, tmp.string(), std::to_string(kib)});
        !r) {
        cleanup();
        return fail(r.error().message);
    }
    for (const auto& entry : fs::directory_iterator(o.sourceDir, ec)) {
        // -s recursive, -p keep attributes, -Q stop at the first error, -m keep times.
        if (auto r = runTool({"mcopy", "-i", tmp.string(), "-s", "-p", "-Q", "-m",
                              entry.path().string(), "::/"});
            !r) {
            cleanup();
            return fail(r.error().message);
        }
    }
    auto bytes = io::readFile(tmp);
    if (!bytes) {
        cleanup();
        return fail(bytes.error().message);
    }
    auto ts = eeprom::defaultTimestamp();
    if (!ts) {
        cleanup();
        return fail(ts.error().message);
    }
    eeprom::DigestOptions d;
    d.timestamp = *ts;
    d.signingKey = key ? &*key : nullptr;
    auto sigText = eeprom::makeDigest(*bytes, d);
    if (!sigText) {
        cleanup();
        return fail(sigText.error().message);
    }
    if (auto moved = io::renamePath(tmp, out); !moved) {
        cleanup();
        return fail(moved.error().message);
    }
    const std::vector<std::uint8_t> sigBytes(sigText->begin(), sigText->end());
    if (auto w = io::writeFileAtomic(sig, sigBytes); !w) {
        return fail(w.error().message);
    }
    BootImageResult res;
    res.image = out;
    res.sig = sig;
    res.imageBytes = bytes->size();
    res.contentBytes = content;
    res.signedWithKey = key.has_value();
    return res;
}

Result<std::uint64_t> stageInPlaceBoot(const ImageInfo& image, const fs::path& overlayDir,
                                       const fs::path& stageDir) {
    auto files = openInPlace(image);
    if (!files) {
        return fail(files.error().message);
    }
    std::error_code ec;
    if (!fs::is_directory(overlayDir, ec)) {
        return fail(fmt::format("{}: not a directory", overlayDir.string()));
    }
    std::uint64_t total = 0;
    for (const auto& f : files->files()) {
        total += f.size;
    }
    if (total > kMaxBootImageBytes) {
        return fail(
            fmt::format("image {}: its {} bytes of boot files make a boot.img over the {} "
                        "byte limit the bootloader loads (spec 5)",
                        image.name, total, kMaxBootImageBytes));
    }
    for (const auto& f : files->files()) {
        // The map's paths are relative, without . or .. parts (decodeBootMap checks them),
        // and the stage is fresh: nothing here can point outside it.
        const fs::path dest = stageDir / f.path;
        if (fs::exists(overlayDir / f.path, ec)) {
            continue;  // the board's own file, copied below
        }
        fs::create_directories(dest.parent_path(), ec);
        if (ec) {
            return fail(fmt::format("{}: {}", dest.parent_path().string(), ec.message()));
        }
        auto fd = io::createExclusive(dest, 0644);
        if (!fd) {
            return fail(fd.error().message);
        }
        auto copied = files->readFile(f, [&](std::span<const std::uint8_t> piece) -> Result<void> {
            return io::writeAll(fd->get(), piece);
        });
        if (!copied) {
            return fail(
                fmt::format("image {}: {}: {}", image.name, f.path, copied.error().message));
        }
        if (auto t = io::setTimes(fd->get(), f.mtime); !t) {
            return fail(t.error().message);
        }
    }
    // The board's folder over them: regular files and directories only, as
    // buildBootImage takes them (a symlink is refused there, with its name).
    for (auto it = fs::recursive_directory_iterator(overlayDir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        const fs::path rel = fs::relative(it->path(), overlayDir, ec);
        if (ec) {
            break;
        }
        const fs::path dest = stageDir / rel;
        if (it.depth() == 0 && (rel == "boot.img" || rel == "boot.sig")) {
            continue;  // HTTP boot's own outputs, kept in the board's folder: not boot files
        }
        if (it->is_symlink(ec)) {
            return fail(
                fmt::format("{}: symlinks are not copied into a FAT image", it->path().string()));
        }
        if (it->is_directory(ec)) {
            fs::create_directories(dest, ec);
        } else if (it->is_regular_file(ec)) {
            fs::create_directories(dest.parent_path(), ec);
            if (!ec) {
                fs::copy_file(it->path(), dest, fs::copy_options::overwrite_existing, ec);
            }
            if (!ec) {
                total += it->file_size(ec);
            }
        }
        if (ec) {
            return fail(fmt::format("{}: {}", it->path().string(), ec.message()));
        }
    }
    if (ec) {
        return fail(fmt::format("{}: {}", overlayDir.string(), ec.message()));
    }
    return total;
}

}  // namespace pinet::app::bootimg
