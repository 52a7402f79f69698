#include "io/fs/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/fs/file_ops.h"
#include "io/fs/in_tree.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

// Same bound as the ext4 extractor: a tree deeper than this is a loop or an attack.
constexpr int kMaxDepth = 256;

/// Copies the extended attributes of entry @p sName of directory @p sDir to
/// @p dName of @p dDir (through /proc/self/fd, see io/fs/in_tree.h: the l*xattr
/// calls take only paths, and symlinks have attributes too).
Result<void> copyXattrs(int sDir, const std::string& sName, int dDir, const std::string& dName) {
    std::string src = fdEntryPath(sDir, sName);
    std::string dst = fdEntryPath(dDir, dName);
    ssize_t len = ::llistxattr(src.c_str(), nullptr, 0);
    if (len < 0) {
        if (errno == ENOTSUP) {
            return {};
        }
        return fail(fmt::format("{}: listxattr: {}", sName, std::strerror(errno)));
    }
    if (len == 0) {
        return {};
    }
    std::vector<char> names(static_cast<std::size_t>(len));
    len = ::llistxattr(src.c_str(), names.data(), names.size());
    if (len < 0) {
        return fail(fmt::format("{}: listxattr: {}", sName, std::strerror(errno)));
    }
    std::size_t pos = 0;
    while (pos < static_cast<std::size_t>(len)) {
        std::string name(names.data() + pos);
        pos += name.size() + 1;
        ssize_t vlen = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
        if (vlen < 0) {
            return fail(fmt::format("{}: getxattr {}: {}", sName, name, std::strerror(errno)));
        }
        std::vector<char> val(static_cast<std::size_t>(vlen));
        vlen = ::lgetxattr(src.c_str(), name.c_str(), val.data(), val.size());
        if (vlen < 0) {
            return fail(fmt::format("{}: getxattr {}: {}", sName, name, std::strerror(errno)));
        }
        if (::lsetxattr(dst.c_str(), name.c_str(), val.data(), static_cast<std::size_t>(vlen), 0) !=
            0) {
            return fail(fmt::format("{}: setxattr {}: {}", dName, name, std::strerror(errno)));
        }
    }
    return {};
}

