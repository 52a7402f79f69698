#include "app/client/root_edit.h"

#include <fcntl.h>  // the O_ flags openInTree takes

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
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
    auto fd = io::openDirectory(p);
    return fd ? std::move(*fd) : io::Fd();
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

using io::statAt;

/// Ensures every parent directory of @p parts exists under @p writeRoot as a
/// real directory (created ones take the template's metadata); returns the
/// parent's descriptor.
Result<io::Fd> ensureParents(const fs::path& writeRoot, const fs::path& templateRoot,
                             const std::vector<std::string>& parts) {
    auto root = io::openDirectory(writeRoot);
    if (!root) {
        return tl::unexpected(root.error());
    }
    io::Fd cur = std::move(*root);
    io::Fd tmpl = templateRoot.empty() ? io::Fd() : openDir(templateRoot);
    fs::path shown = writeRoot;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string& part = parts[i];
        shown /= part;
        io::Fd tmplNext = tmpl ? openSubdir(tmpl.get(), part) : io::Fd();
        bool made = false;
        auto next = io::openOrMakeDirAt(cur.get(), part, 0755, made);
        if (!next) {
            return fail(fmt::format("{}: {}", shown.string(), next.error().message));
        }
        if (made && tmplNext) {
            if (auto r = io::copyMetadataAt(tmpl.get(), part, cur.get(), part); !r) {
                return tl::unexpected(r.error());
            }
        }
        cur = std::move(*next);
        tmpl = std::move(tmplNext);
    }
    return cur;
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
    if (!dir) {
        return std::optional<std::string>{};  // no root, no file
    }
    auto content = io::readRegularInTree(dir.get(), rel);
    if (!content) {
        return fail(fmt::format("{}: {}", (root / rel).string(), content.error().message));
    }
    return content;
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
    if (auto w = io::writeFileAt(parent->get(), name, content, static_cast<mode_t>(mode), uid, gid);
        !w) {
        return fail(fmt::format("{}: {}", (writeRoot / rel).string(), w.error().message));
    }
    return {};
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
    if (auto r = io::replaceSymlinkAt(parent->get(), name, target); !r) {
        return fail(fmt::format("{}: {}", (writeRoot / rel).string(), r.error().message));
    }
    return {};
}

}  // namespace pinet::app
