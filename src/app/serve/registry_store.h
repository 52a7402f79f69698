#pragma once
// The daemon's view of the client registry (SQLite in the state directory, or PostgreSQL).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "app/serve/boot_monitor.h"
#include "app/serve/client_store.h"
#include "io/registry/registry.h"

namespace pinet::app::serve {

/// Which boards seen on the wire the daemon writes to the registry (the monitor's
/// seen hook). Only what a Pi's own DHCP showed: a TFTP path names any serial its
/// sender likes (`<8 hex digits>/x`), so transfers add nothing. Then at most one
/// write per board (its MAC, else its serial) per interval, so a board that reboots
/// in a loop, or a sender replaying one DISCOVER, costs one write a minute. The
/// registry caps the rows themselves (io::Registry::kMaxDiscovered). Pure; clock
/// injected.
class DiscoveryGate {
public:
    struct Options {
        std::chrono::seconds perSource{60};
        std::size_t maxSources = 4096;  ///< remembered sources; beyond, the oldest are forgotten
    };
    DiscoveryGate() : DiscoveryGate(Options{}) {}
    explicit DiscoveryGate(Options options) : options_(options) {}

    /// True if @p seen is to be written now (and counts as written).
    bool admit(const SeenClient& seen, std::chrono::steady_clock::time_point now);

private:
    Options options_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> lastWrite_;
};

/// Opens the registry of @p stateDir in the store @p where names, migrating its schema
/// (a newer schema than this build knows is refused). Logs STORE_OPEN with the store
/// and the schema versions. @throw std::runtime_error naming the store on failure.
std::unique_ptr<ClientStore> openRegistryStore(const std::string& stateDir,
                                               const io::StoreLocation& where = {});

}  // namespace pinet::app::serve
