#pragma once
// The store's `nodes`, `boots` (schema v3) and `node_trees` (v4) tables (issue #19): each `serve` node's
// heartbeat, the node list every node derives its DHCP buckets from, and the boots
// every node finished. One implementation per store, the same SQL; the schema is
// the registry's, migrated before serve starts this. Times are unix milliseconds.
//
// PostgreSQL: heartbeats and liveness use the database's clock (now()), so nodes
// whose clocks disagree still agree on who is live. SQLite: one machine, its clock.
//
// A NodeStore is used by one thread at a time (serve's node thread); rows read back
// are hostile like any store text and are checked and made safe by the caller.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/fs/tree_hash.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::io {

struct NodeRow {
    std::string id;
    std::string address;
    std::int64_t heartbeatMs = 0;  ///< the store's clock
    std::int64_t startedMs = 0;
    std::int64_t ageMs = 0;  ///< now - heartbeat, by the store's clock
};

struct BootRow {
    std::string node;
    std::string serial;
    std::string mac;
    std::string ip;
    std::string model;
    std::string file;     ///< the kernel (kernel_loaded)
    std::string outcome;  ///< core::boot::toString(BootOutcome)
    std::string failure;
    std::int64_t startedMs = 0;
    std::int64_t endedMs = 0;
};

/// One node's manifest row of one boot tree (io/fs/tree_hash.h); `manifest` is filled
/// only by treeManifests().
struct TreeRow {
    std::string node;
    std::string tree;
    std::string digest;
    std::int64_t files = 0;
    std::int64_t bytes = 0;
    std::string problem;
    std::int64_t updatedMs = 0;  ///< the store's clock
    std::string manifest;
};

/// The machine's host name (gethostname), "" if it has none.
std::string hostName();

class NodeStore {
public:
    virtual ~NodeStore() = default;
    /// "sqlite DIR/registry.db" or the URL without its password.
    [[nodiscard]] virtual std::string describe() const = 0;
    /// Writes @p id's heartbeat (now), its @p address and @p startedMs.
    virtual Result<void> heartbeat(const std::string& id, const std::string& address,
                                   std::int64_t startedMs) = 0;
    /// Every row of `nodes`, sorted by id (byte order). At most kMaxNodes rows are read:
    /// a table filled by hand cannot make a node read without end.
    virtual Result<std::vector<NodeRow>> nodes() = 0;
    /// Appends @p boots in one transaction and keeps the newest kKeepBoots rows.
    virtual Result<void> recordBoots(std::span<const BootRow> boots) = 0;
    /// The newest @p limit boots of every node, newest first.
    virtual Result<std::vector<BootRow>> recentBoots(std::size_t limit) = 0;

    /// Publishes node @p id's trees: @p changed written (inserted or replaced), the trees
    /// named in @p removed deleted, in one transaction.
    virtual Result<void> publishTrees(const std::string& id, std::span<const HashedTree> changed,
                                      std::span<const std::string> removed) = 0;
    /// Every node's tree digests (no manifests), at most kMaxTreeRows, by node then tree.
    virtual Result<std::vector<TreeRow>> treeDigests() = 0;
    /// The rows of @p tree on every node, with their manifests; a manifest longer than
    /// kMaxManifestBytes comes back empty, with `problem` saying so.
    virtual Result<std::vector<TreeRow>> treeManifests(const std::string& tree) = 0;

    /// Tree rows read at once: 16 nodes of TreeHasher::kMaxTrees trees each.
    static constexpr std::int64_t kMaxTreeRows = 16 * 16384;
    /// A manifest line is about 100 bytes; a boot partition's ~600 files make 60 KB.
    /// 16 MiB holds the largest honest one (kMaxTreeEntries lines of ~250 bytes).
    static constexpr std::int64_t kMaxManifestBytes = 16 << 20;

    /// Rows of `nodes` read (a LAN has a handful of nodes; 256 would be one per bucket).
    static constexpr std::size_t kMaxNodes = 256;
    /// Boot rows kept in the store: a day of a 10,000-board fleet rebooting ten times.
    static constexpr std::int64_t kKeepBoots = 100'000;

    /// The node store of @p where (SQLite: @p stateDir/registry.db). Fails when it
    /// cannot connect or open; the schema must be at version 4 or later.
    static Result<std::unique_ptr<NodeStore>> open(const std::filesystem::path& stateDir,
                                                   const StoreLocation& where);
};

}  // namespace pinet::io
