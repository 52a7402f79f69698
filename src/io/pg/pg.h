#pragma once
// Thin RAII over libpq (PostgreSQL's C client): one connection and its results.
// Every query with a value in it goes through PQexecParams with the values as
// parameters ($1, $2, ...): SQL text is never built from values. Only
// execConstant() runs a parameterless script (fixed DDL of a migration).
// A result is read only within what libpq reports (PQntuples, PQnfields,
// PQgetlength); a cell out of range reads as empty. Errors are Result values with
// libpq's message and the SQLSTATE; nothing throws.
//
// A connection is for one thread at a time (libpq's rule); callers that share one
// hold their own lock (the registry does).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/error.h"

struct pg_conn;
struct pg_result;

namespace pinet::io {

/// One query parameter in text form; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

inline PgParam pgParam(std::int64_t v) {
    return std::to_string(v);
}

class PgResult {
public:
    PgResult() = default;
    ~PgResult();
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    PgResult(PgResult&& o) noexcept : res_(std::exchange(o.res_, nullptr)) {}
    PgResult& operator=(PgResult&& o) noexcept;

    [[nodiscard]] int rows() const;
    [[nodiscard]] int columns() const;
    /// Rows a command touched (PQcmdTuples: INSERT/UPDATE/DELETE), 0 if none.
    [[nodiscard]] std::int64_t affected() const;
    [[nodiscard]] bool isNull(int row, int col) const;
    /// The cell's bytes, sized by PQgetlength; "" for NULL or out of range.
    [[nodiscard]] std::string text(int row, int col) const;
    [[nodiscard]] std::optional<std::string> optText(int row, int col) const;
    /// The cell as a decimal integer; an error for NULL, out of range or not a number
    /// (a value from the server is checked like any other input).
    [[nodiscard]] Result<std::int64_t> int64(int row, int col) const;

private:
    friend class PgConnection;
    explicit PgResult(pg_result* r) : res_(r) {}
    pg_result* res_ = nullptr;
};

/// An error from the server or the connection.
struct PgError {
    std::string message;
    std::string sqlState;    ///< five characters, e.g. "23505" (unique_violation); "" if none
    std::string constraint;  ///< the constraint a violation names, if any
};

class PgConnection {
public:
    /// Connects to @p url ("postgresql://user@host/db", "host=/run/x dbname=y", anything
    /// PQconnectdb takes). The error names the target without its password.
    static Result<PgConnection> connect(const std::string& url);

    PgConnection() = default;
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    PgConnection(PgConnection&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)) {}
    PgConnection& operator=(PgConnection&& o) noexcept;

    /// Runs @p sql with @p params bound to $1.. (text format). Rows or a command.
    tl::expected<PgResult, PgError> query(const std::string& sql,
                                          const std::vector<PgParam>& params = {});
    /// A fixed script without values (several statements allowed): migrations' DDL.
    tl::expected<void, PgError> execConstant(std::string_view sql);

    /// True once the server connection is lost (the server restarted, a network cut).
    [[nodiscard]] bool broken() const;
    /// Reconnects with the same parameters; false if that failed too.
    bool reset();

    /// @p url with any password replaced by "***", for messages and logs.
    static std::string redact(const std::string& url);

private:
    explicit PgConnection(pg_conn* c) : conn_(c) {}
    tl::expected<PgResult, PgError> check(pg_result* r);
    pg_conn* conn_ = nullptr;
};

}  // namespace pinet::io
