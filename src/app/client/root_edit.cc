#include "app/client/root_edit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "io/file.h"
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
        struct stat st {};
        if (::lstat(cur.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                return fail(fmt::format("{}: is a symlink or not a directory; refusing to write "
                                        "through it", cur.string()));
            }
            continue;
        }
        if (errno != ENOENT) {
            return fail(fmt::format("{}: {}", cur.string(), std::strerror(errno)));
        }
        if (::mkdir(cur.c_str(), 0755) != 0) {
            return fail(fmt::format("{}: mkdir: {}", cur.string(), std::strerror(errno)));
        }
        struct stat ts {};
        if (tmplValid && ::lstat(tmpl.c_str(), &ts) == 0 && S_ISDIR(ts.st_mode)) {
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
        struct stat st {};
        if (::lstat(cur.c_str(), &st) != 0) {
            return false;
        }
        if (i + 1 < parts->size() && !S_ISDIR(st.st_mode)) {
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
        struct stat st {};
        if (::lstat(cur.c_str(), &st) != 0) {
            return std::optional<std::string>{};
        }
        bool last = i + 1 == parts->size();
        if ((!last && !S_ISDIR(st.st_mode)) || (last && !S_ISREG(st.st_mode))) {
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
    struct stat st {};
    fs::path tmplFile = templateRoot.empty() ? fs::path() : templateRoot / rel;
    if (::lstat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        mode = st.st_mode & 07777;
        uid = st.st_uid;
        gid = st.st_gid;
    } else if (!tmplFile.empty() && rootPathExists(templateRoot, rel) &&
               ::lstat(tmplFile.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        mode = st.st_mode & 07777;
        uid = st.st_uid;
        gid = st.st_gid;
    }
    if (auto r = io::writeFileAtomic(target, content, mode); !r) {
        return r;
    }
    if (::lchown(target.c_str(), uid, gid) != 0) {
        return fail(fmt::format("{}: chown: {}", target.string(), std::strerror(errno)));
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
    fs::path link = *parent / parts->back();
    fs::path tmp = *parent / ("." + parts->back() + ".pinetboot-new");
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(fmt::format("{}: symlink: {}", link.string(), std::strerror(e)));
    }
    return {};
}

}  // namespace pinet::app
