#pragma once
// Which store the registry lives in (issue #19), from pinetboot.toml's [store] and
// the environment: every command resolves it here, so `serve`, `client` and `store
// migrate` always agree.

#include <cstddef>
#include <filesystem>
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

/// What copySqliteRegistry copied.
struct RegistryCopy {
    std::size_t enrolled = 0;
    std::size_t discovered = 0;
    std::size_t settings = 0;
    std::string from;  ///< the source registry.db
    std::string to;    ///< the target's describe()
};

/// Copies the SQLite registry of @p sqliteStateDir (its registry.db: clients, enrolled and
/// discovered, and settings) into @p target, which must be a PostgreSQL store holding no
/// client and no setting yet (nothing there is overwritten). The source is read from a
/// snapshot (Registry::snapshotSqlite), so it is never changed and a running serve may
/// keep using it. Leases are not copied (boards renew or rebind at the new server), nor
/// images or boot trees (they are files of the state directory, not rows).
Result<RegistryCopy> copySqliteRegistry(const std::filesystem::path& sqliteStateDir,
                                        io::Registry& target);

}  // namespace pinet::app
