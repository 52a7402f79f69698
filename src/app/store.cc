#include "app/store.h"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/file.h"

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

Result<RegistryCopy> copySqliteRegistry(const std::filesystem::path& sqliteStateDir,
                                        io::Registry& target) {
    RegistryCopy out;
    out.from = (sqliteStateDir / "registry.db").string();
    out.to = target.describe();
    if (!out.to.starts_with("postgresql")) {
        return fail(
            fmt::format("the target store is {}: copy into PostgreSQL (--config with "
                        "[store] backend = \"postgresql\", or PINETBOOT_STORE_URL)",
                        out.to));
    }
    // Nothing in the target is overwritten: it must be empty.
    auto there = target.list();
    auto theirSettings = target.settings();
    if (!there || !theirSettings) {
        return fail("cannot read the target store: " +
                    (there ? theirSettings.error().message : there.error().message));
    }
    if (!there->empty() || !theirSettings->empty()) {
        return fail(fmt::format(
            "{} already holds {} client(s) and {} setting(s): copy into a database that has "
            "none (nothing there is overwritten; pinetboot client list --config ... shows them)",
            out.to, there->size(), theirSettings->size()));
    }
    io::TempDir scratch("pinetboot-store-copy");
    if (auto s = io::Registry::snapshotSqlite(out.from, scratch.path() / "registry.db"); !s) {
        return tl::unexpected(s.error());
    }
    auto source = io::Registry::open(scratch.path());  // the copy is migrated, not the source
    if (!source) {
        return fail(fmt::format("{}: {}", out.from, source.error().message));
    }
    auto clients = source->list();
    auto settings = source->settings();
    if (!clients || !settings) {
        return fail(fmt::format("{}: {}", out.from,
                                clients ? settings.error().message : clients.error().message));
    }
    // On a failure the clients copied so far are removed again (settings are copied last,
    // after every client went in, and there is no API to unset one: the message says).
    std::vector<std::string> copied;
    auto undo = [&](const std::string& why) {
        for (const auto& serial : copied) {
            (void)target.remove(serial);  // best effort; the error below is the one to report
        }
        return fail(
            fmt::format("{} (the {} client(s) copied were removed again{})", why, copied.size(),
                        out.settings == 0 ? std::string()
                                          : fmt::format("; {} setting(s) had been written, "
                                                        "pinetboot settings show lists them",
                                                        out.settings)));
    };
    for (const auto& c : *clients) {
        auto r = c.state == io::ClientState::Enrolled
                     ? target.enroll(c)
                     : target.upsertDiscovered(c.serial, c.mac, c.model, c.lastSeen);
        if (!r) {
            return undo(fmt::format("client {}: {}", c.serial, r.error().message));
        }
        copied.push_back(c.serial);
        ++(c.state == io::ClientState::Enrolled ? out.enrolled : out.discovered);
    }
    for (const auto& [key, value] : *settings) {
        if (auto r = target.setSetting(key, value); !r) {
            return undo(fmt::format("setting {}: {}", key, r.error().message));
        }
        ++out.settings;
    }
    return out;
}

}  // namespace pinet::app
