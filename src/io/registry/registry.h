#pragma once
// The client registry: one SQLite database (WAL) in the state directory,
// shared by the CLI (client add/remove) and the serve daemon (which maps TFTP
// prefixes to boot directories and records unknown Pis as "discovered").
// Schema version in PRAGMA user_version; migrations run on open.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/sqlite/sqlite.h"
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

class Registry {
public:
    /// Schema version this build reads and writes.
    static constexpr int kSchemaVersion = 1;

    /// Opens stateDir/registry.db, creating the directory and schema if needed.
    /// Refuses a database written by a newer pinetboot (higher schema version), and, when
    /// running as root, a state directory or database another user could write
    /// (checkOwnership).
    static Result<Registry> open(const std::filesystem::path& stateDir);

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
    /// SQLite's PRAGMA data_version: changes when another connection commits.
    Result<std::int64_t> dataVersion();

    Result<std::optional<std::string>> setting(const std::string& key);
    Result<void> setSetting(const std::string& key, const std::string& value);
    Result<std::map<std::string, std::string>> settings();

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    Registry(Database db, std::filesystem::path p) : db_(std::move(db)), path_(std::move(p)) {}
    Result<void> migrate();
    Result<void> bump();
    /// Runs @p work in one BEGIN IMMEDIATE transaction, with the generation
    /// bump when it reports a change, so that readers polling generation()
    /// never see one without the other. ROLLBACK on any error, a failed
    /// COMMIT included.
    Result<void> writeTransaction(const std::function<Result<bool>()>& work);
    /// Clients matching @p where ("WHERE col = ?1", or "" for all), ?1 bound to
    /// @p arg unless it is empty, in serial order.
    Result<std::vector<ClientRecord>> query(const std::string& where, const std::string& arg);
    /// The first of query(): for lookups by a unique column.
    Result<std::optional<ClientRecord>> queryOne(const std::string& where, const std::string& arg);
    /// Column 0 of the first row of @p sql as an integer (0 if there is no row).
    Result<std::int64_t> queryInt(const char* sql);

    Database db_;
    std::filesystem::path path_;
};

}  // namespace pinet::io
