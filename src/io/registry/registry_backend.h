#pragma once
// One store of the client registry (registry.h): SQLite (sqlite_registry.cc) or
// PostgreSQL (pg_registry.cc). A backend stores and returns rows as they are;
// Registry makes them safe to show and opens/migrates the store. Every write is one
// transaction with the generation bump, so a reader polling generation() never
// sees one without the other; a refused write changes neither.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/registry/registry.h"

namespace pinet::io {

class RegistryBackend {
public:
    virtual ~RegistryBackend() = default;

    /// Brings the store to schema::latestVersion(), refusing a newer one.
    virtual Result<schema::MigrationReport> migrate() = 0;
    virtual std::string describe() const = 0;

    virtual Result<void> upsertDiscovered(const std::string& serial,
                                          const std::optional<std::string>& mac,
                                          const std::string& model, std::int64_t now,
                                          std::size_t maxDiscovered) = 0;
    virtual Result<void> enroll(const ClientRecord& rec) = 0;
    virtual Result<bool> remove(const std::string& serial) = 0;

    enum class Key { All, Serial, Mac };
    /// Clients whose @p key column equals @p value (every client for Key::All), in
    /// serial order (byte order, whatever the database's collation).
    virtual Result<std::vector<ClientRecord>> clients(Key key, const std::string& value) = 0;

    virtual Result<std::int64_t> generation() = 0;
    virtual Result<std::int64_t> dataVersion() = 0;

    virtual Result<std::optional<std::string>> setting(const std::string& key) = 0;
    virtual Result<void> setSetting(const std::string& key, const std::string& value) = 0;
    virtual Result<std::map<std::string, std::string>> settings() = 0;
};

/// registry.db in @p stateDir (the caller has made and checked the directory).
Result<std::unique_ptr<RegistryBackend>> openSqliteRegistry(const std::filesystem::path& stateDir);
/// The PostgreSQL database @p url names.
Result<std::unique_ptr<RegistryBackend>> openPostgresRegistry(const std::string& url);

/// The error a write of a MAC another client holds gets, on either store.
Error macTakenError(const std::optional<std::string>& mac);

}  // namespace pinet::io
