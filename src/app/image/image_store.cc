#include "app/image/image_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/image/boot_layout.h"
#include "app/image/in_place.h"
#include "app/json_text.h"
#include "app/settings.h"
#include "io/compress/image_source.h"
#include "io/ext4/ext4_extract.h"
#include "io/fd.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/in_tree.h"
#include "io/fs/read_at_file.h"
#include "io/fs/tree_copy.h"
#include "io/sandbox/sandbox.h"
#include "io/xz/xz_reader.h"
#include "proto/disk/boot_map.h"
#include "proto/disk/fat.h"
#include "proto/disk/partition_table.h"
#include "proto/disk/xattr_manifest.h"
#include "proto/text/safe_text.h"

namespace pinet::app {

namespace fs = std::filesystem;
using proto::disk::PartitionKind;

namespace {

/// The models whose device tree the firmware finds, following config.txt's
/// os_prefix and device_tree= (netboot-protocol.md 4.3, 4.4; app/image/boot_layout).
/// The five models `client add --model` takes.
std::string supportedModels(const BootLayout* layout) {
    std::string out;
    if (layout == nullptr) {
        return out;
    }
    for (const char* model : {"pi4", "cm4", "pi400", "pi5", "cm5"}) {
        auto board = proto::netboot::parsePiBoard(model);
        for (const auto& c : layout->chains) {
            if (!c.tryboot && board && c.board == *board && c.chain.dtbFound) {
                out += (out.empty() ? "" : " ") + std::string(model);
            }
        }
    }
    return out;
}

/// image.json's record of the layout: its kind, and per model the files a normal
/// boot reads (and a tryboot boot, where it differs).
nlohmann::json layoutJson(const BootLayout& layout) {
    nlohmann::json chains = nlohmann::json::object();
    for (const auto& c : layout.chains) {
        if (!c.chain.dtbFound) {
            continue;
        }
        nlohmann::json one = {{"config", c.chain.settings.configFile},
                              {"os_prefix", c.chain.osPrefix},
                              {"cmdline", c.chain.cmdline},
                              {"kernel", c.chain.kernel},
                              {"dtb", c.chain.dtb},
                              {"initramfs", c.chain.initramfs},
                              {"complete", c.chain.complete()}};
        chains[std::string(proto::netboot::piBoardCode(c.board)) + (c.tryboot ? "+tryboot" : "")] =
            std::move(one);
    }
    return chains;
}

Result<std::uint64_t> extractFat(const proto::disk::ReadAt& disk,
                                 const proto::disk::Partition& part, const fs::path& dest,
                                 std::string& fsName, const ImportProgress& progress) {
    auto vol = proto::disk::FatVolume::open(proto::disk::sliceReader(disk, part.offset, part.size),
                                            part.size);
    if (!vol) {
        return fail(fmt::format("boot partition {}: {}", part.number, vol.error().message));
    }
    fsName = std::string(proto::disk::fatTypeName(vol->type()));
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::vector<std::pair<fs::path, std::int64_t>> dirTimes;
    auto r =
        vol->walk([&](const std::string& path, const proto::disk::FatEntry& e) -> Result<void> {
            fs::path p = dest / path;
            if (e.directory) {
                if (auto made = io::makeDirectory(p, 0755); !made) {
                    return made;
                }
                dirTimes.emplace_back(p, e.mtime);
                return {};
            }
            auto out = io::createExclusive(p, 0644);
            if (!out) {
                return tl::unexpected(out.error());
            }
            auto w = vol->readFile(e, [&](std::span<const std::uint8_t> d) -> Result<void> {
                if (auto wrote = io::writeAll(out->get(), d); !wrote) {
                    return fail(fmt::format("{}: {}", p.string(), wrote.error().message));
                }
                bytes += d.size();
                if (progress) {
                    progress("boot", bytes, part.size);
                }
                return {};
            });
            if (!w) {
                return fail(fmt::format("boot partition: {}: {}", path, w.error().message));
            }
            (void)io::setTimes(out->get(), e.mtime);
            files++;
            return {};
        });
    if (!r) {
        return tl::unexpected(r.error());
    }
    // Directory times last: creating files inside changed them.
    for (auto it = dirTimes.rbegin(); it != dirTimes.rend(); ++it) {
        (void)io::setTimes(it->first, it->second);
    }
    return files;
}

struct Extracted {
    std::string bootFs;
    std::uint64_t bootFiles = 0;
    io::Ext4Stats root;
};

// The manifest of attributes the child may not set, in the child's root
// (the import's temporary directory); removed before the rename.
constexpr const char* kManifest = "xattrs.manifest";

/// The child's side of the manifest: records buffered and written in 1 MiB
/// steps (its size is bounded by the extractor's attribute budget).
class ManifestWriter {
public:
    Result<void> open() {
        // O_EXCL: never an existing entry, nor a symlink planted there.
        auto fd = io::createExclusive(std::string("/") + kManifest, 0600);
        if (!fd) {
            return fail(fmt::format("{}: cannot create: {}", kManifest, fd.error().message));
        }
        fd_ = std::move(*fd);
        buf_.append(proto::disk::kXattrManifestMagic);
        return {};
    }
    Result<void> add(const std::string& rel, const std::string& name,
                     std::span<const std::uint8_t> value) {
        if (auto r = proto::disk::appendXattrRecord(buf_, rel, name, value); !r) {
            return r;
        }
        return buf_.size() >= (1U << 20) ? flush() : Result<void>{};
    }
    Result<void> flush() {
        auto r = io::writeAll(
            fd_.get(), std::span(reinterpret_cast<const std::uint8_t*>(buf_.data()), buf_.size()));
        buf_.clear();
        return r;
    }

private:
    io::Fd fd_;
    std::string buf_;
};

/// Both partitions are parsed and written by a confined child (io/sandbox:
/// chroot onto @p dir, few capabilities, seccomp), so a bug in libext2fs or
/// the FAT reader cannot reach the rest of the system. It writes boot/ and
/// root/ itself, owners and modes included, and reports its counts in
/// lines; if it fails or dies, the caller's temporary directory goes.
Result<Extracted> extractConfined(const fs::path& dir, const fs::path& disk,
                                  const proto::disk::Partition& boot,
                                  const proto::disk::Partition& root,
                                  const ImportProgress& progress,
                                  std::chrono::milliseconds timeout) {
    Extracted out;
    auto work = [&](io::SandboxChild& child) -> Result<void> {
        // Opened here: the child inherits no descriptor of the parent's.
        auto image = io::openForReading(disk);
        if (!image) {
            return tl::unexpected(image.error());
        }
        auto reader = io::openReadAt(disk);
        if (!reader) {
            return tl::unexpected(reader.error());
        }
        if (auto r = child.confine(); !r) {
            return r;
        }
        ManifestWriter manifest;
        if (auto r = manifest.open(); !r) {
            return r;
        }
        // Progress in steps of 1 MiB, not one line per cluster.
        std::uint64_t last = 0;
        auto report = [&](const std::string& phase, std::uint64_t d, std::uint64_t t) {
            if (d < last || d - last >= (1U << 20) || d == t) {
                last = d;
                child.send(fmt::format("progress {} {} {}", phase, d, t));
            }
        };
        std::string fsName;
        auto files = extractFat(reader->read, boot, "/boot", fsName, report);
        if (!files) {
            return tl::unexpected(files.error());
        }
        child.send(fmt::format("boot {} {}", *files, fsName));
        last = 0;
        auto st = io::extractExt4(
            image->release(), root.offset, root.size, "/root",
            [&](std::uint64_t d, std::uint64_t t) { report("root", d, t); },
            [&](const std::string& rel, const std::string& name,
                std::span<const std::uint8_t> value) { return manifest.add(rel, name, value); });
        if (!st) {
            return tl::unexpected(st.error());
        }
        if (auto r = manifest.flush(); !r) {
            return fail(fmt::format("{}: {}", kManifest, r.error().message));
        }
        child.send(fmt::format("root {} {} {} {} {} {} {}", st->files, st->directories,
                               st->symlinks, st->specials, st->hardlinks, st->xattrs, st->bytes));
        return {};
    };
    bool sawBoot = false;
    bool sawRoot = false;
    auto receive = [&](std::string_view line) {
        std::istringstream in{std::string(line)};
        std::string kind;
        in >> kind;
        if (kind == "progress") {
            std::string phase;
            std::uint64_t d = 0;
            std::uint64_t t = 0;
            if (in >> phase >> d >> t && progress) {
                progress(phase, d, t);
            }
        } else if (kind == "boot") {
            sawBoot = static_cast<bool>(in >> out.bootFiles >> out.bootFs);
        } else if (kind == "root") {
            auto& r = out.root;
            sawRoot = static_cast<bool>(in >> r.files >> r.directories >> r.symlinks >>
                                        r.specials >> r.hardlinks >> r.xattrs >> r.bytes);
        }
    };
    bool timedOut = false;
    if (auto r = io::runSandboxed(dir, work, receive, timeout, &timedOut); !r) {
        if (timedOut) {
            return fail(
                fmt::format("image import: {} and was killed (a crafted image that makes it loop? "
                            "--timeout SECONDS allows more)",
                            r.error().message));
        }
        return tl::unexpected(r.error());
    }
    if (!sawBoot || !sawRoot) {
        return fail("the extraction process ended without reporting its results");
    }
    return out;
}

/// Whether a refusal of setxattr() is this host's policy (no support for the
/// namespace on the state directory's file system, an LSM that rejects the
/// label) rather than a fault of the import.
bool hostRefuses(int e) {
    return e == EOPNOTSUPP || e == ENOTSUP || e == EPERM || e == EACCES || e == EINVAL;
}

/// The parent's side of the manifest, read after the child is gone (nothing
/// changes the tree under it): every record is checked, security.* applied
/// beneath root/ without following a symlink (io/fs/in_tree), trusted.*
/// dropped, anything else refused (an honest child records nothing else).
/// The manifest can be no larger than the root partition: the child charges
/// each record to a budget of the file system's used blocks.
Result<void> applyManifest(const fs::path& dir, std::uint64_t partitionSize, ImageInfo& info) {
    auto top = io::openDirectory(dir);
    if (!top) {
        return tl::unexpected(top.error());
    }
    io::Fd mf(io::openInTreeRaw(top->get(), kManifest, O_RDONLY | O_NONBLOCK));
    if (!mf) {
        return fail(fmt::format("the reader left no {} (misbehaving reader?)", kManifest));
    }
    struct stat st {};
    if (::fstat(mf.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return fail(fmt::format("{} is not a regular file (misbehaving reader?)", kManifest));
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > partitionSize + proto::disk::kXattrManifestMagic.size()) {
        return fail(fmt::format("{} holds {} bytes, more than the root partition ({})", kManifest,
                                size, partitionSize));
    }
    auto root = io::openInTree(top->get(), "root", O_RDONLY | O_DIRECTORY);
    if (!root) {
        return tl::unexpected(root.error());
    }
    constexpr std::size_t kMaxNotes = 5;
    auto note = [&](const std::string& what) {
        if (info.xattrNotes.size() < kMaxNotes) {
            info.xattrNotes.push_back(proto::text::safeText(what, 300));
        }
    };
    proto::disk::XattrManifestReader reader(
        [fd = mf.get()](std::uint64_t off, std::span<std::uint8_t> out) -> Result<void> {
            auto n = io::readAt(fd, out, off);
            if (!n) {
                return tl::unexpected(n.error());
            }
            if (*n != out.size()) {
                return fail("extended attribute manifest: short read");
            }
            return {};
        },
        size);
    while (true) {
        auto rec = reader.next();
        if (!rec) {
            return tl::unexpected(rec.error());
        }
        if (!*rec) {
            break;
        }
        const auto& r = **rec;
        const std::string where = r.path.empty() ? "/" : r.path;
        switch (proto::disk::routeXattr(r.name)) {
            case proto::disk::XattrRoute::Drop:
                info.droppedXattrs++;
                note(fmt::format("dropped {} on {}", r.name, where));
                break;
            case proto::disk::XattrRoute::Child:
                return fail(fmt::format(
                    "the reader recorded {} on {}, which it sets itself (misbehaving reader?)",
                    proto::text::safeText(r.name, 300), proto::text::safeText(where, 300)));
            case proto::disk::XattrRoute::Parent: {
                auto set = io::setXattrInTree(
                    root->get(), r.path, r.name,
                    std::span(reinterpret_cast<const std::uint8_t*>(r.value.data()),
                              r.value.size()));
                if (set) {
                    info.securityXattrs++;
                } else if (hostRefuses(errno)) {
                    info.refusedXattrs++;
                    note(fmt::format("refused by this host: {}", set.error().message));
                } else {
                    return fail(fmt::format("root: cannot set an extended attribute: {}",
                                            proto::text::safeText(set.error().message, 600)));
                }
                break;
            }
        }
    }
    mf.reset();
    if (::unlinkat(top->get(), kManifest, 0) != 0) {
        return fail(fmt::format("{}: cannot remove: {}", kManifest, std::strerror(errno)));
    }
    return {};
}

ImageInfo infoFromJson(const fs::path& dir, const nlohmann::json& j) {
    ImageInfo i;
    i.dir = dir;
    i.name = j.value("name", dir.filename().string());
    i.source = j.value("source", "");
    i.importedAt = j.value("imported_at", std::int64_t{0});
    i.table = j.value("table", "");
    i.diskId = j.value("disk_id", "");
    i.bootPartuuid = j.value("boot_partuuid", "");
    i.rootPartuuid = j.value("root_partuuid", "");
    i.bootFs = j.value("boot_fs", "");
    i.bootFiles = j.value("boot_files", std::uint64_t{0});
    i.rootFiles = j.value("root_files", std::uint64_t{0});
    i.rootBytes = j.value("root_bytes", std::uint64_t{0});
    i.models = j.value("models", "");
    i.bootLayout = j.value("boot_layout", "");
    i.bootTryboot = j.value("boot_tryboot", false);
    i.layoutError = j.value("boot_layout_error", "");
    i.securityXattrs = j.value("security_xattrs", std::uint64_t{0});
    i.droppedXattrs = j.value("dropped_xattrs", std::uint64_t{0});
    i.refusedXattrs = j.value("refused_xattrs", std::uint64_t{0});
    i.inPlace = j.value("in_place", false);
    i.sourceSize = j.value("source_size", std::uint64_t{0});
    i.sourceMtime = j.value("source_mtime_ns", std::int64_t{0});
    i.rootPartition = j.value("root_partition", 0);
    i.bootOffset = j.value("boot_offset", std::uint64_t{0});
    i.bootSize = j.value("boot_size", std::uint64_t{0});
    i.rootFs = j.value("root_fs", "");
    return i;
}

}  // namespace

std::chrono::seconds importTimeout(std::uint64_t bytes) {
    // The reader reads at most its two partitions and writes at most what
    // their used blocks hold. 20 MiB/s is slower than a USB 2 disk or an SD
    // card writes, so an honest import never meets this deadline (a 32 GiB
    // card: 120 s + 1639 s), while a reader looping on a crafted image is
    // killed in bounded time rather than holding the command for ever.
    constexpr std::uint64_t kBytesPerSecond = 20ULL << 20;
    return std::chrono::seconds{120 + bytes / kBytesPerSecond};
}

namespace {

/// The end of an import or an in-place add: image.json (@p j, with the layout error if
/// there is one) written into @p tmp, which is then renamed to @p final and kept.
Result<void> publishImage(io::TempDir& tmp, const fs::path& final, const ImageInfo& info,
                          nlohmann::json j) {
    if (!info.layoutError.empty()) {
        j["boot_layout_error"] = info.layoutError;
    }
    if (auto w = io::writeFileAtomic(tmp.path() / "image.json", dumpJson(j, 2) + "\n"); !w) {
        return w;
    }
    auto moved =
        io::setMode(tmp.path(), 0755).and_then([&] { return io::renamePath(tmp.path(), final); });
    if (!moved) {
        return fail(fmt::format("{}: cannot move the image into place: {}", final.string(),
                                moved.error().message));
    }
    tmp.release();
    return {};
}

}  // namespace

bool isValidImageName(const std::string& name) {
    if (name.empty() || name.size() > 64 ||
        std::isalnum(static_cast<unsigned char>(name[0])) == 0) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    });
}

