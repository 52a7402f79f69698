#pragma once
// The client registry, shared by the CLI (client add/remove, settings) and the serve
// daemon (which maps TFTP prefixes to boot directories and records unknown Pis as
// "discovered"). One interface over two stores (issue #19):
//  - SQLite (the default): registry.db (WAL) in the state directory;
//  - PostgreSQL: a database named by a libpq URL, which several nodes can share.
// Each store is a RegistryBackend (registry_backend.h: sqlite_registry.cc,
// pg_registry.cc); this class holds one and does what is common: opening and
// migrating (schema.h, one migration list for both), and making display text safe as
// it is read back (a row is hostile, whoever can write the store wrote it).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/registry/schema.h"
#include "proto/error.h"

namespace pinet::io {

enum class ClientState { Enrolled, Discovered };

struct ClientRecord {
    std::string serial;              ///< 8 lower-case hex digits (primary key)
    std::optional<std::string> mac;  ///< "dc:a6:32:01:36:c2"
    std::string model;               ///< "cm4", "pi4", "pi5", "cm5" or "" (unknown)
    std::string name;                ///< hostname
    std::string image;               ///< image name under images/
    std::string rootMode;            ///< "shared", "copy", "overlay"
    std::string bootDir;             ///< absolute path of the TFTP prefix directory
    std::string rootExport;          ///< absolute path exported as the client's root
    std::string address;             ///< IPv4 address or subnet the exports are limited to
    std::string notes;
    ClientState state = ClientState::Enrolled;
    std::int64_t firstSeen = 0;  ///< unix seconds; 0 = never seen on the wire
    std::int64_t lastSeen = 0;
    std::int64_t id = 0;  ///< stable row id (used for export ids / fsid)
};

std::string_view clientStateName(ClientState s);

/// Which store the registry lives in ([store] in pinetboot.toml, PINETBOOT_STORE_URL).
struct StoreLocation {
    enum class Backend { Sqlite, Postgresql };
    Backend backend = Backend::Sqlite;
    std::string url;  ///< PostgreSQL only: a libpq URL or keyword string
};

class RegistryBackend;

class Registry {
public:
    /// Opens stateDir/registry.db (SQLite), creating the directory and schema if needed.
    /// Refuses a database written by a newer pinetboot (higher schema version), and, when
    /// running as root, a state directory or database another user could write
    /// (checkOwnership).
    static Result<Registry> open(const std::filesystem::path& stateDir);
    /// The same for the store @p where names (SQLite: stateDir/registry.db; PostgreSQL:
    /// the URL, the state directory still made and checked, for the files beside it).
    /// Migrates the store to schema::latestVersion() (see migration()).
    static Result<Registry> open(const std::filesystem::path& stateDir, const StoreLocation& where);

    /// A consistent copy of the SQLite registry @p dbFile written to @p outFile (SQLite's
    /// VACUUM INTO, a read transaction on the source: a running serve may keep using it).
    /// The source is read, never written or migrated; @p outFile must not exist.
    static Result<void> snapshotSqlite(const std::filesystem::path& dbFile,
                                       const std::filesystem::path& outFile);

    Registry(Registry&&) noexcept;
    Registry& operator=(Registry&&) noexcept;
    ~Registry();

    /// The versions the open found and left (`pinetboot store migrate` prints them).
    [[nodiscard]] const schema::MigrationReport& migration() const { return migration_; }
    /// "sqlite /var/lib/pinetboot/registry.db" or "postgresql://host/db" (no password).
    [[nodiscard]] std::string describe() const;

    /// For a process with effective uid @p euid: when it is 0, the state directory and
    /// registry.db (and its -wal/-shm files, where present) must be owned by root, not
    /// group- or world-writable, and not symlinks. Root commands act on what the registry
    /// says (exports, mounts); a registry another user can write would let that user choose
    /// them. Other uids are not checked (they cannot be tricked into more than they have).
    static Result<void> checkOwnership(const std::filesystem::path& stateDir, uid_t euid);

    /// Discovered rows kept at most: what the network can add is bounded.
    static constexpr std::size_t kMaxDiscovered = 4096;

    /// For the daemon: an unknown Pi showed up on the wire. Inserts it as
    /// "discovered", or updates last_seen (and fills in a missing MAC/model)
    /// of an existing record, enrolled or not; a model that is only option 97's fourcc
    /// ("RPi4"/"RPi5") is replaced by a given one. Past @p maxDiscovered discovered
    /// rows, the ones seen longest ago are deleted in the same transaction;
    /// enrolled clients are never touched.
    Result<void> upsertDiscovered(const std::string& serial, const std::optional<std::string>& mac,
                                  const std::string& model, std::int64_t now,
                                  std::size_t maxDiscovered = kMaxDiscovered);

    /// Inserts or replaces a client as "enrolled" (keeps first_seen/last_seen).
    Result<void> enroll(const ClientRecord& rec);
    Result<bool> remove(const std::string& serial);

    Result<std::optional<ClientRecord>> findBySerial(const std::string& serial);
    Result<std::optional<ClientRecord>> findByMac(const std::string& mac);
    Result<std::vector<ClientRecord>> list();

    /// Bumped by every write through this API, in any process: a daemon
    /// polls it (cheap) and reloads its view when it changes.
    Result<std::int64_t> generation();
    /// Changes when another connection commits: SQLite's PRAGMA data_version; PostgreSQL
    /// has none, so there it is the generation.
    Result<std::int64_t> dataVersion();

    Result<std::optional<std::string>> setting(const std::string& key);
    Result<void> setSetting(const std::string& key, const std::string& value);
    Result<std::map<std::string, std::string>> settings();

private:
    explicit Registry(std::unique_ptr<RegistryBackend> b);
    std::unique_ptr<RegistryBackend> backend_;
    schema::MigrationReport migration_;
};

}  // namespace pinet::io
