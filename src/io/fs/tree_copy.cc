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

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kCopyChunk = 1 << 20;
// Same bound as the ext4 extractor: a tree deeper than this is a loop or an attack.
constexpr int kMaxDepth = 256;

Result<void> copyXattrs(const std::string& src, const std::string& dst) {
    ssize_t len = ::llistxattr(src.c_str(), nullptr, 0);
    if (len < 0) {
        if (errno == ENOTSUP) {
            return {};
        }
        return fail(fmt::format("{}: listxattr: {}", src, std::strerror(errno)));
    }
    if (len == 0) {
        return {};
    }
    std::vector<char> names(static_cast<std::size_t>(len));
    len = ::llistxattr(src.c_str(), names.data(), names.size());
    if (len < 0) {
        return fail(fmt::format("{}: listxattr: {}", src, std::strerror(errno)));
    }
    std::size_t pos = 0;
    while (pos < static_cast<std::size_t>(len)) {
        std::string name(names.data() + pos);
        pos += name.size() + 1;
        ssize_t vlen = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
        if (vlen < 0) {
            return fail(fmt::format("{}: getxattr {}: {}", src, name, std::strerror(errno)));
        }
        std::vector<char> val(static_cast<std::size_t>(vlen));
        vlen = ::lgetxattr(src.c_str(), name.c_str(), val.data(), val.size());
        if (vlen < 0) {
            return fail(fmt::format("{}: getxattr {}: {}", src, name, std::strerror(errno)));
        }
        if (::lsetxattr(dst.c_str(), name.c_str(), val.data(), static_cast<std::size_t>(vlen), 0) !=
            0) {
            return fail(fmt::format("{}: setxattr {}: {}", dst, name, std::strerror(errno)));
        }
    }
    return {};
}

Result<void> applyMeta(const std::string& src, const std::string& dst, const struct stat& st) {
    if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
        return fail(fmt::format("{}: chown: {}", dst, std::strerror(errno)));
    }
    if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
        return fail(fmt::format("{}: chmod: {}", dst, std::strerror(errno)));
    }
    if (auto r = copyXattrs(src, dst); !r) {
        return r;
    }
    std::array<timespec, 2> t = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, dst.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0) {
        return fail(fmt::format("{}: utimensat: {}", dst, std::strerror(errno)));
    }
    return {};
}

Result<void> copyRange(int in, int out, off_t from, off_t to, const std::string& src,
                       const std::string& dst, TreeCopyStats& stats) {
    std::vector<char> buf(kCopyChunk);
    while (from < to) {
        auto want = static_cast<std::size_t>(std::min<off_t>(to - from, kCopyChunk));
        ssize_t n = ::pread(in, buf.data(), want, from);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("{}: read: {}", src, std::strerror(errno)));
        }
        if (n == 0) {
            break;  // the file shrank while we copied it
        }
        std::size_t done = 0;
        while (done < static_cast<std::size_t>(n)) {
            ssize_t w = ::pwrite(out, buf.data() + done, static_cast<std::size_t>(n) - done,
                                 from + static_cast<off_t>(done));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("{}: write: {}", dst, std::strerror(errno)));
            }
            done += static_cast<std::size_t>(w);
        }
        from += n;
        stats.bytesCopied += static_cast<std::uint64_t>(n);
    }
    return {};
}

/// Copies only the data extents (SEEK_DATA/SEEK_HOLE) and sets the length,
/// so holes stay holes: a 2 GiB sparse file was written densely into every
/// copy-mode root (issue #13 item 5).
Result<void> copySparse(int in, int out, const std::string& src, const std::string& dst,
                        TreeCopyStats& stats) {
    struct stat st {};
    if (::fstat(in, &st) != 0) {
        return fail(fmt::format("{}: fstat: {}", src, std::strerror(errno)));
    }
    off_t pos = 0;
    while (pos < st.st_size) {
        off_t data = ::lseek(in, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) {
                break;  // only a hole is left
            }
            if (errno != EINVAL && errno != EOPNOTSUPP) {
                return fail(fmt::format("{}: lseek: {}", src, std::strerror(errno)));
            }
            data = pos;  // no hole support: copy the rest densely
        }
        off_t hole = ::lseek(in, data, SEEK_HOLE);
        if (hole < 0) {
            hole = st.st_size;
        }
        hole = std::min(hole, st.st_size);
        if (hole <= data) {
            break;
        }
        if (auto r = copyRange(in, out, data, hole, src, dst, stats); !r) {
            return r;
        }
        pos = hole;
    }
    if (::ftruncate(out, st.st_size) != 0) {
        return fail(fmt::format("{}: truncate: {}", dst, std::strerror(errno)));
    }
    return {};
}

