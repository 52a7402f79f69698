#pragma once
// Several pinetboot nodes on one boot LAN (issue #19): serve's node thread.
//
// Every kHeartbeatPeriod it writes this node's heartbeat to the store's `nodes`
// table, reads the node list back, and derives who owns which DHCP bucket
// (core::dhcp::BucketMap: every node computes the same map from the same rows).
// The DHCP responders ask owns() on their own threads (atomics, no lock). It logs
// NODE_JOIN / NODE_TAKEOVER / NODE_REJOIN when the membership changes, writes the
// boots this node finished to the `boots` table, and keeps the last node list and
// recent boots of every node for the web API (http::NodesReader).
//
// SQLite (one machine): the table holds this node's row and the map is this node
// alone, owning every bucket; nothing changes for the DHCP server. When the store
// cannot be read, the last view is kept: the other nodes then take this node's
// buckets after kLiveWithin, and while this node's store is down its leases cannot
// be committed anyway (no ACK without a committed lease).

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/http/nodes_reader.h"
#include "core/dhcp/load_share.h"
#include "core/metrics/metrics.h"
#include "io/fs/tree_hash.h"
#include "io/registry/node_store.h"

namespace pinet::app::serve {

/// How often a node heartbeats: a takeover follows a death within about
/// kLiveWithin + this, and each heartbeat is one small write.
inline constexpr std::chrono::milliseconds kHeartbeatPeriod{1000};
/// A node is live while its last heartbeat is younger than this: three periods, so a
/// node that misses two heartbeats (a slow commit, a pause) keeps its buckets, and a
/// dead node's boards are answered within about 4 s, one Pi DISCOVER retransmission
/// (4 s, spec netboot-protocol §2.3) and far inside its 45 s DHCP_TIMEOUT.
inline constexpr std::chrono::milliseconds kLiveWithin{3000};
/// Finished boots are written this soon, gathered into one transaction: a storm's
/// boots cost a few writes a second, and a node killed loses at most this much of them.
inline constexpr std::chrono::milliseconds kBootBatch{100};

/// [store] node_id when set, else the host name, made safe: letters, digits, '.',
/// '-' and '_' kept, anything else '-', at most 63 bytes (a DNS label), "node" if empty.
std::string sanitizeNodeId(std::string_view raw);

struct NodeServiceConfig {
    std::string nodeId;
    std::string address;  ///< shown to the other nodes (the first interface's address)
    std::filesystem::path stateDir;
    io::StoreLocation where;
    /// The TFTP root whose boot trees this node publishes for doctor (PostgreSQL only:
    /// one node has no one to compare with); empty = none.
    std::filesystem::path treeRoot;
    /// How often the trees are walked ([store] tree_check_seconds): unchanged files are
    /// not read again (io::TreeHasher), so a walk is a stat of every file.
    std::chrono::seconds treePeriod{30};
};

class NodeService final : public core::dhcp::LoadShare, public http::NodesReader {
public:
    explicit NodeService(NodeServiceConfig config);
    ~NodeService() override;
    NodeService(const NodeService&) = delete;
    NodeService& operator=(const NodeService&) = delete;

    /// Opens the store and runs the first round (heartbeat, node list) before it returns,
    /// so the DHCP servers started after it answer with the right buckets from their
    /// first packet; then starts the thread. A store that cannot be opened is logged and
    /// the node owns every bucket (as one node would).
    void start();
    void stop();

    [[nodiscard]] const std::string& nodeId() const { return config_.nodeId; }

    // core::dhcp::LoadShare (any thread)
    [[nodiscard]] bool owns(std::uint8_t bucket) const override;
    [[nodiscard]] core::dhcp::AddressShare addressShare() const override;

    /// A boot this node finished (the boot monitor's thread): queued, written by the
    /// node thread. Bounded (kMaxQueued): beyond it the oldest is dropped and counted.
    void recordBoot(io::BootRow row);

    // http::NodesReader (any thread)
    [[nodiscard]] std::string nodesJson() const override;
    [[nodiscard]] std::string nodeBootsJson(std::size_t limit) const override;

    /// pinetboot_node_buckets_owned, pinetboot_nodes_live, ... (scrape time).
    void exportMetrics(core::metrics::Registry& m) const;

    /// Boots queued for the store at most: a minute of a 1000-board storm.
    static constexpr std::size_t kMaxQueued = 4096;
    /// Recent boots of every node kept for the API (and read from the store each round).
    static constexpr std::size_t kRecentBoots = 500;

private:
    void run();
    /// The tree thread: walks treeRoot every treePeriod and publishes what changed.
    void runTrees();
    /// One heartbeat, node list and boot write; @p first: log this node's own join.
    void round(bool first);
    void publish(const core::dhcp::BucketMap& map);
    /// Writes the queued boots; the error, or "" (node thread only).
    std::string flushBoots();

    NodeServiceConfig config_;
    bool multi_ = false;  ///< PostgreSQL: the node list is the table's
    std::int64_t startedMs_ = 0;
    std::unique_ptr<io::NodeStore> store_;

    std::array<std::atomic<std::uint64_t>, 4> owned_{};  ///< 256 bits
    std::atomic<std::uint64_t> share_{1};                ///< index << 32 | count

    mutable std::mutex mutex_;  ///< guards what follows
    core::dhcp::BucketMap map_;
    bool haveMap_ = false;
    std::vector<io::NodeRow> rows_;
    std::vector<io::BootRow> recent_;
    std::deque<io::BootRow> queue_;
    std::uint64_t bootsDropped_ = 0;
    std::uint64_t bootsWritten_ = 0;
    std::uint64_t storeErrors_ = 0;
    std::uint64_t treesPublished_ = 0;  ///< tree rows written (changed trees)
    std::string lastError_;
    bool storeOk_ = false;

    std::thread thread_;
    std::thread treeThread_;
    std::mutex wakeMutex_;
    std::condition_variable wakeCv_;
    bool stopping_ = false;
    bool bootsPending_ = false;  ///< under wakeMutex_
};

}  // namespace pinet::app::serve
