#include "app/client/root_edit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/in_tree.h"
#include "io/fs/tree_copy.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

Result<std::vector<std::string>> components(const std::string& rel) {
    std::vector<std::string> out;
    for (const auto& part : fs::path(rel)) {
        std::string s = part.string();
        if (s.empty() || s == "." || s == ".." || s == "/") {
            return fail(fmt::format("path \"{}\" is not a plain relative path", rel));
        }
        out.push_back(s);
    }
    if (out.empty()) {
        return fail("empty path");
    }
    return out;
}

/// The trees are walked on directory descriptors (io/fs/in_tree.h): each
/// component is opened from its parent's descriptor with no symlink
/// allowed, so a directory the client swaps for a symlink over NFS between
/// a check and a write cannot redirect the write (issue #13 item 10).
io::Fd openDir(const fs::path& p) {
    return io::Fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

io::Fd openSubdir(int dir, const std::string& name) {
    return io::Fd(io::openInTreeRaw(dir, name, O_RDONLY | O_DIRECTORY));
}

/// The directory holding the last component of @p parts under @p root
/// (the root itself for a one-component path), or an invalid Fd.
io::Fd openParent(const fs::path& root, const std::vector<std::string>& parts) {
    io::Fd cur = openDir(root);
    for (std::size_t i = 0; cur && i + 1 < parts.size(); ++i) {
        cur = openSubdir(cur.get(), parts[i]);
    }
    return cur;
}

std::optional<struct stat> statAt(int dir, const std::string& name) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return std::nullopt;
    }
    return st;
}

/// Ensures every parent directory of @p parts exists under @p writeRoot as a
/// real directory (created ones take the template's metadata); returns the
/// parent's descriptor.
Result<io::Fd> ensureParents(const fs::path& writeRoot, const fs::path& templateRoot,
                             const std::vector<std::string>& parts) {
    io::Fd cur = openDir(writeRoot);
    if (!cur) {
        return fail(fmt::format("{}: {}", writeRoot.string(), std::strerror(errno)));
    }
    io::Fd tmpl = templateRoot.empty() ? io::Fd() : openDir(templateRoot);
    fs::path shown = writeRoot;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string& part = parts[i];
        shown /= part;
        io::Fd tmplNext = tmpl ? openSubdir(tmpl.get(), part) : io::Fd();
        io::Fd next = openSubdir(cur.get(), part);
        bool made = false;
        if (!next && errno == ENOENT) {
            if (::mkdirat(cur.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
                return fail(fmt::format("{}: mkdir: {}", shown.string(), std::strerror(errno)));
            }
            made = true;
            next = openSubdir(cur.get(), part);
        }
        if (!next) {
            return fail(
                fmt::format("{}: is a symlink or not a directory; refusing to write through it",
                            shown.string()));
        }
        if (made && tmplNext) {
            if (auto r = io::copyMetadataAt(tmpl.get(), part, cur.get(), part); !r) {
                return tl::unexpected(r.error());
            }
        }
        cur = std::move(next);
        tmpl = std::move(tmplNext);
    }
    return cur;
}

/// temp + rename inside @p dir: the new entry never replaces anything but
/// the name @p name of that very directory.
Result<void> writeAtomicAt(int dir, const std::string& name, const std::string& content,
                           mode_t mode, uid_t uid, gid_t gid, const fs::path& shown) {
    std::string tmp = "." + name + ".pinetboot-new";
    (void)::unlinkat(dir, tmp.c_str(), 0);  // a leftover of an interrupted run
    io::Fd fd(
        ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
        return fail(fmt::format("{}: cannot create: {}", shown.string(), std::strerror(errno)));
    }
    auto w = io::writeAll(
        fd.get(), std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
    const char* what = !w                                                     ? "write"
                       : ::fchown(fd.get(), uid, gid) != 0                    ? "chown"
                       : ::fchmod(fd.get(), mode & 07777) != 0                ? "chmod"
                       : ::fsync(fd.get()) != 0                               ? "fsync"
                       : ::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0 ? "rename"
                                                                              : nullptr;
    if (what != nullptr) {
        int e = errno;
        (void)::unlinkat(dir, tmp.c_str(), 0);
        return fail(fmt::format("{}: {} failed: {}", shown.string(), what, std::strerror(e)));
    }
    return {};
}

}  // namespace

bool rootPathExists(const fs::path& root, const std::string& rel) {
    auto parts = components(rel);
    if (!parts) {
        return false;
    }
    io::Fd parent = openParent(root, *parts);
    return parent && statAt(parent.get(), parts->back()).has_value();
}

Result<std::optional<std::string>> readRootFile(const fs::path& root, const std::string& rel) {
    auto parts = components(rel);
    if (!parts) {
        return tl::unexpected(parts.error());
    }
    io::Fd dir = openDir(root);
    io::Fd fd(dir ? io::openInTreeRaw(dir.get(), rel, O_RDONLY | O_NONBLOCK) : -1);
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::optional<std::string>{};  // missing, a symlink on the way, or not a file
    }
    std::string out;
    std::array<char, 65536> buf{};
    while (true) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(fmt::format("{}: read: {}", (root / rel).string(), std::strerror(errno)));
        }
        if (n == 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return std::optional<std::string>{std::move(out)};
}

Result<void> writeRootFile(const fs::path& writeRoot, const fs::path& templateRoot,
                           const std::string& rel, const std::string& content, unsigned mode) {
    auto parts = components(rel);
    if (!parts) {
        return tl::unexpected(parts.error());
    }
    auto parent = ensureParents(writeRoot, templateRoot, *parts);
    if (!parent) {
        return tl::unexpected(parent.error());
    }
    const std::string& name = parts->back();
    // Owner and mode from the file being replaced (in this tree or the template).
    uid_t uid = 0;
    gid_t gid = 0;
    auto from = statAt(parent->get(), name);
    if (!from || !S_ISREG(from->st_mode)) {
        from.reset();
        io::Fd tp = templateRoot.empty() ? io::Fd() : openParent(templateRoot, *parts);
        if (tp) {
            from = statAt(tp.get(), name);
            if (from && !S_ISREG(from->st_mode)) {
                from.reset();
            }
        }
    }
    if (from) {
        mode = from->st_mode & 07777;
        uid = from->st_uid;
        gid = from->st_gid;
    }
    return writeAtomicAt(parent->get(), name, content, static_cast<mode_t>(mode), uid, gid,
                         writeRoot / rel);
}

Result<void> writeRootSymlink(const fs::path& writeRoot, const fs::path& templateRoot,
                              const std::string& rel, const std::string& target) {
    auto parts = components(rel);
    if (!parts) {
        return tl::unexpected(parts.error());
    }
    auto parent = ensureParents(writeRoot, templateRoot, *parts);
    if (!parent) {
        return tl::unexpected(parent.error());
    }
    const std::string& name = parts->back();
    std::string tmp = "." + name + ".pinetboot-new";
    (void)::unlinkat(parent->get(), tmp.c_str(), 0);
    if (::symlinkat(target.c_str(), parent->get(), tmp.c_str()) != 0 ||
        ::renameat(parent->get(), tmp.c_str(), parent->get(), name.c_str()) != 0) {
        int e = errno;
        (void)::unlinkat(parent->get(), tmp.c_str(), 0);
        return fail(fmt::format("{}: symlink: {}", (writeRoot / rel).string(), std::strerror(e)));
    }
    return {};
}

}  // namespace pinet::app
