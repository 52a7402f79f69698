#include "io/dhcp/sqlite_lease_store.h"

#include <stdexcept>

#include "proto/dhcp/dhcp_packet.h"

namespace pinet::io {

namespace {
std::int64_t toUnix(core::WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

SqliteLeaseStore::SqliteLeaseStore(const std::string& path) : path_(path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
        throw std::runtime_error(error("open"));
    }
    const char* setup =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS leases("
        "  mac TEXT PRIMARY KEY, ip TEXT NOT NULL, expires INTEGER NOT NULL,"
        "  serial TEXT NOT NULL DEFAULT '', hostname TEXT NOT NULL DEFAULT '');";
    char* msg = nullptr;
    if (sqlite3_exec(db_.get(), setup, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string m = msg != nullptr ? msg : "unknown error";
        sqlite3_free(msg);
        throw std::runtime_error("lease database " + path_ + ": " + m);
    }
    // A short busy timeout: another pinetboot (or sqlite3 CLI) reading the file must not
    // block the packet path for long.
    sqlite3_busy_timeout(db_.get(), 200);
    put_ = prepare(
        "INSERT INTO leases(mac, ip, expires, serial, hostname) VALUES(?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(mac) DO UPDATE SET ip=?2, expires=?3, serial=?4, hostname=?5");
    erase_ = prepare("DELETE FROM leases WHERE mac=?1");
}

std::string SqliteLeaseStore::error(const std::string& what) const {
    return "lease database " + path_ + ": " + what + ": " +
           (db_ ? sqlite3_errmsg(db_.get()) : "out of memory");
}

SqliteLeaseStore::Stmt SqliteLeaseStore::prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &s, nullptr) != SQLITE_OK) {
        throw std::runtime_error(error("prepare"));
    }
    return Stmt(s);
}

Result<std::vector<core::dhcp::Lease>> SqliteLeaseStore::loadAll() {
    Stmt s;
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), "SELECT mac, ip, expires, serial, hostname FROM leases", -1,
                           &raw, nullptr) != SQLITE_OK) {
        return fail(error("select"));
    }
    s.reset(raw);
    std::vector<core::dhcp::Lease> out;
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        auto text = [&](int col) {
            const auto* p = sqlite3_column_text(s.get(), col);
            return p != nullptr ? std::string(reinterpret_cast<const char*>(p)) : std::string();
        };
        auto mac = proto::dhcp::parseMac(text(0));
        auto ip = proto::dhcp::parseIp(text(1));
        if (!mac || !ip) {
            continue;  // a row edited by hand into nonsense is skipped, not fatal
        }
        core::dhcp::Lease l;
        l.mac = *mac;
        l.ip = *ip;
        l.expires = core::WallTime(std::chrono::seconds(sqlite3_column_int64(s.get(), 2)));
        l.serial = text(3);
        l.hostname = text(4);
        out.push_back(std::move(l));
    }
    if (rc != SQLITE_DONE) {
        return fail(error("read"));
    }
    return out;
}

Result<void> SqliteLeaseStore::put(const core::dhcp::Lease& lease) {
    sqlite3_stmt* s = put_.get();
    sqlite3_reset(s);
    const std::string mac = proto::dhcp::macToString(lease.mac);
    const std::string ip = proto::dhcp::ipToString(lease.ip);
    sqlite3_bind_text(s, 1, mac.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, ip.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, toUnix(lease.expires));
    sqlite3_bind_text(s, 4, lease.serial.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, lease.hostname.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        return fail(error("write lease " + mac));
    }
    return {};
}

Result<void> SqliteLeaseStore::erase(const core::dhcp::Mac& mac) {
    sqlite3_stmt* s = erase_.get();
    sqlite3_reset(s);
    const std::string m = proto::dhcp::macToString(mac);
    sqlite3_bind_text(s, 1, m.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        return fail(error("delete lease " + m));
    }
    return {};
}

Result<void> SqliteLeaseStore::beginBatch() {
    if (inBatch_) {
        return {};
    }
    if (sqlite3_exec(db_.get(), "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return fail(error("begin"));
    }
    inBatch_ = true;
    return {};
}

Result<void> SqliteLeaseStore::commitBatch() {
    if (!inBatch_) {
        return {};
    }
    inBatch_ = false;
    if (sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        auto e = error("commit");
        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        return fail(e);
    }
    return {};
}

}  // namespace pinet::io
