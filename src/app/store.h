#pragma once
// Which store the registry lives in (issue #19), from pinetboot.toml's [store] and
// the environment: every command resolves it here, so `serve`, `client` and `store
// migrate` always agree.

#include <optional>
#include <string>

#include "app/config/config.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

/// PINETBOOT_STORE_URL (@p envUrl, when set and not empty) selects PostgreSQL at that
/// URL, over the file; else [store] backend/url; else SQLite. An error names what is
/// missing ("postgresql" without a URL).
Result<io::StoreLocation> storeLocation(const config::Config& c,
                                        const std::optional<std::string>& envUrl);

/// The registry of a running server's config @p c (its stateDir and [store], with
/// $PINETBOOT_STORE_URL already applied by `serve`): what the web API's readers and
/// writers open, so that they see the same store as the daemon.
Result<io::Registry> openServerRegistry(const config::Config& c);

}  // namespace pinet::app
