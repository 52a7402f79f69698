#include "app/serve/node_service.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/json_text.h"
#include "proto/text/safe_text.h"

namespace pinet::app::serve {

namespace {

// A node id is shown and logged, never parsed: 63 bytes is a DNS label, which every
// host name fits.
constexpr std::size_t kMaxNodeId = 63;

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string safe(std::string_view s) {
    // Rows of the store are hostile: short, printable text only.
    constexpr std::size_t kMaxField = 256;  // a MAC, a serial, a path of the boot tree
    return proto::text::safeText(s, kMaxField);
}

}  // namespace

std::string sanitizeNodeId(std::string_view raw) {
    std::string out;
    for (const char c : raw) {
        if (out.size() >= kMaxNodeId) {
            break;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        out.push_back(ok ? c : '-');
    }
    return out.empty() ? std::string("node") : out;
}

NodeService::NodeService(NodeServiceConfig config) : config_(std::move(config)) {
    multi_ = config_.where.backend == io::StoreLocation::Backend::Postgresql;
    for (auto& w : owned_) {
        w.store(~std::uint64_t{0}, std::memory_order_relaxed);
    }
}

NodeService::~NodeService() {
    stop();
}

void NodeService::start() {
    startedMs_ = nowMs();
    auto s = io::NodeStore::open(config_.stateDir, config_.where);
    if (!s) {
        spdlog::warn(
            "NODE_HEARTBEAT_FAILED node={} error=\"{}\" (this node answers every DHCP bucket)",
            config_.nodeId, s.error().message);
        std::lock_guard lock(mutex_);
        lastError_ = s.error().message;
        ++storeErrors_;
    } else {
        store_ = std::move(*s);
    }
    round(true);
    {
        std::lock_guard lock(wakeMutex_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
    if (multi_ && !config_.treeRoot.empty()) {
        treeThread_ = std::thread([this] { runTrees(); });
    }
}

void NodeService::stop() {
    {
        std::lock_guard lock(wakeMutex_);
        stopping_ = true;
    }
    wakeCv_.notify_all();
    if (treeThread_.joinable()) {
        treeThread_.join();
    }
    if (!thread_.joinable()) {
        return;
    }
    thread_.join();
    // The boots that ended since the last round (a stop drains transfers first).
    std::vector<io::BootRow> batch;
    {
        std::lock_guard lock(mutex_);
        batch.assign(queue_.begin(), queue_.end());
        queue_.clear();
    }
    if (store_ && !batch.empty()) {
        if (auto w = store_->recordBoots(batch); !w) {
            spdlog::warn("NODE_BOOTS_LOST node={} boots={} error=\"{}\"", config_.nodeId,
                         batch.size(), w.error().message);
        }
    }
}

void NodeService::run() {
    auto next = std::chrono::steady_clock::now() + kHeartbeatPeriod;
    while (true) {
        bool boots = false;
        {
            std::unique_lock lock(wakeMutex_);
            wakeCv_.wait_until(lock, next, [this] { return stopping_ || bootsPending_; });
            if (stopping_) {
                return;
            }
            boots = bootsPending_ && std::chrono::steady_clock::now() < next;
            if (boots) {
                // Gather the boots of the next kBootBatch into one transaction.
                if (wakeCv_.wait_for(lock, kBootBatch, [this] { return stopping_; })) {
                    return;
                }
            }
        }
        try {
            if (boots) {
                // A finished boot is in the store within kBootBatch, not at the next
                // heartbeat: a node that dies (SIGKILL) loses at most that much.
                (void)flushBoots();  // a failure is counted by the next round
                continue;
            }
            next += kHeartbeatPeriod;
            // A round that took longer than a period (a slow store) does not make the
            // next ones run back to back.
            next = std::max(next, std::chrono::steady_clock::now());
            round(false);
        } catch (const std::exception& e) {
            // Nothing here should throw; if it does, the node keeps its last view.
            spdlog::error("node thread: {}", e.what());
        }
    }
}

void NodeService::runTrees() {
    // A connection of its own: a walk of a large root must not delay a heartbeat.
    std::unique_ptr<io::NodeStore> store;
    io::TreeHasher hasher;
    std::map<std::string, std::string> published;  // tree -> digest in the store
    bool known = false;                            // published read from the store
    bool failing = false;
    auto next = std::chrono::steady_clock::now();
    while (true) {
        {
            std::unique_lock lock(wakeMutex_);
            if (wakeCv_.wait_until(lock, next, [this] { return stopping_; })) {
                return;
            }
        }
        next = std::chrono::steady_clock::now() + config_.treePeriod;
        try {
            std::string error;
            if (!store) {
                auto s = io::NodeStore::open(config_.stateDir, config_.where);
                if (s) {
                    store = std::move(*s);
                } else {
                    error = s.error().message;
                }
            }
            if (store && !known) {
                // This node's rows from before (a restart): trees gone since are removed.
                if (auto rows = store->treeDigests()) {
                    for (const auto& r : *rows) {
                        if (r.node == config_.nodeId) {
                            published[r.tree] = r.digest;
                        }
                    }
                    known = true;
                } else {
                    error = rows.error().message;
                }
            }
            auto trees = hasher.hashRoot(config_.treeRoot);
            if (!trees) {
                error = trees.error().message;
            }
            if (store && known && trees) {
                std::vector<io::HashedTree> changed;
                std::vector<std::string> removed;
                std::set<std::string> now;
                for (auto& t : *trees) {
                    now.insert(t.name);
                    auto it = published.find(t.name);
                    if (it == published.end() || it->second != t.digest) {
                        changed.push_back(std::move(t));
                    }
                }
                for (const auto& [name, digest] : published) {
                    if (now.count(name) == 0) {
                        removed.push_back(name);
                    }
                }
                if (auto w = store->publishTrees(config_.nodeId, changed, removed); w) {
                    for (const auto& t : changed) {
                        published[t.name] = t.digest;
                    }
                    for (const auto& name : removed) {
                        published.erase(name);
                    }
                    if (!changed.empty() || !removed.empty()) {
                        spdlog::info(
                            "TREES_PUBLISHED node={} trees={} changed={} removed={} read={} bytes",
                            config_.nodeId, now.size(), changed.size(), removed.size(),
                            hasher.bytesRead());
                    }
                    std::lock_guard lock(mutex_);
                    treesPublished_ += changed.size();
                } else {
                    error = w.error().message;
                }
            }
            if (!error.empty() && !failing) {
                spdlog::warn(
                    "TREES_PUBLISH_FAILED node={} root={} error=\"{}\" (doctor on the "
                    "other nodes compares with the last published trees)",
                    config_.nodeId, config_.treeRoot.string(), error);
            }
            failing = !error.empty();
        } catch (const std::exception& e) {
            spdlog::error("tree thread: {}", e.what());
        }
    }
}

std::string NodeService::flushBoots() {
    {
        std::lock_guard lock(wakeMutex_);
        bootsPending_ = false;
    }
    if (!store_) {
        return {};
    }
    // The queued boots, written in one transaction; kept for the next try on failure.
    std::vector<io::BootRow> batch;
    {
        std::lock_guard lock(mutex_);
        batch.assign(queue_.begin(), queue_.end());
    }
    if (batch.empty()) {
        return {};
    }
    if (auto w = store_->recordBoots(batch); !w) {
        return w.error().message;
    }
    std::lock_guard lock(mutex_);
    // recordBoot may have added more meanwhile (at the back), or dropped old ones from
    // the front when the queue was full: the written rows are removed by count.
    const std::size_t n = std::min(batch.size(), queue_.size());
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    bootsWritten_ += batch.size();
    return {};
}

void NodeService::round(bool first) {
    if (!store_) {
        if (first) {
            std::vector<core::dhcp::Member> self{{config_.nodeId, true}};
            const core::dhcp::BucketMap map(self);
            {
                std::lock_guard lock(mutex_);
                map_ = map;
                haveMap_ = true;
            }
            publish(map);
        }
        return;
    }
    std::string error;
    bool existed = false;
    if (first) {
        // Whether this node's row was there before this process: a restart is a rejoin.
        if (auto before = store_->nodes()) {
            existed = std::any_of(before->begin(), before->end(),
                                  [&](const io::NodeRow& r) { return r.id == config_.nodeId; });
        }
    }
    if (auto r = store_->heartbeat(config_.nodeId, config_.address, startedMs_); !r) {
        error = r.error().message;
    }
    auto rows = store_->nodes();
    if (!rows && error.empty()) {
        error = rows.error().message;
    }
    if (auto w = flushBoots(); !w.empty() && error.empty()) {
        error = w;
    }
    auto recent = store_->recentBoots(kRecentBoots);

    if (!rows) {
        std::lock_guard lock(mutex_);
        if (storeOk_ || first) {
            spdlog::warn("NODE_HEARTBEAT_FAILED node={} error=\"{}\" (keeping the last node list)",
                         config_.nodeId, error);
        }
        storeOk_ = false;
        lastError_ = error;
        ++storeErrors_;
        if (first) {
            std::vector<core::dhcp::Member> self{{config_.nodeId, true}};
            map_ = core::dhcp::BucketMap(self);
            haveMap_ = true;
        }
        const auto map = map_;
        if (first) {
            publish(map);
        }
        return;
    }

    // The members: every row (PostgreSQL), or this node alone (SQLite: one machine).
    std::vector<core::dhcp::Member> members;
    std::vector<io::NodeRow> shown;
    for (auto& r : *rows) {
        r.id = safe(r.id);
        r.address = safe(r.address);
        if (!multi_ && r.id != config_.nodeId) {
            continue;
        }
        const bool live =
            r.ageMs < kLiveWithin.count() && (r.id != config_.nodeId || error.empty());
        members.push_back({r.id, live});
        shown.push_back(r);
    }
    if (std::none_of(members.begin(), members.end(),
                     [&](const core::dhcp::Member& m) { return m.id == config_.nodeId; })) {
        // The heartbeat failed, or the row was not read back: this node still counts
        // itself (it is running), live only if its heartbeat went through.
        members.push_back({config_.nodeId, error.empty()});
    }
    core::dhcp::BucketMap map(std::move(members));

    core::dhcp::BucketMap before;
    bool had = false;
    {
        std::lock_guard lock(mutex_);
        if (!storeOk_ && !first) {
            spdlog::info("NODE_HEARTBEAT_OK node={}", config_.nodeId);
        }
        storeOk_ = error.empty();
        if (!error.empty()) {
            lastError_ = error;
            ++storeErrors_;
        }
        before = map_;
        had = haveMap_;
        map_ = map;
        haveMap_ = true;
        rows_ = std::move(shown);
        if (recent) {
            recent_ = std::move(*recent);
            for (auto& b : recent_) {
                for (auto* f : {&b.node, &b.serial, &b.mac, &b.ip, &b.model, &b.file, &b.outcome,
                                &b.failure}) {
                    *f = safe(*f);
                }
            }
        }
    }
    publish(map);

    const auto mine = map.ownedBy(config_.nodeId).count();
    auto liveNames = [&] {
        std::string s;
        for (const auto& m : map.members()) {
            if (m.live) {
                s += (s.empty() ? "" : ",") + m.id;
            }
        }
        return s;
    };
    if (first || !had) {
        spdlog::info("{} node={} buckets={} live={} store=\"{}\"",
                     existed ? "NODE_REJOIN" : "NODE_JOIN", config_.nodeId, mine, liveNames(),
                     store_->describe());
        return;
    }
    bool changed = false;
    if (!before.isLive(config_.nodeId) && map.isLive(config_.nodeId)) {
        spdlog::info("NODE_REJOIN node={} buckets={} (its heartbeat reaches the store again)",
                     config_.nodeId, mine);
        changed = true;
    }
    for (const auto& c : core::dhcp::membershipChanges(before, map, config_.nodeId)) {
        changed = true;
        switch (c.kind) {
            case core::dhcp::MembershipChange::Kind::Takeover:
                spdlog::warn("NODE_TAKEOVER node={} by={} buckets={} (no heartbeat for {} ms)",
                             c.node, config_.nodeId, c.buckets, kLiveWithin.count());
                break;
            case core::dhcp::MembershipChange::Kind::Join:
            case core::dhcp::MembershipChange::Kind::Rejoin:
                spdlog::info("{} node={} buckets={}", core::dhcp::toString(c.kind), c.node,
                             c.buckets);
                break;
        }
    }
    if (changed) {
        spdlog::info("NODES self={} buckets={} live={}", config_.nodeId, mine, liveNames());
    }
}

void NodeService::publish(const core::dhcp::BucketMap& map) {
    const auto set = map.ownedBy(config_.nodeId);
    for (std::size_t w = 0; w < owned_.size(); ++w) {
        std::uint64_t bits = 0;
        for (std::size_t b = 0; b < 64; ++b) {
            if (set.test(w * 64 + b)) {
                bits |= std::uint64_t{1} << b;
            }
        }
        owned_[w].store(bits, std::memory_order_relaxed);
    }
    const auto share = map.addressShare(config_.nodeId);
    share_.store((std::uint64_t{share.index} << 32) | share.count, std::memory_order_relaxed);
}

bool NodeService::owns(std::uint8_t bucket) const {
    return ((owned_[bucket / 64].load(std::memory_order_relaxed) >> (bucket % 64)) & 1U) != 0;
}

core::dhcp::AddressShare NodeService::addressShare() const {
    const std::uint64_t v = share_.load(std::memory_order_relaxed);
    core::dhcp::AddressShare s;
    s.index = static_cast<std::uint32_t>(v >> 32);
    s.count = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(v & 0xffffffffU));
    return s;
}

void NodeService::recordBoot(io::BootRow row) {
    row.node = config_.nodeId;
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
        queue_.pop_front();
        ++bootsDropped_;
    }
    queue_.push_back(std::move(row));
    {
        std::lock_guard wake(wakeMutex_);
        bootsPending_ = true;
    }
    wakeCv_.notify_all();
}

std::string NodeService::nodesJson() const {
    std::lock_guard lock(mutex_);
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& r : rows_) {
        nodes.push_back({{"node_id", r.id},
                         {"address", r.address},
                         {"live", map_.isLive(r.id)},
                         {"self", r.id == config_.nodeId},
                         {"heartbeat_age_ms", r.ageMs},
                         {"started", r.startedMs},
                         {"buckets", map_.ownedBy(r.id).count()}});
    }
    return dumpJson({{"self", config_.nodeId},
                     {"store", multi_ ? "postgresql" : "sqlite"},
                     {"store_ok", storeOk_},
                     {"buckets", core::dhcp::kBuckets},
                     {"buckets_owned", map_.ownedBy(config_.nodeId).count()},
                     {"live", map_.liveCount()},
                     {"heartbeat_ms", kHeartbeatPeriod.count()},
                     {"live_within_ms", kLiveWithin.count()},
                     {"nodes", nodes}});
}

std::string NodeService::nodeBootsJson(std::size_t limit) const {
    std::lock_guard lock(mutex_);
    nlohmann::json boots = nlohmann::json::array();
    for (std::size_t i = 0; i < recent_.size() && i < limit; ++i) {
        const auto& b = recent_[i];
        boots.push_back({{"node_id", b.node},
                         {"serial", b.serial},
                         {"mac", b.mac},
                         {"ip", b.ip},
                         {"model", b.model},
                         {"file", b.file},
                         {"outcome", b.outcome},
                         {"failure", b.failure},
                         {"started", b.startedMs},
                         {"ended", b.endedMs},
                         {"seconds", static_cast<double>(b.endedMs - b.startedMs) / 1000.0}});
    }
    return dumpJson({{"boots", boots}});
}

void NodeService::exportMetrics(core::metrics::Registry& m) const {
    std::lock_guard lock(mutex_);
    m.set("pinetboot_node_buckets_owned", {},
          static_cast<double>(map_.ownedBy(config_.nodeId).count()));
    m.set("pinetboot_nodes_live", {}, static_cast<double>(map_.liveCount()));
    m.setTotal("pinetboot_node_boots_dropped_total", {}, static_cast<double>(bootsDropped_));
    m.setTotal("pinetboot_node_store_errors_total", {}, static_cast<double>(storeErrors_));
    m.setTotal("pinetboot_node_trees_published_total", {}, static_cast<double>(treesPublished_));
}

}  // namespace pinet::app::serve
