#include "io/fs/tree_hash.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>

#include <fmt/format.h>

#include "io/crypto.h"
#include "io/fd.h"
#include "proto/netboot/tree_manifest.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace fs = std::filesystem;
namespace nb = proto::netboot;

namespace {

std::string hexOf(const Sha256Digest& d) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(d.size() * 2);
    for (const std::uint8_t b : d) {
        s += kHex[b >> 4];
        s += kHex[b & 0x0f];
    }
    return s;
}

std::int64_t ns(const struct timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// The names in @p dir, sorted; "." and ".." left out. nullopt if it cannot be read.
std::optional<std::vector<std::string>> listDir(const fs::path& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return std::nullopt;
    }
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view n(e->d_name);
        if (n != "." && n != "..") {
            names.emplace_back(n);
        }
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

HashedTree TreeHasher::hashTree(const fs::path& dir, const std::string& name) {
    HashedTree t;
    t.name = name;
    std::vector<nb::TreeEntry> entries;
    auto note = [&](std::string what) {
        if (t.problem.empty()) {
            t.problem = std::move(what);
        }
    };
    // One file or link at @p full, listed as @p rel.
    auto add = [&](const fs::path& full, const std::string& rel, const struct stat& st) {
        if (entries.size() >= nb::kMaxTreeEntries) {
            note(
                fmt::format("more than {} entries (only those are compared)", nb::kMaxTreeEntries));
            return;
        }
        nb::TreeEntry e;
        // Names come from images: made printable, the form the manifest can carry.
        e.path = proto::text::safeText(rel, nb::kMaxTreePath);
        if (!nb::isValidTreePath(e.path)) {
            note(fmt::format("a name that cannot be listed: {}", e.path));
            return;
        }
        if (S_ISLNK(st.st_mode)) {
            std::array<char, 4096> buf{};
            const ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
            if (n < 0) {
                note(fmt::format("cannot read the link {}", e.path));
                return;
            }
            const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
            e.kind = nb::TreeEntry::Kind::Link;
            e.size = static_cast<std::uint64_t>(n);
            e.sha256 = sha256Hex(std::span(p, static_cast<std::size_t>(n)));
            entries.push_back(std::move(e));
            return;
        }
        const Key key{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
        const auto size = static_cast<std::uint64_t>(st.st_size);
        // A digest still good: hashed earlier in this walk (another hard link), or in the
        // last walk with the same size, mtime and ctime (ctime: a rewrite that kept mtime).
        auto fresh = [&](const std::map<Key, Cached>& m) -> const Cached* {
            auto it = m.find(key);
            if (it == m.end() || it->second.size != size || it->second.mtimeNs != ns(st.st_mtim) ||
                it->second.ctimeNs != ns(st.st_ctim)) {
                return nullptr;
            }
            return &it->second;
        };
        const Cached* c = fresh(seen_);
        if (c == nullptr) {
            if (const Cached* old = fresh(cache_)) {
                c = &seen_.insert_or_assign(key, *old).first->second;
            }
        }
        if (c == nullptr) {
            Fd fd(::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
            struct stat now {};
            if (!fd || ::fstat(fd.get(), &now) != 0 || now.st_ino != st.st_ino ||
                now.st_dev != st.st_dev) {
                note(fmt::format("cannot read {}", e.path));
                return;
            }
            Sha256Stream h;
            std::vector<std::uint8_t> buf(std::size_t{1} << 20);  // 1 MiB reads
            std::uint64_t total = 0;
            while (true) {
                const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
                if (n < 0) {
                    note(fmt::format("cannot read {}", e.path));
                    return;
                }
                if (n == 0) {
                    break;
                }
                h.update(std::span(buf.data(), static_cast<std::size_t>(n)));
                total += static_cast<std::uint64_t>(n);
            }
            bytesRead_ += total;
            Cached made{total, ns(now.st_mtim), ns(now.st_ctim), hexOf(h.finish())};
            c = &seen_.insert_or_assign(key, std::move(made)).first->second;
        }
        e.kind = nb::TreeEntry::Kind::File;
        e.size = c->size;
        e.sha256 = c->sha256;
        ++t.files;
        t.bytes += e.size;
        entries.push_back(std::move(e));
    };
    if (name == ".") {
        auto names = listDir(dir);
        for (const auto& n : names ? *names : std::vector<std::string>{}) {
            struct stat st {};
            if (::lstat((dir / n).c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
                (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
                add(dir / n, n, st);
            }
        }
    } else {
        // Depth first, names sorted, so the entries come out in path order... almost:
        // "a/b" sorts after "a-c" but is walked before it. Sorted once at the end.
        struct Level {
            fs::path dir;
            std::string rel;
            int depth;
        };
        std::vector<Level> stack{{dir, "", 0}};
        while (!stack.empty()) {
            Level l = std::move(stack.back());
            stack.pop_back();
            auto names = listDir(l.dir);
            if (!names) {
                note(fmt::format("cannot list {}", l.rel.empty() ? name : name + "/" + l.rel));
                continue;
            }
            for (const auto& n : *names) {
                const fs::path full = l.dir / n;
                const std::string rel = l.rel.empty() ? n : l.rel + "/" + n;
                struct stat st {};
                if (::lstat(full.c_str(), &st) != 0) {
                    continue;  // gone since the listing
                }
                if (S_ISDIR(st.st_mode)) {
                    if (l.depth + 1 >= kMaxDepth) {
                        note(fmt::format("deeper than {} directories at {}", kMaxDepth, rel));
                    } else {
                        stack.push_back({full, rel, l.depth + 1});
                    }
                } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
                    add(full, rel, st);
                }
            }
        }
        std::sort(entries.begin(), entries.end(),
                  [](const nb::TreeEntry& a, const nb::TreeEntry& b) { return a.path < b.path; });
        // Two names that safeText made alike: keep the first (the tree is named as odd).
        const auto dup = std::adjacent_find(
            entries.begin(), entries.end(),
            [](const nb::TreeEntry& a, const nb::TreeEntry& b) { return a.path == b.path; });
        if (dup != entries.end()) {
            note(fmt::format("two names read as {}", dup->path));
            entries.erase(std::unique(entries.begin(), entries.end(),
                                      [](const nb::TreeEntry& a, const nb::TreeEntry& b) {
                                          return a.path == b.path;
                                      }),
                          entries.end());
        }
    }
    auto text = nb::encodeTreeManifest(entries);
    if (!text) {
        note(text.error().message);
        text = std::string();
    }
    t.manifest = std::move(*text);
    const auto* p = reinterpret_cast<const std::uint8_t*>(t.manifest.data());
    t.digest = sha256Hex(std::span(p, t.manifest.size()));
    return t;
}

Result<std::vector<HashedTree>> TreeHasher::hashRoot(const fs::path& root) {
    bytesRead_ = 0;
    seen_.clear();
    auto names = listDir(root);
    if (!names) {
        return fail(fmt::format("cannot list the boot root {}", root.string()));
    }
    std::vector<HashedTree> out;
    bool top = false;
    for (const auto& n : *names) {
        struct stat st {};
        if (::lstat((root / n).c_str(), &st) != 0) {
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            top = top || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode);
            continue;
        }
        if (out.size() >= kMaxTrees) {
            out.back().problem =
                fmt::format("more than {} trees: the rest are not compared", kMaxTrees);
            break;
        }
        const std::string safe = proto::text::safeText(n, nb::kMaxTreePath);
        out.push_back(hashTree(root / n, safe));
    }
    if (top) {
        out.push_back(hashTree(root, "."));
    }
    std::sort(out.begin(), out.end(),
              [](const HashedTree& a, const HashedTree& b) { return a.name < b.name; });
    cache_ = std::move(seen_);
    seen_.clear();
    return out;
}

}  // namespace pinet::io
