#include "io/dhcp/pg_lease_store.h"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "proto/dhcp/dhcp_packet.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace {
std::int64_t toUnix(core::WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

PgLeaseStore::PgLeaseStore(const std::string& url, std::string interface)
    : where_(PgConnection::redact(url)), interface_(std::move(interface)) {
    auto c = PgConnection::connect(url);
    if (!c) {
        throw std::runtime_error("lease store " + c.error().message);
    }
    conn_ = std::move(*c);
}

std::string PgLeaseStore::error(const std::string& what, const std::string& message) const {
    return fmt::format("lease store {} ({}): {}: {}", where_, interface_, what, message);
}

void PgLeaseStore::reconnect() {
    if (conn_.broken()) {
        (void)conn_.reset();
    }
}

Result<std::vector<core::dhcp::Lease>> PgLeaseStore::loadAll() {
    reconnect();
    auto r = conn_.query(
        "SELECT mac, ip, expires, serial, hostname FROM leases WHERE interface = $1::text",
        {interface_});
    if (!r) {
        return fail(error("select", r.error().message));
    }
    std::vector<core::dhcp::Lease> out;
    for (int row = 0; row < r->rows(); ++row) {
        auto mac = proto::dhcp::parseMac(r->text(row, 0));
        auto ip = proto::dhcp::parseIp(r->text(row, 1));
        auto expires = r->int64(row, 2);
        if (!mac || !ip || !expires) {
            continue;  // a row edited by hand into nonsense is skipped, not fatal
        }
        core::dhcp::Lease l;
        l.mac = *mac;
        l.ip = *ip;
        l.expires = core::WallTime(std::chrono::seconds(*expires));
        l.serial = r->text(row, 3);
        l.hostname = r->text(row, 4);
        out.push_back(std::move(l));
    }
    return out;
}

Result<void> PgLeaseStore::put(const core::dhcp::Lease& lease) {
    const std::string mac = proto::dhcp::macToString(lease.mac);
    const std::string ip = proto::dhcp::ipToString(lease.ip);
    // In a batch, each lease is a savepoint: a conflict undoes this write alone (an
    // error would otherwise abort the whole transaction and every ACK of the batch).
    auto step = [&](const char* sql) -> bool {
        return !inBatch_ || conn_.execConstant(sql).has_value();
    };
    auto failed = [&](const std::string& what, const std::string& message) {
        batchFailures_ += inBatch_ ? 1 : 0;
        return fail(error(what + " " + mac, message));
    };
    if (!step("SAVEPOINT lease_put")) {
        return failed("savepoint for", "the batch's transaction failed");
    }
    // A stale row (an expired lease, or this board's row under another interface name)
    // must not stand in the way of the unique address.
    if (auto r = conn_.query(
            "DELETE FROM leases WHERE ip = $1::text AND NOT (interface = $2::text AND mac = "
            "$3::text) AND (mac = $3::text OR expires <= extract(epoch from now())::bigint)",
            {ip, interface_, mac});
        !r) {
        (void)step("ROLLBACK TO SAVEPOINT lease_put");
        return failed("clear stale rows for", r.error().message);
    }
    auto r = conn_.query(
        "INSERT INTO leases(interface, mac, ip, expires, serial, hostname) "
        "VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::text) "
        "ON CONFLICT (interface, mac) DO UPDATE SET ip = EXCLUDED.ip, "
        "  expires = EXCLUDED.expires, serial = EXCLUDED.serial, hostname = EXCLUDED.hostname",
        // A hostname is the client's option 12: UTF-8 is all a text column holds.
        {interface_, mac, ip, pgParam(toUnix(lease.expires)), lease.serial,
         proto::text::isUtf8Text(lease.hostname) ? lease.hostname : std::string()});
    if (!r) {
        const bool taken = r.error().sqlState == "23505" && r.error().constraint == "leases_ip_key";
        if (!step("ROLLBACK TO SAVEPOINT lease_put")) {
            return failed("write lease", r.error().message);
        }
        if (taken && inBatch_) {
            // Not a failure of the batch: this client is NAKed, the others commit.
            conflict_ = holderOf(ip);
            if (!conflict_) {
                // The holder's row cannot be read back: the address alone, no holder.
                conflict_ = core::dhcp::Lease{};
                conflict_->ip = lease.ip;
            }
            (void)step("RELEASE SAVEPOINT lease_put");
            return fail(error("write lease " + mac, ip + " is held by another board"));
        }
        return failed("write lease", r.error().message);
    }
    if (!step("RELEASE SAVEPOINT lease_put")) {
        return failed("release savepoint for", "the batch's transaction failed");
    }
    return {};
}

std::optional<core::dhcp::Lease> PgLeaseStore::holderOf(const std::string& ip) {
    auto r = conn_.query("SELECT mac, ip, expires, serial FROM leases WHERE ip = $1::text", {ip});
    if (!r || r->rows() != 1) {
        return std::nullopt;
    }
    auto mac = proto::dhcp::parseMac(r->text(0, 0));
    auto addr = proto::dhcp::parseIp(r->text(0, 1));
    auto expires = r->int64(0, 2);
    if (!mac || !addr || !expires) {
        return std::nullopt;  // a hand-edited row: no holder to record, still a NAK
    }
    core::dhcp::Lease l;
    l.mac = *mac;
    l.ip = *addr;
    l.expires = core::WallTime(std::chrono::seconds(*expires));
    l.serial = r->text(0, 3);
    return l;
}

std::optional<core::dhcp::Lease> PgLeaseStore::takeConflict() {
    return std::exchange(conflict_, std::nullopt);
}

Result<void> PgLeaseStore::erase(const core::dhcp::Mac& mac) {
    const std::string m = proto::dhcp::macToString(mac);
    auto r = conn_.query("DELETE FROM leases WHERE interface = $1::text AND mac = $2::text",
                         {interface_, m});
    if (!r) {
        batchFailures_ += inBatch_ ? 1 : 0;
        return fail(error("delete lease " + m, r.error().message));
    }
    return {};
}

Result<void> PgLeaseStore::beginBatch() {
    if (inBatch_) {
        return {};
    }
    reconnect();
    if (auto r = conn_.execConstant("BEGIN"); !r) {
        return fail(error("begin", r.error().message));
    }
    inBatch_ = true;
    batchFailures_ = 0;
    return {};
}

Result<void> PgLeaseStore::commitBatch() {
    if (!inBatch_) {
        return {};
    }
    inBatch_ = false;
    if (const auto failed = std::exchange(batchFailures_, 0); failed != 0) {
        (void)conn_.execConstant("ROLLBACK");
        return fail(error("commit", fmt::format("{} lease write{} of the batch failed: rolled back",
                                                failed, failed == 1 ? "" : "s")));
    }
    if (auto r = conn_.execConstant("COMMIT"); !r) {
        (void)conn_.execConstant("ROLLBACK");
        return fail(error("commit", r.error().message));
    }
    return {};
}

}  // namespace pinet::io