Result<ImageInfo> importImage(const fs::path& stateDir, const fs::path& file,
                              const std::string& name, std::int64_t now,
                              const ImportProgress& progress, const ImportOptions& options) {
    if (!isValidImageName(name)) {
        return fail(
            fmt::format("image name \"{}\" is not valid (letters, digits, '.', '_', '-')", name));
    }
    StatePaths paths{stateDir};
    fs::path final = paths.images() / name;
    std::error_code ec;
    if (fs::exists(final, ec)) {
        return fail(fmt::format("image \"{}\" already exists (pinetboot image remove {} first)",
                                name, name));
    }
    // Root only: see ensurePrivateDir (the image's setuid files and devices live below).
    if (auto r =
            ensurePrivateDir(stateDir).and_then([&] { return ensurePrivateDir(paths.images()); });
        !r) {
        return tl::unexpected(r.error());
    }
    // Built here, renamed to images/NAME at the end; removed on any failure.
    io::TempDir tmp(".import-" + name, paths.images());
    const bool fromStdin = file == "-";
    const std::string shown = fromStdin ? std::string("standard input") : file.string();
    auto limitHint = [&](bool hit) {
        return hit ? std::string(" (--max-size BYTES raises the limit)") : std::string();
    };
    fs::path input = file;
    if (fromStdin) {
        // A pipe cannot be read at random offsets: copied first, bounded by
        // maxBytes (nothing in a pipe declares its size).
        input = tmp.path() / "stdin.img";
        bool hit = false;
        auto n = io::copyStreamToFile(
            STDIN_FILENO, input, options.maxBytes,
            [&](std::uint64_t d, std::uint64_t t) {
                if (progress) {
                    progress("read", d, t);
                }
            },
            &hit);
        if (!n) {
            return fail(n.error().message + limitHint(hit));
        }
    }
    auto format = io::detectImageFormat(input);
    if (!format) {
        return tl::unexpected(format.error());
    }
    auto decompressing = [&](std::uint64_t d, std::uint64_t t) {
        if (progress) {
            progress("decompress", d, t);
        }
    };
    fs::path disk = input;
    bool hit = false;
    switch (*format) {
        case io::ImageFormat::Raw: break;
        case io::ImageFormat::Xz: {
            disk = tmp.path() / "disk.img";
            auto n = io::decompressXz(input, disk, decompressing, options.maxBytes, &hit);
            if (!n) {
                return fail(n.error().message + limitHint(hit));
            }
            break;
        }
        case io::ImageFormat::Gzip: {
            // gzip declares its size only modulo 2^32 (RFC 1952 ISIZE), so
            // the bound is the image's own partition table: nothing past the
            // last partition is read, so nothing past it is written.
            disk = tmp.path() / "disk.img";
            auto n = io::decompressGzip(input, disk, options.maxBytes, proto::disk::diskExtent,
                                        decompressing, &hit);
            if (!n) {
                return fail(fmt::format("{}{}", n.error().message, limitHint(hit)));
            }
            break;
        }
        case io::ImageFormat::Zip: {
            disk = tmp.path() / "disk.img";
            auto n = io::extractZipImage(input, disk, options.maxBytes, decompressing, &hit);
            if (!n) {
                return fail(n.error().message + limitHint(hit));
            }
            break;
        }
        case io::ImageFormat::Bzip2:
        case io::ImageFormat::Zstd:
            return fail(
                fmt::format("{}: {}-compressed, which pinetboot does not read: decompress it first "
                            "({} -d), or recompress it with xz or gzip",
                            shown, io::imageFormatName(*format),
                            *format == io::ImageFormat::Bzip2 ? "bzip2" : "zstd"));
    }
    if (fromStdin && disk != input) {
        // The compressed copy is not needed any more: free its space now.
        fs::remove(input, ec);
    }
    auto reader = io::openReadAt(disk);
    if (!reader) {
        return tl::unexpected(reader.error());
    }
    auto table = proto::disk::parsePartitionTable(reader->read, reader->size);
    if (!table) {
        return fail(fmt::format("{}: {}", shown, table.error().message));
    }
    const proto::disk::Partition* boot = nullptr;
    const proto::disk::Partition* root = nullptr;
    std::string seen;
    for (const auto& p : table->partitions) {
        seen += fmt::format("{}{}={} ({})", seen.empty() ? "" : ", ", p.number,
                            proto::disk::partitionKindName(p.kind), p.type);
        if (boot == nullptr && (p.kind == PartitionKind::Fat || p.kind == PartitionKind::Efi)) {
            boot = &p;
        } else if (root == nullptr && p.kind == PartitionKind::Linux) {
            root = &p;
        }
    }
    if (boot == nullptr) {
        return fail(fmt::format("{}: no FAT boot partition (partitions: {})", shown, seen));
    }
    if (root == nullptr) {
        return fail(fmt::format("{}: no Linux root partition (partitions: {})", shown, seen));
    }
    ImageInfo info;
    info.name = name;
    info.dir = final;
    info.source = fromStdin ? std::string("-") : fs::absolute(file).string();

    info.importedAt = now;
    info.table = table->kind == proto::disk::TableKind::Gpt ? "gpt" : "mbr";
    info.diskId = table->diskId;
    info.bootPartuuid = boot->partuuid;
    info.rootPartuuid = root->partuuid;

    fs::path bootDir = tmp.path() / "boot";
    if (auto r = io::makeDirectory(bootDir, 0755); !r) {
        return tl::unexpected(r.error());
    }
    fs::path rootDir = tmp.path() / "root";
    if (auto r = io::makeDirectory(rootDir, 0700); !r) {
        return tl::unexpected(r.error());
    }
    const std::chrono::milliseconds timeout =
        options.timeout.count() > 0 ? options.timeout : importTimeout(boot->size + root->size);
    auto got = extractConfined(tmp.path(), disk, *boot, *root, progress, timeout);
    if (!got) {
        return fail(fmt::format("{}: {}", shown, got.error().message));
    }
    if (auto r = applyManifest(tmp.path(), root->size, info); !r) {
        return fail(fmt::format("{}: {}", shown, r.error().message));
    }
    info.bootFs = got->bootFs;
    info.bootFiles = got->bootFiles;
    const io::Ext4Stats* stats = &got->root;
    info.rootFiles =
        stats->files + stats->directories + stats->symlinks + stats->specials + stats->hardlinks;
    info.rootBytes = stats->bytes;
    nlohmann::json chains = nlohmann::json::object();
    if (auto layout = detectBootLayout(bootDir)) {
        info.models = supportedModels(&*layout);
        info.bootLayout = layout->kind;
        info.bootTryboot = layout->tryboot;
        chains = layoutJson(*layout);
    } else {
        // Recorded, not fatal: the image's files are all there, and `client add` and
        // `doctor` say the same when they follow config.txt.
        info.bootLayout = "invalid";
        info.layoutError = proto::text::safeText(layout.error().message, 300);
    }
    reader->read = nullptr;  // close the image before deleting a decompressed copy
    if (disk != file) {
        fs::remove(disk, ec);  // a decompressed or copied image
    }
    nlohmann::json j = {{"name", info.name},
                        {"source", info.source},
                        {"imported_at", info.importedAt},
                        {"table", info.table},
                        {"disk_id", info.diskId},
                        {"boot_partuuid", info.bootPartuuid},
                        {"root_partuuid", info.rootPartuuid},
                        {"boot_fs", info.bootFs},
                        {"boot_files", info.bootFiles},
                        {"root_files", info.rootFiles},
                        {"root_bytes", info.rootBytes},
                        {"models", info.models},
                        {"boot_layout", info.bootLayout},
                        {"boot_tryboot", info.bootTryboot},
                        {"boot_chains", chains},
                        {"security_xattrs", info.securityXattrs},
                        {"dropped_xattrs", info.droppedXattrs},
                        {"refused_xattrs", info.refusedXattrs}};
    if (auto r = publishImage(tmp, final, info, std::move(j)); !r) {
        return tl::unexpected(r.error());
    }
    return info;
}

