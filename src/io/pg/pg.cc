#include "io/pg/pg.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace pinet::io {

namespace {

/// libpq's messages end in a newline (and may hold several lines): one line for ours.
std::string oneLine(const char* msg) {
    std::string s = msg != nullptr ? msg : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    for (char& c : s) {
        if (c == '\n') {
            c = ' ';
        }
    }
    return s;
}

}  // namespace

PgResult::~PgResult() {
    if (res_ != nullptr) {
        PQclear(res_);
    }
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
    if (this != &o) {
        if (res_ != nullptr) {
            PQclear(res_);
        }
        res_ = std::exchange(o.res_, nullptr);
    }
    return *this;
}

int PgResult::rows() const {
    return res_ != nullptr ? PQntuples(res_) : 0;
}

int PgResult::columns() const {
    return res_ != nullptr ? PQnfields(res_) : 0;
}

std::int64_t PgResult::affected() const {
    if (res_ == nullptr) {
        return 0;
    }
    const char* n = PQcmdTuples(res_);  // "" for commands that touch no rows
    std::int64_t v = 0;
    const std::string_view s(n);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() ? v : 0;
}

bool PgResult::isNull(int row, int col) const {
    if (row < 0 || col < 0 || row >= rows() || col >= columns()) {
        return true;
    }
    return PQgetisnull(res_, row, col) != 0;
}

std::string PgResult::text(int row, int col) const {
    if (isNull(row, col)) {
        return {};
    }
    const int len = PQgetlength(res_, row, col);
    const char* v = PQgetvalue(res_, row, col);
    if (v == nullptr || len <= 0) {
        return {};
    }
    return {v, static_cast<std::size_t>(len)};
}

std::optional<std::string> PgResult::optText(int row, int col) const {
    if (isNull(row, col)) {
        return std::nullopt;
    }
    return text(row, col);
}

Result<std::int64_t> PgResult::int64(int row, int col) const {
    if (isNull(row, col)) {
        return fail(fmt::format("postgresql: row {} column {}: no value", row, col));
    }
    const std::string s = text(row, col);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        return fail(fmt::format("postgresql: row {} column {}: '{}' is not an integer", row, col,
                                s.substr(0, 32)));
    }
    return v;
}

Result<PgConnection> PgConnection::connect(const std::string& url) {
    PgConnection c(PQconnectdb(url.c_str()));  // owns it even on failure
    if (c.conn_ == nullptr) {
        return fail(fmt::format("{}: cannot connect: out of memory", redact(url)));
    }
    if (PQstatus(c.conn_) != CONNECTION_OK) {
        return fail(
            fmt::format("{}: cannot connect: {}", redact(url), oneLine(PQerrorMessage(c.conn_))));
    }
    // The registry's text is UTF-8 whatever the database's default says.
    if (PQsetClientEncoding(c.conn_, "UTF8") != 0) {
        return fail(fmt::format("{}: cannot set client encoding UTF8: {}", redact(url),
                                oneLine(PQerrorMessage(c.conn_))));
    }
    return c;
}

PgConnection::~PgConnection() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
    }
}

PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
    if (this != &o) {
        if (conn_ != nullptr) {
            PQfinish(conn_);
        }
        conn_ = std::exchange(o.conn_, nullptr);
    }
    return *this;
}

tl::expected<PgResult, PgError> PgConnection::check(pg_result* raw) {
    PgResult r(raw);
    if (raw == nullptr) {
        return tl::unexpected(PgError{"postgresql: " + oneLine(PQerrorMessage(conn_)), "", ""});
    }
    const auto status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return r;
    }
    auto field = [&](int code) {
        const char* f = PQresultErrorField(raw, code);
        return std::string(f != nullptr ? f : "");
    };
    return tl::unexpected(PgError{"postgresql: " + oneLine(PQresultErrorMessage(raw)),
                                  field(PG_DIAG_SQLSTATE), field(PG_DIAG_CONSTRAINT_NAME)});
}

tl::expected<PgResult, PgError> PgConnection::query(const std::string& sql,
                                                    const std::vector<PgParam>& params) {
    if (conn_ == nullptr) {
        return tl::unexpected(PgError{"postgresql: not connected", "", ""});
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p ? p->c_str() : nullptr);
        lengths.push_back(p ? static_cast<int>(p->size()) : 0);
        formats.push_back(0);  // text: the server parses it as the parameter's type
    }
    return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                              values.data(), lengths.data(), formats.data(), 0));
}

tl::expected<void, PgError> PgConnection::execConstant(std::string_view sql) {
    if (conn_ == nullptr) {
        return tl::unexpected(PgError{"postgresql: not connected", "", ""});
    }
    const std::string text(sql);
    auto r = check(PQexec(conn_, text.c_str()));
    if (!r) {
        return tl::unexpected(r.error());
    }
    return {};
}

bool PgConnection::broken() const {
    return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD;
}

bool PgConnection::reset() {
    if (conn_ == nullptr) {
        return false;
    }
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
        return false;
    }
    return PQsetClientEncoding(conn_, "UTF8") == 0;
}

std::string PgConnection::redact(const std::string& url) {
    std::string out = url;
    // URI form: scheme://user:password@host...
    if (auto scheme = out.find("://"); scheme != std::string::npos) {
        const auto start = scheme + 3;
        const auto end = out.find_first_of("/?", start);
        const auto at = out.rfind('@', end == std::string::npos ? out.size() : end);
        if (at != std::string::npos && at > start) {
            const auto colon = out.find(':', start);
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, "***");
            }
        }
    }
    // password=... as a URI query parameter or a keyword/value pair.
    for (std::size_t pos = out.find("password="); pos != std::string::npos;
         pos = out.find("password=", pos + 1)) {
        const auto v = pos + 9;
        const auto e = out.find_first_of("& ", v);
        out.replace(v, (e == std::string::npos ? out.size() : e) - v, "***");
    }
    return out;
}

}  // namespace pinet::io
