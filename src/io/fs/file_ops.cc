#include "io/fs/file_ops.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace pinet::io {

namespace fs = std::filesystem;

namespace {
tl::unexpected<Error> sysFail(const fs::path& p, const char* op) {
    return fail(fmt::format("{}: {}: {}", p.string(), op, std::strerror(errno)));
}

EntryKind kindOf(mode_t m) {
    if (S_ISDIR(m)) {
        return EntryKind::Directory;
    }
    if (S_ISREG(m)) {
        return EntryKind::Regular;
    }
    if (S_ISLNK(m)) {
        return EntryKind::Symlink;
    }
    return EntryKind::Other;
}
}  // namespace

Result<std::optional<EntryStat>> statNoFollow(const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::optional<EntryStat>{};
        }
        return fail(fmt::format("{}: {}", p.string(), std::strerror(errno)));
    }
    return EntryStat{kindOf(st.st_mode), static_cast<unsigned>(st.st_mode & 07777), st.st_uid,
                     st.st_gid, static_cast<std::uint64_t>(st.st_size)};
}

Result<void> makeDirectory(const fs::path& p, unsigned mode) {
    if (::mkdir(p.c_str(), static_cast<mode_t>(mode)) != 0) {
        return sysFail(p, "mkdir");
    }
    return {};
}

Result<void> setMode(const fs::path& p, unsigned mode) {
    if (::chmod(p.c_str(), static_cast<mode_t>(mode)) != 0) {
        return sysFail(p, "chmod");
    }
    return {};
}

Result<void> setOwnerNoFollow(const fs::path& p, uid_t uid, gid_t gid) {
    if (::lchown(p.c_str(), uid, gid) != 0) {
        return sysFail(p, "chown");
    }
    return {};
}

Result<void> renamePath(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return fail(
            fmt::format("rename {} -> {}: {}", from.string(), to.string(), std::strerror(errno)));
    }
    return {};
}

Result<void> removeLink(const fs::path& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
        return sysFail(p, "unlink");
    }
    return {};
}

Result<void> makeSymlink(const std::string& target, const fs::path& link) {
    if (::symlink(target.c_str(), link.c_str()) != 0) {
        return sysFail(link, "symlink");
    }
    return {};
}

Result<void> replaceWithSymlink(const std::string& target, const fs::path& link) {
    const fs::path tmp = link.parent_path() / ("." + link.filename().string() + ".pinetboot-new");
    (void)::unlink(tmp.c_str());  // a leftover of an interrupted run
    if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
        const int e = errno;
        (void)::unlink(tmp.c_str());
        return fail(fmt::format("{}: symlink: {}", link.string(), std::strerror(e)));
    }
    return {};
}

Result<Fd> createExclusive(const fs::path& p, unsigned mode) {
    Fd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
    if (!fd) {
        return sysFail(p, "create");
    }
    return fd;
}

Result<void> createSparseFile(const fs::path& p, std::uint64_t size, unsigned mode) {
    auto fd = createExclusive(p, mode);
    if (!fd) {
        return tl::unexpected(fd.error());
    }
    if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
        auto err = sysFail(p, "ftruncate");
        (void)::unlink(p.c_str());
        return err;
    }
    return {};
}

Result<Fd> openReadOnly(const fs::path& p) {
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return sysFail(p, "open");
    }
    return fd;
}

std::uint64_t allocatedBytes(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        return 0;
    }
    // st_blocks counts 512-byte units whatever the file system's block size (stat(2)).
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

Result<void> writeAll(int fd, std::span<const std::uint8_t> data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("write: {}", std::strerror(errno)));
        }
        if (n == 0) {
            return fail("write: no progress");
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> setTimes(int fd, std::int64_t seconds) {
    const std::array<timespec, 2> t = {timespec{seconds, 0}, timespec{seconds, 0}};
    if (::futimens(fd, t.data()) != 0) {
        return fail(fmt::format("futimens: {}", std::strerror(errno)));
    }
    return {};
}

Result<void> setTimes(const fs::path& p, std::int64_t seconds) {
    const std::array<timespec, 2> t = {timespec{seconds, 0}, timespec{seconds, 0}};
    if (::utimensat(AT_FDCWD, p.c_str(), t.data(), 0) != 0) {
        return sysFail(p, "utimensat");
    }
    return {};
}

Result<Fd> openForReading(const fs::path& p) {
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return sysFail(p, "open");
    }
    return fd;
}

Result<Fd> openDirectory(const fs::path& p) {
    Fd fd(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        return sysFail(p, "open");
    }
    return fd;
}

Result<std::uint64_t> fileSize(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return fail(fmt::format("fstat: {}", std::strerror(errno)));
    }
    return static_cast<std::uint64_t>(st.st_size);
}

Result<std::size_t> readAt(int fd, std::span<std::uint8_t> buf, std::uint64_t offset) {
    while (true) {
        const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return fail(fmt::format("pread: {}", std::strerror(errno)));
        }
    }
}

namespace {
constexpr std::size_t kCopyChunk = 1 << 20;

/// Copies [from, to) of @p in to the same offsets of @p out.
Result<std::uint64_t> copyRange(int in, int out, off_t from, off_t to, std::vector<char>& buf) {
    std::uint64_t done = 0;
    while (from < to) {
        const auto want =
            static_cast<std::size_t>(std::min<off_t>(to - from, static_cast<off_t>(buf.size())));
        const ssize_t n = ::pread(in, buf.data(), want, from);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("copy: read: {}", std::strerror(errno)));
        }
        if (n == 0) {
            break;  // the source shrank under us: copy what there is
        }
        std::size_t put = 0;
        while (put < static_cast<std::size_t>(n)) {
            const ssize_t w = ::pwrite(out, buf.data() + put, static_cast<std::size_t>(n) - put,
                                       from + static_cast<off_t>(put));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("copy: write: {}", std::strerror(errno)));
            }
            put += static_cast<std::size_t>(w);
        }
        from += n;
        done += static_cast<std::uint64_t>(n);
    }
    return done;
}
}  // namespace

Result<DataCopy> cloneOrCopyData(int inFd, int outFd, bool tryReflink) {
    DataCopy res;
    if (tryReflink && ::ioctl(outFd, FICLONE, inFd) == 0) {
        res.reflinked = true;
        return res;
    }
    struct stat st {};
    if (::fstat(inFd, &st) != 0) {
        return fail(fmt::format("copy: fstat: {}", std::strerror(errno)));
    }
    const off_t size = st.st_size;
    std::vector<char> buf(kCopyChunk);
    off_t pos = 0;
    while (pos < size) {
        off_t data = ::lseek(inFd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) {
                break;  // only a hole from here to the end
            }
            if (errno != EINVAL && errno != EOPNOTSUPP) {
                return fail(fmt::format("copy: SEEK_DATA: {}", std::strerror(errno)));
            }
            data = pos;  // no hole support: everything from here is data
        }
        off_t hole = ::lseek(inFd, data, SEEK_HOLE);
        if (hole < 0 || hole > size) {
            hole = size;
        }
        auto n = copyRange(inFd, outFd, data, hole, buf);
        if (!n) {
            return tl::unexpected(n.error());
        }
        res.bytesCopied += *n;
        pos = hole;
    }
    // A trailing hole: the size, without writing the zeros.
    if (::ftruncate(outFd, size) != 0) {
        return fail(fmt::format("copy: ftruncate: {}", std::strerror(errno)));
    }
    return res;
}

}  // namespace pinet::io