Result<ConfinedBootMap> mapBootConfined(const fs::path& file, std::uint64_t imageSize,
                                        std::uint64_t bootOffset, std::uint64_t bootSize,
                                        int bootNumber,
                                        std::optional<std::pair<std::uint64_t, std::uint64_t>> root,
                                        const fs::path& outDir, std::chrono::milliseconds timeout) {
    namespace disk = proto::disk;
    // The confined reader: the FAT walked, every regular file's extents (offsets in the
    // image file) written to /boot-map in its root, which is tmp.
    auto work = [&](io::SandboxChild& child) -> Result<void> {
        auto in = io::openReadAt(file);
        if (!in) {
            return tl::unexpected(in.error());
        }
        if (auto r = child.confine(); !r) {
            return r;
        }
        auto vol =
            disk::FatVolume::open(disk::sliceReader(in->read, bootOffset, bootSize), bootSize);
        if (!vol) {
            return fail(fmt::format("boot partition {}: {}", bootNumber, vol.error().message));
        }
        std::vector<disk::BootMapFile> files;
        std::uint64_t skipped = 0;
        auto walked =
            vol->walk([&](const std::string& path, const disk::FatEntry& e) -> Result<void> {
                if (e.directory) {
                    return {};
                }
                auto ext = vol->extents(e);
                if (!ext) {
                    return fail(fmt::format("boot partition: {}: {}", path, ext.error().message));
                }
                disk::BootMapFile f{path, e.size, e.mtime, {}};
                for (const auto& x : *ext) {
                    f.extents.push_back({bootOffset + x.offset, x.length});
                }
                files.push_back(std::move(f));
                return {};
            });
        if (!walked) {
            return walked;
        }
        std::sort(
            files.begin(), files.end(),
            [](const disk::BootMapFile& a, const disk::BootMapFile& b) { return a.path < b.path; });
        // Names the map cannot carry (control characters, ...) are left out and counted:
        // no board asks for them over TFTP.
        std::vector<disk::BootMapFile> kept;
        for (auto& f : files) {
            if (disk::encodeBootMap({f}, imageSize)) {
                kept.push_back(std::move(f));
            } else {
                ++skipped;
            }
        }
        auto text = disk::encodeBootMap(kept, imageSize);
        if (!text) {
            return tl::unexpected(text.error());
        }
        auto fd = io::createExclusive("/boot-map", 0644);
        if (!fd) {
            return tl::unexpected(fd.error());
        }
        if (auto w = io::writeAll(
                fd->get(),
                std::span(reinterpret_cast<const std::uint8_t*>(text->data()), text->size()));
            !w) {
            return w;
        }
        child.send(
            fmt::format("map {} {} {}", kept.size(), skipped, disk::fatTypeName(vol->type())));
        // The root partition's file system, for `client add --root nbd`: the board's
        // initramfs mounts it as ext4. The ext2/3/4 superblock sits 1024 bytes in, its
        // magic 0xEF53 (little-endian) at offset 0x38 of it (ext4 disk layout, "The
        // Super Block"); the ext4 driver mounts all three.
        if (root) {
            std::array<std::uint8_t, 2> magic{};
            const bool ext = root->second >= 2048 && in->read(root->first + 1024 + 0x38, magic) &&
                             magic[0] == 0x53 && magic[1] == 0xEF;
            child.send(fmt::format("root {}", ext ? "ext4" : "other"));
        }
        return {};
    };
    ConfinedBootMap out;
    std::uint64_t& mapped = out.mapped;
    std::uint64_t& skipped = out.skipped;
    std::string& fsName = out.bootFs;
    std::string& rootFs = out.rootFs;
    bool sawMap = false;
    auto receive = [&](std::string_view line) {
        std::istringstream in{std::string(line)};
        std::string kind;
        in >> kind;
        if (kind == "map") {
            sawMap = static_cast<bool>(in >> mapped >> skipped >> fsName);
        } else if (kind == "root") {
            std::string fs;
            in >> fs;
            rootFs = fs == "ext4" ? "ext4" : "other";  // nothing else from the child is kept
        }
    };
    bool timedOut = false;
    const auto deadline = timeout.count() > 0 ? timeout : importTimeout(bootSize);
    if (auto r = io::runSandboxed(outDir, work, receive, deadline, &timedOut); !r) {
        return tl::unexpected(r.error());
    }
    if (!sawMap) {
        return fail("the reader reported no map");
    }
    return out;
}

