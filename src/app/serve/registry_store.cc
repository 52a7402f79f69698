#include "app/serve/registry_store.h"

#include <spdlog/spdlog.h>

namespace pinet::app::serve {

// Interim until the SQLite client registry (io/registry) is in main: serve
// runs with per-client folders under the TFTP root only, and says so.
std::unique_ptr<ClientStore> openRegistryStore(const std::string& stateDir) {
    spdlog::warn("REGISTRY_UNAVAILABLE state_dir={} (this build has no client registry; "
                 "per-client folders under the TFTP root are used)",
                 stateDir);
    return nullptr;
}

}  // namespace pinet::app::serve
