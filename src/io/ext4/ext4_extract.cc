#include "io/ext4/ext4_extract.h"

// libext2fs is C; its headers use a few constructs our warnings reject.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#include <ext2fs/ext2fs.h>
#pragma GCC diagnostic pop

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/fs/file_ops.h"
#include "proto/disk/xattr_manifest.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

// Copy buffer: large enough that libext2fs reads whole extents at a time.
constexpr std::size_t kChunk = 1 << 20;
// Directory nesting limit: a corrupt image could contain a directory cycle.
constexpr int kMaxDepth = 256;
// Inline data lives in the inode (i_block plus in-inode attributes), and
// inodes are at most one block, at most 64 KiB.
constexpr std::uint64_t kMaxInline = 64 * 1024;
// What an extended attribute costs on disk besides its name and value: an
// ext4_xattr_entry header (ext4 disk layout, "Extended Attributes").
constexpr std::uint64_t kXattrEntryHeader = 16;

std::string errText(errcode_t code) {
    return error_message(code);
}

/// Owns an ext2_filsys.
class FileSystem {
public:
    explicit FileSystem(ext2_filsys fsys) : fs_(fsys) {}
    ~FileSystem() {
        if (fs_ != nullptr) {
            ext2fs_close_free(&fs_);
        }
    }
    FileSystem(const FileSystem&) = delete;
    FileSystem& operator=(const FileSystem&) = delete;
    [[nodiscard]] ext2_filsys get() const { return fs_; }

private:
    ext2_filsys fs_;
};

/// Owns an ext2_file_t.
class File {
public:
    File() = default;
    ~File() {
        if (f_ != nullptr) {
            ext2fs_file_close(f_);
        }
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ext2_file_t* out() { return &f_; }
    [[nodiscard]] ext2_file_t get() const { return f_; }

private:
    ext2_file_t f_ = nullptr;
};

/// Owns an xattr handle.
class Xattrs {
public:
    Xattrs() = default;
    ~Xattrs() {
        if (h_ != nullptr) {
            ext2fs_xattrs_close(&h_);
        }
    }
    Xattrs(const Xattrs&) = delete;
    Xattrs& operator=(const Xattrs&) = delete;
    ext2_xattr_handle** out() { return &h_; }
    [[nodiscard]] ext2_xattr_handle* get() const { return h_; }

private:
    ext2_xattr_handle* h_ = nullptr;
};

struct Inode {
    ext2_inode_large raw{};
    [[nodiscard]] ext2_inode* base() { return reinterpret_cast<ext2_inode*>(&raw); }
    [[nodiscard]] std::uint16_t mode() const { return raw.i_mode; }
    [[nodiscard]] std::uint64_t size() const {
        return raw.i_size | (std::uint64_t{raw.i_size_high} << 32);
    }
};

/// Kernel inode time: 32-bit seconds plus, in large inodes, an "extra" word
/// with 2 epoch bits and 30 nanosecond bits (ext4 disk layout, "Inode Timestamps").
timespec inodeTime(const ext2_inode_large& in, std::uint32_t secs, std::uint32_t extra,
                   std::size_t extraOffset) {
    timespec ts{};
    ts.tv_sec = static_cast<std::int32_t>(secs);
    std::size_t need = extraOffset + 4 - EXT2_GOOD_OLD_INODE_SIZE;
    if (in.i_extra_isize >= need) {
        ts.tv_sec += static_cast<time_t>(std::int64_t{extra & 3U} << 32);
        ts.tv_nsec = static_cast<long>(extra >> 2);
    }
    return ts;
}

struct Walker {
    ext2_filsys fsys = nullptr;
    ProgressFn progress;
    DeferXattrFn defer;
    std::string top;  // the destination's path: entries are reported relative to it
    Ext4Stats stats;
    std::unordered_map<ext2_ino_t, std::string> seen;  // inode -> first path (hard links)
    std::unordered_set<ext2_ino_t> dirsSeen;           // directory inodes walked
    // Bounds from the file system's own accounting (issue #13 item 5): data
    // written (holes excluded), inodes created and names made can be no more
    // than its used blocks and inodes hold, whatever its extents claim.
    std::uint64_t writeLimit = 0;
    std::uint64_t inodeLimit = 0;
    std::uint64_t nameLimit = 0;
    std::uint64_t written = 0;
    std::uint64_t inodes = 0;
    std::uint64_t names = 0;
    // Extended attributes, charged separately: ext4 shares an attribute
    // block between inodes with the same attributes, so the data budget
    // above does not bound them, but they too are stored in used blocks and
    // inodes, and a legitimate image (a 30-byte SELinux label per file, in
    // its 256-byte inode) stays far below it.
    std::uint64_t xattrLimit = 0;
    std::uint64_t xattrBytes = 0;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kChunk);
    bool largeInodes = false;

