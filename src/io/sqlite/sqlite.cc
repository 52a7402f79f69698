#include "io/sqlite/sqlite.h"

#include <fmt/format.h>

namespace pinet::io {

// The default busy timeout (Options) is how long a writer waits for another process's
// transaction (the CLI while the daemon records a discovery).
Result<Database> Database::open(const std::string& path) {
    return open(path, Options{});
}

Result<Database> Database::open(const std::string& path, const Options& options) {
    sqlite3* raw = nullptr;
    const int mutex = options.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | mutex,
                             nullptr);
    Database db(raw);  // owns it even on failure
    if (rc != SQLITE_OK) {
        return fail(fmt::format("{}: cannot open database: {}", path,
                                raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(raw, static_cast<int>(options.busyTimeout.count()));
    std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;";
    if (options.synchronousNormal) {
        pragmas += " PRAGMA synchronous=NORMAL;";
    }
    if (auto r = db.exec(pragmas); !r) {
        return fail(fmt::format("{}: {}", path, r.error().message));
    }
    return db;
}

Database::~Database() {
    if (db_ != nullptr) {
        sqlite3_close_v2(db_);
    }
}

Database& Database::operator=(Database&& o) noexcept {
    if (this != &o) {
        if (db_ != nullptr) {
            sqlite3_close_v2(db_);
        }
        db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
}

std::string Database::lastError() const {
    return db_ != nullptr ? sqlite3_errmsg(db_) : "closed";
}

std::int64_t Database::changes() const {
    return sqlite3_changes64(db_);
}

Result<void> Database::exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err != nullptr ? err : lastError();
        sqlite3_free(err);
        return fail("sqlite: " + msg);
    }
    return {};
}

Result<Statement> Database::prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        return fail(fmt::format("sqlite: {} (in: {})", lastError(), sql));
    }
    return Statement(st);
}

Statement::~Statement() {
    if (st_ != nullptr) {
        sqlite3_finalize(st_);
    }
}

Statement& Statement::operator=(Statement&& o) noexcept {
    if (this != &o) {
        if (st_ != nullptr) {
            sqlite3_finalize(st_);
        }
        st_ = std::exchange(o.st_, nullptr);
    }
    return *this;
}

Statement& Statement::bind(int idx, const std::string& v) {
    sqlite3_bind_text(st_, idx, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::bind(int idx, std::int64_t v) {
    sqlite3_bind_int64(st_, idx, v);
    return *this;
}
Statement& Statement::bindNull(int idx) {
    sqlite3_bind_null(st_, idx);
    return *this;
}
Statement& Statement::bindOpt(int idx, const std::optional<std::string>& v) {
    return v ? bind(idx, *v) : bindNull(idx);
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    return fail(std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(st_)));
}

Statement& Statement::reset() {
    sqlite3_reset(st_);
    return *this;
}

Result<void> Statement::run() {
    while (true) {
        auto r = step();
        if (!r) {
            return tl::unexpected(r.error());
        }
        if (!*r) {
            return {};
        }
    }
}

std::string Statement::text(int col) const {
    const unsigned char* t = sqlite3_column_text(st_, col);
    return t != nullptr ? std::string(reinterpret_cast<const char*>(t),
                                      static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
                        : std::string();
}

std::optional<std::string> Statement::optText(int col) const {
    if (sqlite3_column_type(st_, col) == SQLITE_NULL) {
        return std::nullopt;
    }
    return text(col);
}

std::int64_t Statement::int64(int col) const {
    return sqlite3_column_int64(st_, col);
}

}  // namespace pinet::io