Result<ImageInfo> addImageInPlace(const fs::path& stateDir, const fs::path& file,
                                  const std::string& name, std::int64_t now,
                                  std::chrono::milliseconds timeout) {
    namespace disk = proto::disk;
    if (!isValidImageName(name)) {
        return fail(
            fmt::format("image name \"{}\" is not valid (letters, digits, '.', '_', '-')", name));
    }
    StatePaths paths{stateDir};
    const fs::path final = paths.images() / name;
    std::error_code ec;
    if (fs::exists(final, ec)) {
        return fail(fmt::format("image \"{}\" already exists (pinetboot image remove {} first)",
                                name, name));
    }
    const std::string shown = file.string();
    auto id = file == "-" ? Result<io::FileIdentity>(fail("stdin")) : io::fileIdentity(file);
    if (!id || !id->regular) {
        return fail(
            fmt::format("{}: --in-place needs an image file (a pipe or an SD card is "
                        "read once: pinetboot image import copies it instead)",
                        shown));
    }
    auto format = io::detectImageFormat(file);
    if (!format) {
        return tl::unexpected(format.error());
    }
    if (*format != io::ImageFormat::Raw) {
        return fail(
            fmt::format("{}: {}-compressed; an image served in place must be raw: "
                        "decompress it first (e.g. xz -dk), or use pinetboot image import",
                        shown, io::imageFormatName(*format)));
    }
    if (auto r =
            ensurePrivateDir(stateDir).and_then([&] { return ensurePrivateDir(paths.images()); });
        !r) {
        return tl::unexpected(r.error());
    }
    auto reader = io::openReadAt(file);
    if (!reader) {
        return tl::unexpected(reader.error());
    }
    auto table = disk::parsePartitionTable(reader->read, reader->size);
    if (!table) {
        return fail(fmt::format("{}: {}", shown, table.error().message));
    }
    const disk::Partition* boot = nullptr;
    const disk::Partition* root = nullptr;
    for (const auto& p : table->partitions) {
        if (boot == nullptr && (p.kind == PartitionKind::Fat || p.kind == PartitionKind::Efi)) {
            boot = &p;
        } else if (root == nullptr && p.kind == PartitionKind::Linux) {
            root = &p;
        }
    }
    if (boot == nullptr) {
        return fail(fmt::format("{}: no FAT boot partition", shown));
    }
    io::TempDir tmp(".add-" + name, paths.images());
    const std::uint64_t imageSize = reader->size;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> rootRange;
    if (root != nullptr) {
        rootRange.emplace(root->offset, root->size);
    }
    auto confined = mapBootConfined(file, imageSize, boot->offset, boot->size, boot->number,
                                    rootRange, tmp.path(), timeout);
    if (!confined) {
        return fail(fmt::format("{}: {}", shown, confined.error().message));
    }
    const std::uint64_t mapped = confined->mapped;
    const std::uint64_t skipped = confined->skipped;
    const std::string fsName = confined->bootFs;
    const std::string rootFs = confined->rootFs;
    // What the reader wrote is checked as any hostile input: bounded, every extent
    // inside the image (the map of an image changed meanwhile would fail here too).
    ImageInfo info;
    info.name = name;
    info.dir = final;
    info.source = fs::absolute(file).lexically_normal().string();
    info.importedAt = now;
    info.inPlace = true;
    info.sourceSize = imageSize;
    info.sourceMtime = id->mtimeNs;
    info.table = table->kind == disk::TableKind::Gpt ? "gpt" : "mbr";
    info.diskId = table->diskId;
    info.bootPartuuid = boot->partuuid;
    info.rootPartuuid = root != nullptr ? root->partuuid : std::string();
    info.rootPartition = root != nullptr ? root->number : 0;
    info.bootOffset = boot->offset;
    info.bootSize = boot->size;
    info.rootFs = rootFs;
    info.bootFs = proto::text::safeText(fsName, 16);
    info.bootFiles = mapped;
    fs::path staged = tmp.path() / "boot-map";
    {
        ImageInfo probe = info;
        probe.dir = tmp.path();
        auto files = openInPlace(probe);
        if (!files) {
            return fail(fmt::format("{}: {}", shown, files.error().message));
        }
        if (files->files().size() != mapped) {
            return fail(fmt::format("{}: the reader reported {} files, its map holds {}", shown,
                                    mapped, files->files().size()));
        }
        nlohmann::json chains = nlohmann::json::object();
        if (auto layout = detectBootLayout(*files)) {
            info.models = supportedModels(&*layout);
            info.bootLayout = layout->kind;
            info.bootTryboot = layout->tryboot;
            chains = layoutJson(*layout);
        } else {
            info.bootLayout = "invalid";
            info.layoutError = proto::text::safeText(layout.error().message, 300);
        }
        nlohmann::json j = {{"name", info.name},
                            {"source", info.source},
                            {"in_place", true},
                            {"source_size", info.sourceSize},
                            {"source_mtime_ns", info.sourceMtime},
                            {"imported_at", info.importedAt},
                            {"table", info.table},
                            {"disk_id", info.diskId},
                            {"boot_partuuid", info.bootPartuuid},
                            {"root_partuuid", info.rootPartuuid},
                            {"boot_fs", info.bootFs},
                            {"boot_files", info.bootFiles},
                            {"boot_files_skipped", skipped},
                            {"root_partition", info.rootPartition},
                            {"boot_offset", info.bootOffset},
                            {"boot_size", info.bootSize},
                            {"root_fs", info.rootFs},
                            {"models", info.models},
                            {"boot_layout", info.bootLayout},
                            {"boot_tryboot", info.bootTryboot},
                            {"boot_chains", chains}};
        if (auto r = publishImage(tmp, final, info, std::move(j)); !r) {
            return tl::unexpected(r.error());
        }
    }
    return info;
}

