#pragma once
// The registry's schema: one list of versioned migrations for both stores
// (SQLite and PostgreSQL), and the two ways of applying it.
//
// A migration is written once; the few words the two dialects spell differently
// are placeholders replaced per dialect ({id}: the row id column, {int64}: a 64-bit
// integer). Where the version is kept:
//  - SQLite: PRAGMA user_version (what pinetboot has always used; version 1 is the
//    schema of every registry.db written so far, so existing files need nothing).
//    Each step runs in BEGIN IMMEDIATE, which two processes take in turn, and
//    re-reads the version inside it.
//  - PostgreSQL: a schema_version table (one row per applied version). The steps run
//    in one transaction holding pg_advisory_xact_lock(kAdvisoryLockKey): two nodes
//    migrating at once take turns, the second finds the work done; DDL is
//    transactional there, so a failed step leaves the previous version whole.
// Both refuse a store whose version is newer than the list (written by a newer
// pinetboot), naming both versions and what to do.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "io/pg/pg.h"
#include "io/sqlite/sqlite.h"
#include "proto/error.h"

namespace pinet::io::schema {

struct Migration {
    int version;            ///< 1, 2, ...: each one more than the previous
    std::string_view what;  ///< one line, stored with the version (PostgreSQL)
    std::string_view sql;   ///< statements with {id} / {int64} placeholders
};

/// The registry's migrations, oldest first.
std::span<const Migration> registryMigrations();
/// The newest version of registryMigrations().
int latestVersion();

enum class Dialect { Sqlite, Postgresql };
/// @p sql with the placeholders spelled for @p dialect.
std::string render(std::string_view sql, Dialect dialect);

/// pg_advisory_xact_lock key held while migrating: "pinetboo" in ASCII, so it is
/// recognisable in pg_locks and unlikely to collide with another program's key.
inline constexpr std::int64_t kAdvisoryLockKey = 0x70696e6574626f6f;

/// What one migrate run found and did.
struct MigrationReport {
    int before = 0;  ///< version found (0 = an empty store)
    int after = 0;   ///< version left
};

/// The error for a store at @p found while this build knows @p known (the caller
/// prefixes which store).
Error newerSchemaError(int found, int known);

/// Brings @p db to the last of @p steps (see the header comment).
Result<MigrationReport> migrateSqlite(Database& db, std::span<const Migration> steps);
/// Brings @p conn to the last of @p steps (see the header comment).
Result<MigrationReport> migratePostgres(PgConnection& conn, std::span<const Migration> steps);

/// The version a store is at without changing it (0 = none).
Result<int> sqliteVersion(Database& db);
Result<int> postgresVersion(PgConnection& conn);

}  // namespace pinet::io::schema
