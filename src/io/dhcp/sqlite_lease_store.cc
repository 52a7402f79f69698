#include "io/dhcp/sqlite_lease_store.h"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "proto/dhcp/dhcp_packet.h"

namespace pinet::io {

namespace {
std::int64_t toUnix(core::WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

SqliteLeaseStore::SqliteLeaseStore(const std::string& path) : path_(path) {
    // A short busy timeout: another pinetboot (or sqlite3 CLI) reading the file must not
    // block the packet path for long. Only the DHCP thread uses the connection.
    Database::Options options;
    options.busyTimeout = std::chrono::milliseconds(200);
    options.serialized = false;
    options.synchronousNormal = true;
    auto db = Database::open(path, options);
    if (!db) {
        throw std::runtime_error("lease database " + db.error().message);
    }
    db_ = std::move(*db);
    if (auto r = db_.exec("CREATE TABLE IF NOT EXISTS leases("
                          "  mac TEXT PRIMARY KEY, ip TEXT NOT NULL, expires INTEGER NOT NULL,"
                          "  serial TEXT NOT NULL DEFAULT '', hostname TEXT NOT NULL DEFAULT '');");
        !r) {
        throw std::runtime_error(error("create table", r.error()));
    }
    auto put = db_.prepare(
        "INSERT INTO leases(mac, ip, expires, serial, hostname) VALUES(?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(mac) DO UPDATE SET ip=?2, expires=?3, serial=?4, hostname=?5");
    auto erase = db_.prepare("DELETE FROM leases WHERE mac=?1");
    if (!put || !erase) {
        throw std::runtime_error(error("prepare", !put ? put.error() : erase.error()));
    }
    put_ = std::move(*put);
    erase_ = std::move(*erase);
}

std::string SqliteLeaseStore::error(const std::string& what, const Error& e) const {
    return "lease database " + path_ + ": " + what + ": " + e.message;
}

Result<std::vector<core::dhcp::Lease>> SqliteLeaseStore::loadAll() {
    auto s = db_.prepare("SELECT mac, ip, expires, serial, hostname FROM leases");
    if (!s) {
        return fail(error("select", s.error()));
    }
    std::vector<core::dhcp::Lease> out;
    while (true) {
        auto row = s->step();
        if (!row) {
            return fail(error("read", row.error()));
        }
        if (!*row) {
            break;
        }
        auto mac = proto::dhcp::parseMac(s->text(0));
        auto ip = proto::dhcp::parseIp(s->text(1));
        if (!mac || !ip) {
            continue;  // a row edited by hand into nonsense is skipped, not fatal
        }
        core::dhcp::Lease l;
        l.mac = *mac;
        l.ip = *ip;
        l.expires = core::WallTime(std::chrono::seconds(s->int64(2)));
        l.serial = s->text(3);
        l.hostname = s->text(4);
        out.push_back(std::move(l));
    }
    return out;
}

Result<void> SqliteLeaseStore::put(const core::dhcp::Lease& lease) {
    const std::string mac = proto::dhcp::macToString(lease.mac);
    auto r = put_.reset()
                 .bind(1, mac)
                 .bind(2, proto::dhcp::ipToString(lease.ip))
                 .bind(3, toUnix(lease.expires))
                 .bind(4, lease.serial)
                 .bind(5, lease.hostname)
                 .run();
    if (!r) {
        batchFailures_ += inBatch_ ? 1 : 0;
        return fail(error("write lease " + mac, r.error()));
    }
    return {};
}

Result<void> SqliteLeaseStore::erase(const core::dhcp::Mac& mac) {
    const std::string m = proto::dhcp::macToString(mac);
    if (auto r = erase_.reset().bind(1, m).run(); !r) {
        batchFailures_ += inBatch_ ? 1 : 0;
        return fail(error("delete lease " + m, r.error()));
    }
    return {};
}

Result<void> SqliteLeaseStore::beginBatch() {
    if (inBatch_) {
        return {};
    }
    if (auto r = db_.exec("BEGIN"); !r) {
        return fail(error("begin", r.error()));
    }
    inBatch_ = true;
    batchFailures_ = 0;
    return {};
}

Result<void> SqliteLeaseStore::commitBatch() {
    if (!inBatch_) {
        return {};
    }
    inBatch_ = false;
    if (const auto failed = std::exchange(batchFailures_, 0); failed != 0) {
        (void)db_.exec("ROLLBACK");
        return fail(fmt::format("{}: {} lease write{} of the batch failed: rolled back", path_,
                                failed, failed == 1 ? "" : "s"));
    }
    if (auto r = db_.exec("COMMIT"); !r) {
        (void)db_.exec("ROLLBACK");
        return fail(error("commit", r.error()));
    }
    return {};
}

}  // namespace pinet::io
