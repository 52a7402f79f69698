#include "app/serve/registry_store.h"

#include <chrono>
#include <mutex>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "io/registry/registry.h"
#include "proto/netboot/ids.h"

namespace pinet::app::serve {

namespace {

/// ClientStore over the registry (io/registry, either store). version() is the
/// registry's generation counter, bumped by every write from any process
/// (`pinetboot client add` while serve runs shows up on the next poll).
class SqliteClientStore final : public ClientStore {
public:
    explicit SqliteClientStore(io::Registry reg) : reg_(std::move(reg)) {}

    std::int64_t version() override {
        auto g = reg_.generation();
        if (!g) {
            throw std::runtime_error(g.error().message);
        }
        return *g;
    }

    std::vector<KnownClient> list() override {
        auto all = reg_.list();
        if (!all) {
            throw std::runtime_error(all.error().message);
        }
        std::vector<KnownClient> out;
        out.reserve(all->size());
        for (const auto& c : *all) {
            KnownClient k;
            k.serial = c.serial;
            k.mac = c.mac.value_or("");
            k.model = c.model;
            k.name = c.name;
            k.bootDir = c.bootDir;
            k.image = c.image;
            k.rootMode = c.rootMode;
            k.rootExport = c.rootExport;
            k.notes = c.notes;
            k.discovered = c.state == io::ClientState::Discovered;
            k.firstSeen = c.firstSeen;
            k.lastSeen = c.lastSeen;
            out.push_back(std::move(k));
        }
        return out;
    }

    void recordSeen(const std::string& serial, const std::string& mac,
                    const std::string& model) override {
        auto s = proto::netboot::normalizeSerial(serial);
        if (!s) {
            return;  // not a Pi serial: nothing to record
        }
        std::optional<std::string> m;
        if (!mac.empty()) {
            m = proto::netboot::normalizeMac(mac);
        }
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        if (auto r = reg_.upsertDiscovered(*s, m, model, now); !r) {
            spdlog::warn("REGISTRY_WRITE_FAILED serial={} error={}", *s, r.error().message);
        }
    }

private:
    io::Registry reg_;
};

}  // namespace

bool DiscoveryGate::admit(const SeenClient& seen, std::chrono::steady_clock::time_point now) {
    if (!seen.fromDhcp || seen.serial.empty()) {
        return false;
    }
    const std::string source = seen.mac.empty() ? seen.serial : seen.mac;
    if (auto it = lastWrite_.find(source);
        it != lastWrite_.end() && now - it->second < options_.perSource) {
        return false;
    }
    if (lastWrite_.size() >= options_.maxSources) {
        // Forget sources whose interval is over; if all are recent, start afresh (a
        // flood of invented MACs then gets through at most maxSources per interval).
        std::erase_if(lastWrite_,
                      [&](const auto& e) { return now - e.second >= options_.perSource; });
        if (lastWrite_.size() >= options_.maxSources) {
            lastWrite_.clear();
        }
    }
    lastWrite_[source] = now;
    return true;
}

std::unique_ptr<ClientStore> openRegistryStore(const std::string& stateDir,
                                               const io::StoreLocation& where) {
    auto reg = io::Registry::open(stateDir, where);
    if (!reg) {
        throw std::runtime_error(reg.error().message);
    }
    const auto& m = reg->migration();
    if (m.before != m.after) {
        spdlog::info("STORE_MIGRATED store=\"{}\" from={} to={}", reg->describe(), m.before,
                     m.after);
    }
    spdlog::info("STORE_OPEN store=\"{}\" schema={}", reg->describe(), m.after);
    return std::make_unique<SqliteClientStore>(std::move(*reg));
}

}  // namespace pinet::app::serve