Result<ImageInfo> findImage(const fs::path& stateDir, const std::string& name) {
    if (!isValidImageName(name)) {
        return fail(fmt::format("image name \"{}\" is not valid", name));
    }
    fs::path dir = StatePaths{stateDir}.images() / name;
    auto raw = io::readFile(dir / "image.json");
    if (!raw) {
        return fail(
            fmt::format("no image \"{}\" (pinetboot image list shows the imported ones)", name));
    }
    auto j = nlohmann::json::parse(raw->begin(), raw->end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return fail(fmt::format("{}: not valid JSON", (dir / "image.json").string()));
    }
    return infoFromJson(dir, j);
}

Result<std::vector<ImageInfo>> listImages(const fs::path& stateDir) {
    std::vector<ImageInfo> out;
    fs::path dir = StatePaths{stateDir}.images();
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        return out;
    }
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string n = e.path().filename().string();
        if (n.empty() || n[0] == '.') {
            continue;  // imports in progress, trash
        }
        if (auto i = findImage(stateDir, n)) {
            out.push_back(std::move(*i));
        }
    }
    if (ec) {
        return fail(fmt::format("{}: {}", dir.string(), ec.message()));
    }
    std::sort(out.begin(), out.end(),
              [](const ImageInfo& a, const ImageInfo& b) { return a.name < b.name; });
    return out;
}

Result<void> removeImage(const fs::path& stateDir, const std::string& name) {
    auto info = findImage(stateDir, name);
    if (!info) {
        return tl::unexpected(info.error());
    }
    // Rename first so the image disappears at once, even if deleting takes long.
    fs::path trash =
        StatePaths{stateDir}.images() / (".trash-" + name + "-" + std::to_string(::getpid()));
    if (auto r = io::renamePath(info->dir, trash); !r) {
        return fail(fmt::format("{}: cannot remove: {}", info->dir.string(), r.error().message));
    }
    return io::removeTree(trash);
}

}  // namespace pinet::app