    Result<void> readInode(ext2_ino_t ino, Inode& out) {
        std::memset(&out.raw, 0, sizeof(out.raw));
        errcode_t e = ext2fs_read_inode_full(fsys, ino, out.base(), sizeof(out.raw));
        if (e != 0) {
            return fail(fmt::format("inode {}: {}", ino, errText(e)));
        }
        return {};
    }

    Result<void> chargeWrite(std::uint64_t n) {
        written += n;
        if (written > writeLimit) {
            return fail(
                fmt::format("more file data than the file system's used blocks hold ({} "
                            "bytes; blocks shared between files?)",
                            writeLimit));
        }
        return {};
    }

    Result<void> chargeInode() {
        if (++inodes > inodeLimit) {
            return fail(fmt::format("more inodes than the file system uses ({})", inodeLimit));
        }
        return {};
    }

    Result<void> copyData(ext2_ino_t ino, Inode& in, const std::string& dest) {
        Fd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!out) {
            return fail(fmt::format("{}: cannot create: {}", dest, std::strerror(errno)));
        }
        if ((in.raw.i_flags & EXT4_INLINE_DATA_FL) != 0) {
            // Not through ext2fs_file_read(): it copies the inline data into a
            // fixed three-block buffer whatever the attribute's length.
            auto data = inlineData(ino, in);
            if (!data) {
                return fail(fmt::format("{}: inode {}: {}", dest, ino, data.error().message));
            }
            if (auto r = chargeWrite(data->size()); !r) {
                return fail(fmt::format("{}: {}", dest, r.error().message));
            }
            if (auto w = writeAll(out.get(), *data); !w) {
                return fail(fmt::format("{}: write failed: {}", dest, w.error().message));
            }
            stats.bytes += data->size();
            return {};
        }
        auto ranges = dataRanges(ino, in);
        if (!ranges) {
            return fail(fmt::format("{}: inode {}: {}", dest, ino, ranges.error().message));
        }
        File f;
        errcode_t e = ext2fs_file_open2(fsys, ino, in.base(), 0, f.out());
        if (e != 0) {
            return fail(fmt::format("{}: cannot open inode {}: {}", dest, ino, errText(e)));
        }
        const std::uint64_t size = in.size();
        const std::uint64_t bs = EXT2_BLOCK_SIZE(fsys->super);
        // Only the mapped blocks are read: a hole (even one of 2^40 bytes
        // in a crafted i_size) costs nothing, and stays a hole.
        for (const auto& [first, count] : *ranges) {
            std::uint64_t pos = first * bs;
            std::uint64_t end = std::min(size, (first + count) * bs);
            if (pos >= end) {
                continue;
            }
            e = ext2fs_file_llseek(f.get(), pos, EXT2_SEEK_SET, nullptr);
            while (e == 0 && pos < end) {
                auto want = static_cast<unsigned int>(std::min<std::uint64_t>(end - pos, kChunk));
                unsigned int got = 0;
                e = ext2fs_file_read(f.get(), buf.data(), want, &got);
                if (e != 0) {
                    break;
                }
                if (got == 0) {
                    return fail(
                        fmt::format("{}: inode {} ends {} bytes early", dest, ino, end - pos));
                }
                bool zero = std::all_of(buf.begin(), buf.begin() + got,
                                        [](std::uint8_t b) { return b == 0; });
                if (!zero) {
                    if (auto r = chargeWrite(got); !r) {
                        return fail(fmt::format("{}: {}", dest, r.error().message));
                    }
                    std::size_t done = 0;
                    while (done < got) {
                        ssize_t n = ::pwrite(out.get(), buf.data() + done, got - done,
                                             static_cast<off_t>(pos + done));
                        if (n < 0 && errno == EINTR) {
                            continue;
                        }
                        if (n < 0) {
                            return fail(
                                fmt::format("{}: write failed: {}", dest, std::strerror(errno)));
                        }
                        done += static_cast<std::size_t>(n);
                    }
                }
                pos += got;
                if (progress) {
                    progress(stats.bytes + pos, stats.usedBytes);
                }
            }
            if (e != 0) {
                return fail(fmt::format("{}: read error in the image: {}", dest, errText(e)));
            }
        }
        if (size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) ||
            ::ftruncate(out.get(), static_cast<off_t>(size)) != 0) {
            return fail(fmt::format("{}: truncate failed: {}", dest, std::strerror(errno)));
        }
        stats.bytes += size;
        return {};
    }

    /// The logical block ranges of a file that have blocks, sorted and
    /// merged. Their number is bounded by the used blocks: a crafted extent
    /// tree whose index entries repeat a leaf cannot make this loop long.
    Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> dataRanges(ext2_ino_t ino,
                                                                            Inode& in) {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
        const std::uint64_t maxRanges = writeLimit / EXT2_BLOCK_SIZE(fsys->super) + 16;
        if ((in.raw.i_flags & EXT4_EXTENTS_FL) != 0) {
            ext2_extent_handle_t h = nullptr;
            errcode_t e = ext2fs_extent_open2(fsys, ino, in.base(), &h);
            if (e != 0) {
                return fail(fmt::format("extent tree: {}", errText(e)));
            }
            ext2fs_extent ext{};
            std::uint64_t steps = 0;
            e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
            while (e == 0) {
                if (++steps > maxRanges * 2) {
                    ext2fs_extent_free(h);
                    return fail("more extents than the file system has blocks");
                }
                if ((ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) != 0 && ext.e_len > 0 &&
                    (ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT) == 0) {
                    out.emplace_back(ext.e_lblk, ext.e_len);
                }
                e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext);
            }
            ext2fs_extent_free(h);
            if (e != EXT2_ET_EXTENT_NO_NEXT) {
                return fail(fmt::format("extent tree: {}", errText(e)));
            }
        } else {
            struct Ctx {
                std::vector<std::pair<std::uint64_t, std::uint64_t>>* out;
                std::uint64_t max;
            } ctx{&out, maxRanges};
            auto cb = [](ext2_filsys, blk64_t*, e2_blkcnt_t blockcnt, blk64_t, int,
                         void* priv) -> int {
                auto* c = static_cast<Ctx*>(priv);
                if (blockcnt < 0) {
                    return 0;  // an indirect block
                }
                auto b = static_cast<std::uint64_t>(blockcnt);
                if (!c->out->empty() && c->out->back().first + c->out->back().second == b) {
                    c->out->back().second++;
                } else {
                    c->out->emplace_back(b, 1);
                }
                return c->out->size() > c->max ? BLOCK_ABORT : 0;
            };
            errcode_t e = ext2fs_block_iterate3(
                fsys, ino, BLOCK_FLAG_DATA_ONLY | BLOCK_FLAG_READ_ONLY, nullptr, cb, &ctx);
            if (e != 0) {
                return fail(fmt::format("block map: {}", errText(e)));
            }
        }
        if (out.size() > maxRanges) {
            return fail("more extents than the file system has blocks");
        }
        std::sort(out.begin(), out.end());
        std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
        for (const auto& r : out) {
            if (!merged.empty() && r.first <= merged.back().first + merged.back().second) {
                std::uint64_t end =
                    std::max(merged.back().first + merged.back().second, r.first + r.second);
                merged.back().second = end - merged.back().first;
            } else {
                merged.push_back(r);
            }
        }
        return merged;
    }

    /// The contents of an inline-data inode: up to 60 bytes in i_block, the
    /// rest in the "system.data" attribute. Read here rather than with
    /// ext2fs_inline_data_get(), which copies however much the image stores
    /// into a buffer whose size the caller has to guess (a crafted 640-byte
    /// system.data overflowed ours); ext2fs_xattr_get() allocates the value
    /// itself and reports its length. Bounded by kMaxInline and cut at i_size.
    Result<std::vector<std::uint8_t>> inlineData(ext2_ino_t ino, Inode& in) {
        std::uint64_t size = in.size();
        if (size > kMaxInline) {
            return fail(fmt::format("inline data of {} bytes is larger than an inode", size));
        }
        std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
        std::size_t head = std::min(out.size(), sizeof(in.raw.i_block));
        std::memcpy(out.data(), in.raw.i_block, head);
        if (head == out.size()) {
            return out;
        }
        Xattrs h;
        errcode_t e = ext2fs_xattrs_open(fsys, ino, h.out());
        if (e == 0) {
            e = ext2fs_xattrs_read(h.get());
        }
        void* value = nullptr;
        std::size_t len = 0;
        if (e == 0) {
            e = ext2fs_xattr_get(h.get(), "system.data", &value, &len);
        }
        if (e != 0) {
            return fail(fmt::format("inline data unreadable: {}", errText(e)));
        }
        std::size_t rest = out.size() - head;
        bool shortValue = len < rest;
        if (!shortValue) {
            std::memcpy(out.data() + head, value, rest);
        }
        ext2fs_free_mem(&value);
        if (shortValue) {
            return fail(
                fmt::format("inline data holds {} bytes, i_size says {}", head + len, size));
        }
        return out;
    }

    Result<std::string> symlinkTarget(ext2_ino_t ino, Inode& in) {
        std::uint64_t size = in.size();
        if (size == 0 || size > static_cast<std::uint64_t>(EXT2_BLOCK_SIZE(fsys->super)) ||
            size > std::uint64_t{PATH_MAX}) {
            return fail(fmt::format("symlink inode {} has an invalid size {}", ino, size));
        }
        std::string target(static_cast<std::size_t>(size), '\0');
        if ((in.raw.i_flags & EXT4_INLINE_DATA_FL) != 0) {
            auto data = inlineData(ino, in);
            if (!data) {
                return fail(fmt::format("symlink inode {}: {}", ino, data.error().message));
            }
            std::memcpy(target.data(), data->data(), target.size());
        } else if (ext2fs_is_fast_symlink(in.base()) != 0) {
            // Fast symlink: the target is stored in i_block itself (60 bytes).
            if (size > sizeof(in.raw.i_block)) {
                return fail(fmt::format("fast symlink inode {} is too long", ino));
            }
            std::memcpy(target.data(), in.raw.i_block, target.size());
        } else {
            File f;
            errcode_t e = ext2fs_file_open2(fsys, ino, in.base(), 0, f.out());
            unsigned int got = 0;
            if (e == 0) {
                e = ext2fs_file_read(f.get(), target.data(), static_cast<unsigned int>(size), &got);
            }
            if (e != 0 || got != size) {
                return fail(fmt::format("symlink inode {}: {}", ino,
                                        e != 0 ? errText(e) : std::string("short read")));
            }
        }
        if (target.find('\0') != std::string::npos) {
            return fail(fmt::format("symlink inode {} has a NUL in its target", ino));
        }
        return target;
    }

    /// @p dest relative to the destination: every path walkDir makes starts
    /// with top and "/".
    [[nodiscard]] std::string relative(const std::string& dest) const {
        std::size_t at = std::min(top.size(), dest.size());
        while (at < dest.size() && dest[at] == '/') {
            ++at;
        }
        return dest.substr(at);
    }

    Result<void> copyXattrs(ext2_ino_t ino, const std::string& dest) {
        Xattrs h;
        errcode_t e = ext2fs_xattrs_open(fsys, ino, h.out());
        if (e != 0) {
            return fail(fmt::format("{}: xattrs: {}", dest, errText(e)));
        }
        e = ext2fs_xattrs_read(h.get());  // reads the whole on-disk inode (in-inode EAs)
        if (e != 0) {
            return fail(fmt::format("{}: reading xattrs: {}", dest, errText(e)));
        }
        struct Ctx {
            Walker* w;
            const std::string* dest;
            std::string rel;
            std::string error;
            std::uint64_t count = 0;
            std::uint64_t deferred = 0;
        } ctx{this, &dest, relative(dest), {}, 0, 0};
        auto cb = [](char* name, char* value, std::size_t len, void* data) -> int {
            auto* c = static_cast<Ctx*>(data);
            std::string_view n(name);
            if (n == "system.data") {  // inline-data storage, not a real attribute
                return 0;
            }
            // libext2fs reads no longer value, and setxattr() would refuse it.
            if (len > proto::disk::kMaxXattrValue) {
                c->error =
                    fmt::format("{}: extended attribute {} has {} bytes (the kernel allows {})",
                                *c->dest, n, len, proto::disk::kMaxXattrValue);
                return XATTR_ABORT;
            }
            const bool deferred =
                c->w->defer && proto::disk::routeXattr(n) != proto::disk::XattrRoute::Child;
            // A deferred one is recorded with its path: that is charged too.
            c->w->xattrBytes += kXattrEntryHeader + n.size() + len + (deferred ? c->rel.size() : 0);
            if (c->w->xattrBytes > c->w->xattrLimit) {
                c->error = fmt::format(
                    "{}: more extended attributes than the file system's used blocks hold ({} "
                    "bytes; one attribute block shared by many inodes?)",
                    *c->dest, c->w->xattrLimit);
                return XATTR_ABORT;
            }
            if (deferred) {
                auto r = c->w->defer(c->rel, std::string(n),
                                     std::span(reinterpret_cast<const std::uint8_t*>(value), len));
                if (!r) {
                    c->error = fmt::format("{}: {}: {}", *c->dest, n, r.error().message);
                    return XATTR_ABORT;
                }
                c->deferred++;
                return 0;
            }
            if (::lsetxattr(c->dest->c_str(), name, value, len, 0) != 0) {
                c->error =
                    fmt::format("{}: cannot set xattr {}: {}", *c->dest, n, std::strerror(errno));
                return XATTR_ABORT;
            }
            c->count++;
            return 0;
        };
        e = ext2fs_xattrs_iterate(h.get(), cb, &ctx);
        if (!ctx.error.empty()) {
            return fail(ctx.error);
        }
        if (e != 0) {
            return fail(fmt::format("{}: xattrs: {}", dest, errText(e)));
        }
        stats.xattrs += ctx.count;
        stats.deferredXattrs += ctx.deferred;
        return {};
    }

    /// Owner, then mode (chown clears set-id bits), then xattrs (chown also
    /// drops security.capability), then times (last: everything above
    /// changes ctime but only times set mtime).
    Result<void> applyMeta(ext2_ino_t ino, Inode& in, const std::string& dest) {
        uid_t uid = inode_uid(in.raw);
        gid_t gid = inode_gid(in.raw);
        if (::lchown(dest.c_str(), uid, gid) != 0) {
            return fail(fmt::format("{}: cannot set owner {}:{}: {}", dest, uid, gid,
                                    std::strerror(errno)));
        }
        bool link = LINUX_S_ISLNK(in.mode());
        if (!link && ::chmod(dest.c_str(), in.mode() & 07777) != 0) {
            return fail(fmt::format("{}: cannot set mode: {}", dest, std::strerror(errno)));
        }
        if (in.raw.i_file_acl != 0 || largeInodes) {
            if (auto r = copyXattrs(ino, dest); !r) {
                return r;
            }
        }
        std::array<timespec, 2> times = {inodeTime(in.raw, in.raw.i_atime, in.raw.i_atime_extra,
                                                   offsetof(ext2_inode_large, i_atime_extra)),
                                         inodeTime(in.raw, in.raw.i_mtime, in.raw.i_mtime_extra,
                                                   offsetof(ext2_inode_large, i_mtime_extra))};
        if (::utimensat(AT_FDCWD, dest.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
            return fail(fmt::format("{}: cannot set times: {}", dest, std::strerror(errno)));
        }
        return {};
    }

    Result<void> walkDir(ext2_ino_t dirIno, const std::string& dirPath, int depth) {
        if (depth > kMaxDepth) {
            return fail(fmt::format("{}: directories nested deeper than {} (corrupt image?)",
                                    dirPath, kMaxDepth));
        }
        struct Entry {
            std::string name;
            ext2_ino_t ino;
        };
        std::vector<Entry> entries;
        auto cb = [](ext2_ino_t, int, ext2_dir_entry* de, int, int, char*, void* priv) -> int {
            auto* out = static_cast<std::vector<Entry>*>(priv);
            int len = ext2fs_dirent_name_len(de);
            std::string name(de->name, static_cast<std::size_t>(len));
            if (name != "." && name != ".." && de->inode != 0) {
                out->push_back({std::move(name), de->inode});
            }
            return 0;
        };
        errcode_t e = ext2fs_dir_iterate2(fsys, dirIno, 0, nullptr, cb, &entries);
        if (e != 0) {
            return fail(fmt::format("directory {} (inode {}): {}", dirPath, dirIno, errText(e)));
        }
        for (const auto& ent : entries) {
            if (ent.name.find('/') != std::string::npos ||
                ent.name.find('\0') != std::string::npos) {
                return fail(fmt::format("{}: directory entry with an invalid name", dirPath));
            }
            if (ent.ino > fsys->super->s_inodes_count) {
                return fail(
                    fmt::format("{}/{}: inode {} out of range", dirPath, ent.name, ent.ino));
            }
            std::string path = dirPath + "/" + ent.name;
            if (++names > nameLimit) {
                return fail(
                    fmt::format("{}: more directory entries than the file system's used "
                                "blocks hold",
                                path));
            }
            Inode in;
            if (auto r = readInode(ent.ino, in); !r) {
                return fail(fmt::format("{}: {}", path, r.error().message));
            }
            std::uint16_t m = in.mode();
            if (LINUX_S_ISDIR(m)) {
                // A directory inode reached twice would be walked again (13
                // directories became 16,370); a hard-linked directory is not
                // something ext4 makes.
                if (!dirsSeen.insert(ent.ino).second) {
                    return fail(
                        fmt::format("{}: directory inode {} is reached a second time "
                                    "(corrupt or crafted image)",
                                    path, ent.ino));
                }
                if (auto r = chargeInode(); !r) {
                    return fail(fmt::format("{}: {}", path, r.error().message));
                }
                if (::mkdir(path.c_str(), 0700) != 0) {
                    return fail(fmt::format("{}: mkdir failed: {}", path, std::strerror(errno)));
                }
                stats.directories++;
                if (auto r = walkDir(ent.ino, path, depth + 1); !r) {
                    return r;
                }
                if (auto r = applyMeta(ent.ino, in, path); !r) {
                    return r;
                }
                continue;
            }
            // Every inode reached again becomes a hard link, whatever its
            // i_links_count says: a crafted count of 1 must not make us copy
            // the data once per name.
            if (auto it = seen.find(ent.ino); it != seen.end()) {
                if (::link(it->second.c_str(), path.c_str()) != 0) {
                    return fail(fmt::format("{}: hard link to {} failed: {}", path, it->second,
                                            std::strerror(errno)));
                }
                stats.hardlinks++;
                continue;
            }
            seen.emplace(ent.ino, path);
            if (auto r = chargeInode(); !r) {
                return fail(fmt::format("{}: {}", path, r.error().message));
            }
            if (LINUX_S_ISREG(m)) {
                if (auto r = copyData(ent.ino, in, path); !r) {
                    return r;
                }
                stats.files++;
            } else if (LINUX_S_ISLNK(m)) {
                auto target = symlinkTarget(ent.ino, in);
                if (!target) {
                    return fail(fmt::format("{}: {}", path, target.error().message));
                }
                if (auto r = chargeWrite(target->size()); !r) {
                    return fail(fmt::format("{}: {}", path, r.error().message));
                }
                if (::symlink(target->c_str(), path.c_str()) != 0) {
                    return fail(fmt::format("{}: symlink failed: {}", path, std::strerror(errno)));
                }
                stats.symlinks++;
            } else if (LINUX_S_ISCHR(m) || LINUX_S_ISBLK(m) || LINUX_S_ISFIFO(m) ||
                       LINUX_S_ISSOCK(m)) {
                // Device number: old 16-bit encoding in i_block[0], else the
                // new 32-bit one in i_block[1] (linux fs/ext4/inode.c).
                dev_t dev = 0;
                if (in.raw.i_block[0] != 0) {
                    std::uint32_t d = in.raw.i_block[0];
                    dev = makedev((d >> 8) & 0xFF, d & 0xFF);
                } else {
                    std::uint32_t d = in.raw.i_block[1];
                    dev = makedev((d & 0xFFF00) >> 8, (d & 0xFF) | ((d >> 12) & 0xFFF00));
                }
                mode_t type = LINUX_S_ISCHR(m)    ? S_IFCHR
                              : LINUX_S_ISBLK(m)  ? S_IFBLK
                              : LINUX_S_ISFIFO(m) ? S_IFIFO
                                                  : S_IFSOCK;
                if (::mknod(path.c_str(), type | 0600,
                            (type == S_IFCHR || type == S_IFBLK) ? dev : 0) != 0) {
                    return fail(fmt::format("{}: mknod failed: {}", path, std::strerror(errno)));
                }
                stats.specials++;
            } else {
                return fail(fmt::format("{}: inode {} has unknown file type 0{:o}", path, ent.ino,
                                        m & 0170000));
            }
            if (auto r = applyMeta(ent.ino, in, path); !r) {
                return r;
            }
        }
        return {};
    }
};

}  // namespace

