#pragma once
// Thin RAII over SQLite: a connection and prepared statements. Errors are
// Result values carrying sqlite3_errmsg; nothing throws.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "proto/error.h"

namespace pinet::io {

class Statement;

class Database {
public:
    struct Options {
        /// How long a writer waits for another connection's transaction before
        /// "database is locked". The registry waits for the CLI; a packet path keeps it short.
        std::chrono::milliseconds busyTimeout{5000};
        /// SQLITE_OPEN_FULLMUTEX: the connection may be used from several threads. Off
        /// (NOMUTEX) for a connection only one thread at a time uses.
        bool serialized = true;
        /// PRAGMA synchronous=NORMAL: with WAL, no fsync per transaction; a crash may
        /// lose the last transactions but never corrupts the file.
        bool synchronousNormal = false;
    };

    /// Opens (creating if needed) @p path with WAL journaling and a busy
    /// timeout, so a daemon and the CLI can use it at the same time.
    static Result<Database> open(const std::string& path);
    static Result<Database> open(const std::string& path, const Options& options);

    Database() = default;
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    Database(Database&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    Database& operator=(Database&& o) noexcept;

    Result<void> exec(const std::string& sql);
    Result<Statement> prepare(const std::string& sql);
    [[nodiscard]] sqlite3* handle() const { return db_; }
    [[nodiscard]] std::string lastError() const;
    [[nodiscard]] std::int64_t changes() const;

private:
    explicit Database(sqlite3* db) : db_(db) {}
    sqlite3* db_ = nullptr;
};

class Statement {
public:
    Statement() = default;
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& o) noexcept : st_(std::exchange(o.st_, nullptr)) {}
    Statement& operator=(Statement&& o) noexcept;

    /// 1-based parameter index, as in SQLite.
    Statement& bind(int idx, const std::string& v);
    Statement& bind(int idx, std::int64_t v);
    Statement& bindNull(int idx);
    Statement& bindOpt(int idx, const std::optional<std::string>& v);

    /// @return true if a row is available, false when done.
    Result<bool> step();
    /// Makes the statement ready to run again (bindings are kept until re-bound).
    Statement& reset();
    Result<void> run();  ///< step to completion (for writes)

    [[nodiscard]] std::string text(int col) const;
    [[nodiscard]] std::optional<std::string> optText(int col) const;
    [[nodiscard]] std::int64_t int64(int col) const;

private:
    friend class Database;
    explicit Statement(sqlite3_stmt* st) : st_(st) {}
    sqlite3_stmt* st_ = nullptr;
};

}  // namespace pinet::io
