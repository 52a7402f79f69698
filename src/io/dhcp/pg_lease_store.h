#pragma once
// Lease persistence for full-mode DHCP in the PostgreSQL store (issue #19): the
// registry database's `leases` table (schema version 2, io/registry/schema.cc), one
// row per (interface, MAC). Same contract as SqliteLeaseStore: a batch is one
// transaction and all or nothing, so the server sends no ACK whose lease is not
// committed. Only the DHCP thread of its interface uses the connection.
//
// Several nodes share the table (schema v3): its unique index `leases_ip_key` on the
// address makes it impossible for two boards to hold one address. A write that meets
// it is undone alone (a savepoint; the batch's other leases still commit) and reported
// through takeConflict() with the holder's lease, so the allocator NAKs that client
// instead of ACKing an address another node gave out. A row of an expired lease, or of
// the same board under another interface name, is not a holder: it is deleted first.

#include <cstddef>
#include <optional>
#include <string>

#include "core/dhcp/lease_allocator.h"
#include "io/pg/pg.h"

namespace pinet::io {

class PgLeaseStore final : public core::dhcp::LeaseStore {
public:
    /// Connects to @p url for the leases of @p interface. Throws std::runtime_error naming
    /// the store (without its password) on failure (start-up time). The schema is the
    /// registry's, migrated by serve before its DHCP servers start.
    PgLeaseStore(const std::string& url, std::string interface);

    Result<std::vector<core::dhcp::Lease>> loadAll() override;
    Result<void> put(const core::dhcp::Lease& lease) override;
    Result<void> erase(const core::dhcp::Mac& mac) override;
    Result<void> beginBatch() override;
    Result<void> commitBatch() override;
    std::optional<core::dhcp::Lease> takeConflict() override;

private:
    std::string error(const std::string& what, const std::string& message) const;
    /// A connection lost since the last batch is made again (the server restarted).
    void reconnect();
    /// The lease that holds @p ip in the table (after a unique violation on it).
    std::optional<core::dhcp::Lease> holderOf(const std::string& ip);

    std::string where_;  ///< the URL without its password, for messages
    std::string interface_;
    PgConnection conn_;
    bool inBatch_ = false;
    std::size_t batchFailures_ = 0;
    std::optional<core::dhcp::Lease> conflict_;
};

}  // namespace pinet::io
