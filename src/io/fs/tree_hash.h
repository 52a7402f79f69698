#pragma once
// The manifests of a TFTP root's boot trees (issue #19: doctor compares them across
// nodes). Each top-level directory is one tree (a client's SERIAL/, a shared one), and
// the files and links at the top are the tree ".". Entries are hashed with SHA-256;
// symbolic links are recorded by their target text and never followed. A hasher keeps
// each file's digest by (device, inode, size, mtime, ctime), so a tree of hard links
// into an image (client boot trees are, client_manager.h) is read once, and a second
// walk reads only what changed.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "proto/error.h"

namespace pinet::io {

struct HashedTree {
    std::string name;      ///< the top-level directory's name, or "."
    std::string digest;    ///< SHA-256 of manifest
    std::string manifest;  ///< proto::netboot::encodeTreeManifest's text
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    /// Empty, or why the manifest is not the whole tree (too many entries, too deep, a
    /// file that could not be read): such a tree is still published, and named so.
    std::string problem;
};

class TreeHasher {
public:
    /// The trees of @p root, sorted by name. Fails only if @p root cannot be read.
    Result<std::vector<HashedTree>> hashRoot(const std::filesystem::path& root);

    /// Bytes read and hashed by the last hashRoot (the cache's misses).
    [[nodiscard]] std::uint64_t bytesRead() const { return bytesRead_; }

    /// Top-level trees of a root: a state directory has one per client, and the registry
    /// keeps at most 4096 discovered boards (Registry::kMaxDiscovered) plus the enrolled.
    static constexpr std::size_t kMaxTrees = 16384;
    /// Directory depth inside a tree: a boot partition's is 2 or 3 (overlays/, current/).
    static constexpr int kMaxDepth = 16;

private:
    struct Key {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        auto operator<=>(const Key&) const = default;
    };
    struct Cached {
        std::uint64_t size = 0;
        std::int64_t mtimeNs = 0;
        std::int64_t ctimeNs = 0;
        std::string sha256;
    };
    HashedTree hashTree(const std::filesystem::path& dir, const std::string& name);
    std::map<Key, Cached> cache_;
    std::map<Key, Cached> seen_;  ///< this walk's entries: the next cache
    std::uint64_t bytesRead_ = 0;
};

}  // namespace pinet::io
