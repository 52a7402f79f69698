#pragma once
// Boot trees compared across nodes (issue #19): every node that answers a board must
// hand it the same files, so each node publishes, per boot tree (a top-level entry of
// its TFTP root: a client's SERIAL/ directory, a shared directory, "." for the files
// and MAC links at the top), the SHA-256 of the tree's manifest; doctor compares the
// digests and, for the trees that differ, the manifests file by file. Pure.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/netboot/tree_manifest.h"

namespace pinet::core::boot {

/// One node's digest of one of its trees.
struct NodeTreeDigest {
    std::string node;
    std::string tree;
    std::string digest;  ///< SHA-256 of the tree's manifest text
    std::uint64_t files = 0;
};

/// A tree that is not the same on every node: missing on some, or with digests that differ.
struct TreeMismatch {
    std::string tree;
    std::vector<std::string> missingOn;  ///< nodes without the tree (sorted)
    std::vector<std::string> presentOn;  ///< nodes with it (sorted)
    bool digestsDiffer = false;          ///< among presentOn
};

/// The trees of @p rows that are not the same on every one of @p nodes, sorted by tree.
/// A node of @p nodes with no row for a tree lacks it; rows of other nodes are ignored.
std::vector<TreeMismatch> compareTreeDigests(const std::vector<std::string>& nodes,
                                             const std::vector<NodeTreeDigest>& rows);

/// One node's manifest of one tree.
struct NodeManifest {
    std::string node;
    std::vector<proto::netboot::TreeEntry> entries;  ///< sorted by path (decoded manifests are)
};

/// A path whose entry is not the same on every node.
struct FileDifference {
    std::string path;
    /// Per node of the input, in its order: the entry, or nullopt where the node lacks it.
    std::vector<std::optional<proto::netboot::TreeEntry>> entries;
};

/// The paths of @p manifests (one tree, several nodes) whose kind or content is not the
/// same on every node, sorted by path; at most @p limit of them (the count of all is
/// in @p total when given).
std::vector<FileDifference> diffManifests(const std::vector<NodeManifest>& manifests,
                                          std::size_t limit, std::size_t* total = nullptr);

}  // namespace pinet::core::boot