/// Owner, mode, xattrs and times of @p st onto entry @p dName of @p dDir;
/// never follows a symlink (fchmodat would: symlinks keep their mode).
Result<void> applyMeta(int sDir, const std::string& sName, int dDir, const std::string& dName,
                       const struct stat& st) {
    if (::fchownat(dDir, dName.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return fail(fmt::format("{}: chown: {}", dName, std::strerror(errno)));
    }
    if (!S_ISLNK(st.st_mode)) {
        Fd f(::openat(dDir, dName.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat now {};
        if (!f || ::fstat(f.get(), &now) != 0 || S_ISLNK(now.st_mode) ||
            ::chmod(fmt::format("/proc/self/fd/{}", f.get()).c_str(), st.st_mode & 07777) != 0) {
            return fail(fmt::format("{}: chmod: {}", dName, std::strerror(errno)));
        }
    }
    if (auto r = copyXattrs(sDir, sName, dDir, dName); !r) {
        return r;
    }
    std::array<timespec, 2> t = {st.st_atim, st.st_mtim};
    if (::utimensat(dDir, dName.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0) {
        return fail(fmt::format("{}: utimensat: {}", dName, std::strerror(errno)));
    }
    return {};
}

/// Copies (or clones) the regular file open as @p in to a new entry @p name
/// of @p dDir; true if it was cloned.
Result<bool> cloneOrCopy(int in, int dDir, const std::string& name, bool tryClone,
                         TreeCopyStats& stats) {
    Fd out(
        ::openat(dDir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) {
        return fail(fmt::format("{}: create: {}", name, std::strerror(errno)));
    }
    // Reflink, else a copy of the data regions that keeps holes (io/fs/file_ops.h).
    auto data = cloneOrCopyData(in, out.get(), tryClone);
    if (!data) {
        return fail(fmt::format("{}: {}", name, data.error().message));
    }
    stats.bytesCopied += data->bytesCopied;
    return data->reflinked;
}

bool sameInode(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
           (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
}

/// Walks the source on directory descriptors: every entry is opened from
/// its parent's descriptor by one name with RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS and checked against the fstatat() that classified
/// it, so a directory swapped for a symlink during the copy is never
/// followed out of the tree (paths were re-walked after lstat before).
struct Copier {
    const SharePolicy& policy;
    int dstRoot = -1;
    TreeCopyStats stats;
    std::map<std::pair<dev_t, ino_t>, std::string> links;  // in-tree hard links (dst rel path)
    const TreeCopyProgress* progress = nullptr;

    void fileDone(const struct stat& st) {
        stats.fileBytes += static_cast<std::uint64_t>(st.st_size);
        if (progress != nullptr && *progress) {
            (*progress)(stats.fileBytes);
        }
    }

    static Result<void> changed(const std::string& rel) {
        return fail(fmt::format("{}: changed while it was being copied", rel));
    }

    Result<void> copyDir(int sDir, int dDir, const std::string& rel, int depth) {
        if (depth > kMaxDepth) {
            return fail(fmt::format("{}: nested deeper than {}", rel, kMaxDepth));
        }
        int listFd = ::openat(sDir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        std::unique_ptr<DIR, int (*)(DIR*)> dir(listFd < 0 ? nullptr : ::fdopendir(listFd),
                                                ::closedir);
        if (!dir) {
            if (listFd >= 0) {
                ::close(listFd);
            }
            return fail(fmt::format("{}: opendir: {}", rel, std::strerror(errno)));
        }
        std::vector<std::string> names;
        while (dirent* de = ::readdir(dir.get())) {
            std::string n = de->d_name;
            if (n != "." && n != "..") {
                names.push_back(std::move(n));
            }
        }
        std::sort(names.begin(), names.end());  // a reproducible order
        for (const auto& n : names) {
            std::string r = rel.empty() ? n : rel + "/" + n;
            if (auto res = copyEntry(sDir, dDir, n, r, depth); !res) {
                return res;
            }
        }
        return {};
    }

    Result<void> copyEntry(int sDir, int dDir, const std::string& name, const std::string& rel,
                           int depth) {
        struct stat st {};
        if (::fstatat(sDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            return fail(fmt::format("{}: lstat: {}", rel, std::strerror(errno)));
        }
        if (S_ISDIR(st.st_mode)) {
            Fd src(openInTreeRaw(sDir, name, O_RDONLY | O_DIRECTORY));
            struct stat now {};
            if (!src || ::fstat(src.get(), &now) != 0 || !sameInode(st, now)) {
                return changed(rel);
            }
            if (::mkdirat(dDir, name.c_str(), 0700) != 0) {
                return fail(fmt::format("{}: mkdir: {}", rel, std::strerror(errno)));
            }
            Fd dst(openInTreeRaw(dDir, name, O_RDONLY | O_DIRECTORY));
            if (!dst) {
                return fail(fmt::format("{}: open: {}", rel, std::strerror(errno)));
            }
            stats.others++;
            if (auto r = copyDir(src.get(), dst.get(), rel, depth + 1); !r) {
                return r;
            }
            return applyMeta(sDir, name, dDir, name, now);
        }
        if (st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = links.find(key);
            if (it != links.end()) {
                Fd first(openInTreeRaw(dstRoot, it->second, O_PATH));
                if (!first || ::linkat(first.get(), "", dDir, name.c_str(), AT_EMPTY_PATH) != 0) {
                    return fail(fmt::format("{}: link: {}", rel, std::strerror(errno)));
                }
                stats.others++;
                return {};
            }
            links.emplace(key, rel);
        }
        if (S_ISREG(st.st_mode)) {
            Fd in(openInTreeRaw(sDir, name, O_RDONLY));
            struct stat now {};
            if (!in || ::fstat(in.get(), &now) != 0 || !sameInode(st, now)) {
                return changed(rel);
            }
            FileShare how = policy ? policy(rel) : FileShare::Copy;
            if (how == FileShare::Hardlink) {
                if (::linkat(in.get(), "", dDir, name.c_str(), AT_EMPTY_PATH) == 0) {
                    stats.hardlinked++;
                    fileDone(now);
                    return {};  // same inode: metadata is already identical
                }
                if (errno != EXDEV && errno != EMLINK && errno != EPERM) {
                    return fail(fmt::format("{}: link: {}", rel, std::strerror(errno)));
                }
            }
            auto cloned = cloneOrCopy(in.get(), dDir, name, how == FileShare::Reflink, stats);
            if (!cloned) {
                return fail(fmt::format("{}: {}", rel, cloned.error().message));
            }
            (*cloned ? stats.reflinked : stats.copied)++;
            fileDone(now);
            return applyMeta(sDir, name, dDir, name, now);
        }
        if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1);
            ssize_t n = ::readlinkat(sDir, name.c_str(), target.data(), target.size());
            if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
                return fail(fmt::format("{}: readlink failed", rel));
            }
            target[static_cast<std::size_t>(n)] = '\0';
            if (::symlinkat(target.data(), dDir, name.c_str()) != 0) {
                return fail(fmt::format("{}: symlink: {}", rel, std::strerror(errno)));
            }
        } else if (::mknodat(dDir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
            return fail(fmt::format("{}: mknod: {}", rel, std::strerror(errno)));
        }
        stats.others++;
        return applyMeta(sDir, name, dDir, name, st);
    }
};

}  // namespace

Result<TreeCopyStats> copyTree(const fs::path& src, const fs::path& dst, const SharePolicy& policy,
                               const TreeCopyProgress& progress) {
    // The two roots are the caller's (trusted) paths; everything beneath
    // them is reached through descriptors.
    Fd s(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!s || ::fstat(s.get(), &st) != 0) {
        return fail(fmt::format("{}: open: {}", src.string(), std::strerror(errno)));
    }
    if (::mkdir(dst.c_str(), 0700) != 0) {
        return fail(fmt::format("{}: mkdir: {}", dst.string(), std::strerror(errno)));
    }
    Fd d(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) {
        return fail(fmt::format("{}: open: {}", dst.string(), std::strerror(errno)));
    }
    Copier c{policy, d.get(), {}, {}};
    c.progress = &progress;
    c.stats.others++;
    if (auto r = c.copyDir(s.get(), d.get(), "", 1); !r) {
        return fail(fmt::format("{}: {}", src.string(), r.error().message));
    }
    // The roots' own metadata, through their descriptors ("." of each).
    if (auto r = applyMeta(s.get(), ".", d.get(), ".", st); !r) {
        return fail(fmt::format("{}: {}", dst.string(), r.error().message));
    }
    return c.stats;
}

bool reflinkSupported(const fs::path& srcDir, const fs::path& dstDir) {
    std::string a = (srcDir / ".pinetboot-reflink-probe").string();
    std::string b = (dstDir / ".pinetboot-reflink-probe").string();
    bool ok = false;
    {
        Fd in(::open(a.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        Fd out(::open(b.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (in && out && ::write(in.get(), "x", 1) == 1 && ::fsync(in.get()) == 0) {
            ok = ::ioctl(out.get(), FICLONE, in.get()) == 0;
        }
    }
    ::unlink(a.c_str());
    ::unlink(b.c_str());
    return ok;
}

Result<void> copyMetadata(const fs::path& src, const fs::path& dst) {
    Fd sp(::open(src.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Fd dp(::open(dst.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!sp || !dp) {
        return fail(fmt::format("{}: open parent: {}", dst.string(), std::strerror(errno)));
    }
    return copyMetadataAt(sp.get(), src.filename().string(), dp.get(), dst.filename().string());
}

Result<void> copyMetadataAt(int srcDir, const std::string& srcName, int dstDir,
                            const std::string& dstName) {
    struct stat st {};
    if (::fstatat(srcDir, srcName.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return fail(fmt::format("{}: lstat: {}", srcName, std::strerror(errno)));
    }
    return applyMeta(srcDir, srcName, dstDir, dstName, st);
}

Result<void> removeTree(const fs::path& p) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) {
        return fail(fmt::format("{}: cannot remove: {}", p.string(), ec.message()));
    }
    return {};
}

}  // namespace pinet::io
