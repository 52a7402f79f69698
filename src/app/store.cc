#include "app/store.h"

#include <fmt/format.h>

namespace pinet::app {

Result<io::StoreLocation> storeLocation(const config::Config& c,
                                        const std::optional<std::string>& envUrl) {
    io::StoreLocation where;
    if (envUrl && !envUrl->empty()) {
        where.backend = io::StoreLocation::Backend::Postgresql;
        where.url = *envUrl;
        return where;
    }
    if (c.storeBackend != "postgresql") {
        return where;
    }
    if (c.storeUrl.empty()) {
        return fail(
            fmt::format("{}store.backend is \"postgresql\" but no database is named: set store.url "
                        "(postgresql://user@host/database) or PINETBOOT_STORE_URL",
                        c.sourcePath.empty() ? "" : c.sourcePath + ": "));
    }
    where.backend = io::StoreLocation::Backend::Postgresql;
    where.url = c.storeUrl;
    return where;
}

Result<io::Registry> openServerRegistry(const config::Config& c) {
    auto where = storeLocation(c, std::nullopt);
    if (!where) {
        return tl::unexpected(where.error());
    }
    return io::Registry::open(c.stateDir, *where);
}

}  // namespace pinet::app
