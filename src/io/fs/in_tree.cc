#include "io/fs/in_tree.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

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

}  // namespace pinet::io
