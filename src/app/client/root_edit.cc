#include "app/client/root_edit.h"

#include <vector>

#include <fmt/format.h>

#include "io/file.h"
#include "io/fs/file_ops.h"
#include "io/fs/tree_copy.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

/// The entry exists (lstat) and is of @p kind.
bool isKind(const fs::path& p, io::EntryKind kind) {
    auto st = io::statNoFollow(p);
    return st && *st && (*st)->kind == kind;
}

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

/// Ensures every parent directory of @p rel exists under @p writeRoot as a
/// real directory; returns the parent's full path.
Result<fs::path> ensureParents(const fs::path& writeRoot, const fs::path& templateRoot,
                               const std::vector<std::string>& parts) {
    fs::path cur = writeRoot;
    fs::path tmpl = templateRoot;
    bool tmplValid = !templateRoot.empty();
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        cur /= parts[i];
        tmpl /= parts[i];
        auto st = io::statNoFollow(cur);
        if (!st) {
            return tl::unexpected(st.error());
        }
        if (*st) {
            if ((*st)->kind != io::EntryKind::Directory) {
                return fail(
                    fmt::format("{}: is a symlink or not a directory; refusing to write "
                                "through it",
                                cur.string()));
            }
            continue;
        }
        if (auto r = io::makeDirectory(cur, 0755); !r) {
            return tl::unexpected(r.error());
        }
        if (tmplValid && isKind(tmpl, io::EntryKind::Directory)) {
            if (auto r = io::copyMetadata(tmpl, cur); !r) {
                return tl::unexpected(r.error());
            }
        } else {
            tmplValid = false;
        }
    }
    return cur;
}

}  // namespace

bool rootPathExists(const fs::path& root, const std::string& rel) {
    auto parts = components(rel);
    if (!parts) {
        return false;
    }
    fs::path cur = root;
    for (std::size_t i = 0; i < parts->size(); ++i) {
        cur /= (*parts)[i];
        auto st = io::statNoFollow(cur);
        if (!st || !*st) {
            return false;
        }
        if (i + 1 < parts->size() && (*st)->kind != io::EntryKind::Directory) {
            return false;
        }
    }
    return true;
}

Result<std::optional<std::string>> readRootFile(const fs::path& root, const std::string& rel) {
    auto parts = components(rel);
    if (!parts) {
        return tl::unexpected(parts.error());
    }
    fs::path cur = root;
    for (std::size_t i = 0; i < parts->size(); ++i) {
        cur /= (*parts)[i];
        const bool last = i + 1 == parts->size();
        if (!isKind(cur, last ? io::EntryKind::Regular : io::EntryKind::Directory)) {
            return std::optional<std::string>{};
        }
    }
    auto data = io::readFile(cur);
    if (!data) {
        return tl::unexpected(data.error());
    }
    return std::optional<std::string>{std::string(data->begin(), data->end())};
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
    fs::path target = *parent / parts->back();
    // Owner and mode from the file being replaced (in this tree or the template).
    uid_t uid = 0;
    gid_t gid = 0;
    fs::path tmplFile = templateRoot.empty() ? fs::path() : templateRoot / rel;
    auto regular = [](const fs::path& p) -> std::optional<io::EntryStat> {
        auto st = io::statNoFollow(p);
        if (st && *st && (*st)->kind == io::EntryKind::Regular) {
            return **st;
        }
        return std::nullopt;
    };
    std::optional<io::EntryStat> from = regular(target);
    if (!from && !tmplFile.empty() && rootPathExists(templateRoot, rel)) {
        from = regular(tmplFile);
    }
    if (from) {
        mode = from->mode;
        uid = from->uid;
        gid = from->gid;
    }
    if (auto r = io::writeFileAtomic(target, content, mode); !r) {
        return r;
    }
    return io::setOwnerNoFollow(target, uid, gid);
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
    return io::replaceWithSymlink(target, *parent / parts->back());
}

}  // namespace pinet::app