Result<bool> cloneOrCopy(const std::string& src, const std::string& dst, bool tryClone,
                         TreeCopyStats& stats) {
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) {
        return fail(fmt::format("{}: open: {}", src, std::strerror(errno)));
    }
    Fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) {
        return fail(fmt::format("{}: create: {}", dst, std::strerror(errno)));
    }
    if (tryClone && ::ioctl(out.get(), FICLONE, in.get()) == 0) {
        return true;
    }
    if (auto r = copySparse(in.get(), out.get(), src, dst, stats); !r) {
        return tl::unexpected(r.error());
    }
    return false;
}

struct Copier {
    const SharePolicy& policy;
    TreeCopyStats stats;
    std::map<std::pair<dev_t, ino_t>, std::string> links;  // in-tree hard links

    Result<void> copyDir(const std::string& src, const std::string& dst, const std::string& rel,
                         int depth) {
        if (depth > kMaxDepth) {
            return fail(fmt::format("{}: nested deeper than {}", src, kMaxDepth));
        }
        std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(src.c_str()), ::closedir);
        if (!dir) {
            return fail(fmt::format("{}: opendir: {}", src, std::strerror(errno)));
        }
        std::vector<std::string> names;
        while (dirent* de = ::readdir(dir.get())) {
            std::string n = de->d_name;
            if (n != "." && n != "..") {
                names.push_back(std::move(n));
            }
        }
        for (const auto& n : names) {
            std::string s = src + "/" + n;
            std::string d = dst + "/" + n;
            std::string r = rel.empty() ? n : rel + "/" + n;
            if (auto res = copyEntry(s, d, r, depth); !res) {
                return res;
            }
        }
        return {};
    }

    Result<void> copyEntry(const std::string& s, const std::string& d, const std::string& rel,
                           int depth) {
        struct stat st {};
        if (::lstat(s.c_str(), &st) != 0) {
            return fail(fmt::format("{}: lstat: {}", s, std::strerror(errno)));
        }
        if (S_ISDIR(st.st_mode)) {
            if (::mkdir(d.c_str(), 0700) != 0) {
                return fail(fmt::format("{}: mkdir: {}", d, std::strerror(errno)));
            }
            stats.others++;
            if (auto r = copyDir(s, d, rel, depth + 1); !r) {
                return r;
            }
            return applyMeta(s, d, st);
        }
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = links.find(key);
            if (it != links.end()) {
                if (::link(it->second.c_str(), d.c_str()) != 0) {
                    return fail(fmt::format("{}: link: {}", d, std::strerror(errno)));
                }
                stats.others++;
                return {};
            }
            links.emplace(key, d);
        }
        if (S_ISREG(st.st_mode)) {
            FileShare how = policy ? policy(rel) : FileShare::Copy;
            if (how == FileShare::Hardlink) {
                if (::link(s.c_str(), d.c_str()) == 0) {
                    stats.hardlinked++;
                    return {};  // same inode: metadata is already identical
                }
                if (errno != EXDEV && errno != EMLINK && errno != EPERM) {
                    return fail(fmt::format("{}: link: {}", d, std::strerror(errno)));
                }
            }
            auto cloned = cloneOrCopy(s, d, how == FileShare::Reflink, stats);
            if (!cloned) {
                return tl::unexpected(cloned.error());
            }
            (*cloned ? stats.reflinked : stats.copied)++;
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1);
            ssize_t n = ::readlink(s.c_str(), target.data(), target.size());
            if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
                return fail(fmt::format("{}: readlink failed", s));
            }
            target[static_cast<std::size_t>(n)] = '\0';
            if (::symlink(target.data(), d.c_str()) != 0) {
                return fail(fmt::format("{}: symlink: {}", d, std::strerror(errno)));
            }
            stats.others++;
        } else {
            if (::mknod(d.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
                return fail(fmt::format("{}: mknod: {}", d, std::strerror(errno)));
            }
            stats.others++;
        }
        return applyMeta(s, d, st);
    }
};

}  // namespace

Result<TreeCopyStats> copyTree(const fs::path& src, const fs::path& dst,
                               const SharePolicy& policy) {
    Copier c{policy, {}, {}};
    if (auto r = c.copyEntry(src.string(), dst.string(), "", 0); !r) {
        return tl::unexpected(r.error());
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
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) {
        return fail(fmt::format("{}: lstat: {}", src.string(), std::strerror(errno)));
    }
    return applyMeta(src.string(), dst.string(), st);
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