Result<Ext4Stats> extractExt4(const fs::path& image, std::uint64_t offset, std::uint64_t size,
                              const fs::path& dest, const ProgressFn& progress,
                              const DeferXattrFn& defer) {
    int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(fmt::format("{}: cannot open: {}", image.string(), std::strerror(errno)));
    }
    return extractExt4(fd, offset, size, dest, progress, defer);
}

Result<Ext4Stats> extractExt4(int imageFd, std::uint64_t offset, std::uint64_t size,
                              const fs::path& dest, const ProgressFn& progress,
                              const DeferXattrFn& defer) {
    static std::once_flag errTable;
    std::call_once(errTable, [] { initialize_ext2_error_table(); });

    // unixfd_io_manager takes the descriptor's number as the "name" and owns
    // it from here: the sandboxed child has no path to the image.
    std::string name = std::to_string(imageFd);
    std::string opts = fmt::format("offset={}", offset);
    ext2_filsys raw = nullptr;
    errcode_t e =
        ext2fs_open2(name.c_str(), opts.c_str(), EXT2_FLAG_64BITS, 0, 0, unixfd_io_manager, &raw);
    if (e != 0) {
        if (raw != nullptr) {
            ext2fs_free(raw);
        }
        return fail(
            fmt::format("root partition (offset {}): not a readable ext2/3/4 file system: {}",
                        offset, errText(e)));
    }
    FileSystem fsys(raw);
    auto* sb = fsys.get()->super;
    std::uint64_t blockSize = EXT2_BLOCK_SIZE(sb);
    std::uint64_t fsBytes = ext2fs_blocks_count(sb) * blockSize;
    if (fsBytes > size) {
        return fail(
            fmt::format("root file system claims {} bytes but its partition has only {} "
                        "(truncated image?)",
                        fsBytes, size));
    }
    Walker w;
    w.fsys = fsys.get();
    w.progress = progress;
    w.defer = defer;
    w.top = dest.string();
    w.largeInodes = EXT2_INODE_SIZE(sb) > EXT2_GOOD_OLD_INODE_SIZE;
    w.stats.usedBytes = (ext2fs_blocks_count(sb) - ext2fs_free_blocks_count(sb)) * blockSize;
    // The group descriptors' counts are what the kernel keeps current (the
    // superblock's may lag); both are bounded by the size checked above.
    std::uint64_t freeBlocks = 0;
    std::uint64_t freeInodes = 0;
    for (dgrp_t g = 0; g < fsys.get()->group_desc_count; ++g) {
        freeBlocks += ext2fs_bg_free_blocks_count(fsys.get(), g);
        freeInodes += ext2fs_bg_free_inodes_count(fsys.get(), g);
    }
    std::uint64_t usedBlocks =
        ext2fs_blocks_count(sb) - std::min<std::uint64_t>(freeBlocks, ext2fs_blocks_count(sb));
    std::uint64_t usedInodes =
        sb->s_inodes_count - std::min<std::uint64_t>(freeInodes, sb->s_inodes_count);
    // Inline data and fast symlinks live in inodes, not blocks.
    w.writeLimit = usedBlocks * blockSize + usedInodes * EXT2_INODE_SIZE(sb);
    w.inodeLimit = usedInodes;
    w.nameLimit = w.writeLimit / 12 + 2;  // a directory entry takes at least 12 bytes
    w.xattrLimit = w.writeLimit;
    w.dirsSeen.insert(EXT2_ROOT_INO);
    Inode root;
    if (auto r = w.readInode(EXT2_ROOT_INO, root); !r) {
        return fail("root directory: " + r.error().message);
    }
    if (!LINUX_S_ISDIR(root.mode())) {
        return fail("root inode is not a directory (corrupt file system)");
    }
    if (auto r = w.walkDir(EXT2_ROOT_INO, dest.string(), 0); !r) {
        return tl::unexpected(r.error());
    }
    if (auto r = w.applyMeta(EXT2_ROOT_INO, root, dest.string()); !r) {
        return tl::unexpected(r.error());
    }
    return w.stats;
}

}  // namespace pinet::io
