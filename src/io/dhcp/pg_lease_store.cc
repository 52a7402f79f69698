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
    auto r = conn_.query(
        "INSERT INTO leases(interface, mac, ip, expires, serial, hostname) "
        "VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::text) "
        "ON CONFLICT (interface, mac) DO UPDATE SET ip = EXCLUDED.ip, "
        "  expires = EXCLUDED.expires, serial = EXCLUDED.serial, hostname = EXCLUDED.hostname",
        // A hostname is the client's option 12: UTF-8 is all a text column holds.
        {interface_, mac, proto::dhcp::ipToString(lease.ip), pgParam(toUnix(lease.expires)),
         lease.serial, proto::text::isUtf8Text(lease.hostname) ? lease.hostname : std::string()});
    if (!r) {
        batchFailures_ += inBatch_ ? 1 : 0;
        return fail(error("write lease " + mac, r.error().message));
    }
    return {};
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
