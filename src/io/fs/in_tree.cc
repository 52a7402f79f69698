#include "io/fs/in_tree.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "io/fs/file_ops.h"

namespace pinet::io {

namespace {

bool splitRel(const std::string& rel, std::vector<std::string>& out) {
    std::size_t pos = 0;
    while (true) {
        std::size_t slash = rel.find('/', pos);
        std::string part =
            rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        out.push_back(std::move(part));
        if (slash == std::string::npos) {
            return true;
        }
        pos = slash + 1;
    }
}

int walkNoFollow(int dirFd, const std::vector<std::string>& parts, int flags, mode_t mode) {
    int at = dirFd;
    int owned = -1;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        int next = ::openat(at, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (owned >= 0) {
            ::close(owned);
        }
        if (next < 0) {
            errno = saved;
            return -1;
        }
        owned = next;
        at = next;
    }
    int fd = ::openat(at, parts.back().c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int saved = errno;
    if (owned >= 0) {
        ::close(owned);
    }
    errno = saved;
    return fd;
}

}  // namespace

int openInTreeRaw(int dirFd, const std::string& rel, int flags, mode_t mode) {
    std::vector<std::string> parts;
    if (!splitRel(rel, parts)) {
        errno = EINVAL;
        return -1;
    }
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, dirFd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS) {
        return static_cast<int>(fd);
    }
    return walkNoFollow(dirFd, parts, flags, mode);
}

Result<Fd> openInTree(int dirFd, const std::string& rel, int flags, mode_t mode) {
    Fd fd(openInTreeRaw(dirFd, rel, flags, mode));
    if (!fd) {
        int saved = errno;
        auto r = fail(fmt::format("{}: {}", rel,
                                  saved == ELOOP || saved == EXDEV
                                      ? "a symlink on the way (not followed)"
                                      : std::strerror(saved)));
        errno = saved;
        return r;
    }
    return fd;
}

std::string fdEntryPath(int dirFd, const std::string& name) {
    return fmt::format("/proc/self/fd/{}/{}", dirFd, name);
}

std::optional<struct stat> statAt(int dirFd, const std::string& name) {
    struct stat st {};
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return std::nullopt;
    }
    return st;
}

Result<Fd> openOrMakeDirAt(int dirFd, const std::string& name, mode_t mode, bool& created) {
    created = false;
    Fd next(openInTreeRaw(dirFd, name, O_RDONLY | O_DIRECTORY));
    if (!next && errno == ENOENT) {
        if (::mkdirat(dirFd, name.c_str(), mode) != 0 && errno != EEXIST) {
            return fail(fmt::format("mkdir: {}", std::strerror(errno)));
        }
        created = true;
        next = Fd(openInTreeRaw(dirFd, name, O_RDONLY | O_DIRECTORY));
    }
    if (!next) {
        return fail("is a symlink or not a directory; refusing to write through it");
    }
    return next;
}

namespace {

std::string tempName(const std::string& name) {
    return "." + name + ".pinetboot-new";
}

}  // namespace

Result<void> writeFileAt(int dirFd, const std::string& name, std::string_view content, mode_t mode,
                         uid_t uid, gid_t gid) {
    const std::string tmp = tempName(name);
    (void)::unlinkat(dirFd, tmp.c_str(), 0);  // a leftover of an interrupted run, if any
    Fd fd(::openat(dirFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
        return fail(fmt::format("cannot create: {}", std::strerror(errno)));
    }
    const auto written = writeAll(
        fd.get(), std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
    const char* what = !written                                                   ? "write"
                       : ::fchown(fd.get(), uid, gid) != 0                        ? "chown"
                       : ::fchmod(fd.get(), mode & 07777) != 0                    ? "chmod"
                       : ::fsync(fd.get()) != 0                                   ? "fsync"
                       : ::renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) != 0 ? "rename"
                                                                                  : nullptr;
    if (what != nullptr) {
        const int e = errno;
        (void)::unlinkat(dirFd, tmp.c_str(), 0);
        return fail(fmt::format("{} failed: {}", what, std::strerror(e)));
    }
    return {};
}

Result<void> replaceSymlinkAt(int dirFd, const std::string& name, const std::string& target) {
    const std::string tmp = tempName(name);
    (void)::unlinkat(dirFd, tmp.c_str(), 0);  // a leftover of an interrupted run, if any
    if (::symlinkat(target.c_str(), dirFd, tmp.c_str()) != 0 ||
        ::renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) != 0) {
        const int e = errno;
        (void)::unlinkat(dirFd, tmp.c_str(), 0);
        return fail(fmt::format("symlink: {}", std::strerror(e)));
    }
    return {};
}

Result<void> setXattrInTree(int topFd, const std::string& rel, const std::string& name,
                            std::span<const std::uint8_t> value) {
    auto failErrno = [&](int e) {
        auto r = fail(fmt::format(
            "{}: {}: {}", rel.empty() ? "." : rel, name,
            e == ELOOP || e == EXDEV ? "a symlink on the way (not followed)" : std::strerror(e)));
        errno = e;
        return r;
    };
    if (rel.empty()) {
        if (::fsetxattr(topFd, name.c_str(), value.data(), value.size(), 0) != 0) {
            return failErrno(errno);
        }
        return {};
    }
    const std::size_t slash = rel.rfind('/');
    const std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
    if (base.empty() || base == "." || base == "..") {
        return failErrno(EINVAL);
    }
    Fd dir;
    int at = topFd;
    if (slash != std::string::npos) {
        dir = Fd(openInTreeRaw(topFd, rel.substr(0, slash), O_PATH | O_DIRECTORY));
        if (!dir) {
            return failErrno(errno);
        }
        at = dir.get();
    }
    const std::string path = fdEntryPath(at, base);
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
        return failErrno(errno);
    }
    return {};
}

Result<std::optional<std::string>> readRegularInTree(int dirFd, const std::string& rel) {
    Fd fd(openInTreeRaw(dirFd, rel, O_RDONLY | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::optional<std::string>{};
    }
    std::string out;
    std::vector<char> buf(65536);
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(fmt::format("read: {}", std::strerror(errno)));
        }
        if (n == 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return std::optional<std::string>{std::move(out)};
}

}  // namespace pinet::io
