#pragma once
// The client registry as `serve` sees it: KnownClient is a copy of one
// registry row (the registry itself lives in SQLite, io/registry), and
// ClientStore is how the daemon reads and writes it. Implemented over SQLite
// in registry_store.cc; tests may use a fake. Plain data and an interface, so
// the web API's JSON (app/http/api_json) can show registry rows too.

#include <cstdint>
#include <string>
#include <vector>

namespace pinet::app::serve {

/// A client as the registry knows it (a copy; the registry lives in SQLite).
struct KnownClient {
    std::string serial;
    std::string mac;
    std::string model;
    std::string name;
    std::string bootDir;
    std::string image;     ///< the image it boots (its boot files may be served in place)
    std::string rootMode;  ///< shared, copy, overlay, nbd, nbd-image
    std::string rootExport;
    std::string notes;
    bool discovered = false;  ///< seen on the wire, not enrolled by a user
    std::int64_t firstSeen = 0;
    std::int64_t lastSeen = 0;
};

class ClientStore {
public:
    virtual ~ClientStore() = default;
    /// Changes whenever any process changed the registry (cheap to call).
    virtual std::int64_t version() = 0;
    virtual std::vector<KnownClient> list() = 0;
    /// An unknown Pi showed up (or a known one was seen again).
    virtual void recordSeen(const std::string& serial, const std::string& mac,
                            const std::string& model) = 0;
};

}  // namespace pinet::app::serve
