#pragma once
// Lease persistence for full-mode DHCP: one SQLite database in WAL mode, one
// row per client MAC. WAL + synchronous=NORMAL keeps an ACK's write cheap
// (no fsync per transaction) while a crash loses at most the last few leases,
// which clients simply renew.

#include <string>

#include "core/dhcp/lease_allocator.h"
#include "io/sqlite/sqlite.h"

namespace pinet::io {

class SqliteLeaseStore final : public core::dhcp::LeaseStore {
public:
    /// Opens (creating if needed) the database at @p path. Throws std::runtime_error naming
    /// the file on failure (start-up time).
    explicit SqliteLeaseStore(const std::string& path);

    Result<std::vector<core::dhcp::Lease>> loadAll() override;
    Result<void> put(const core::dhcp::Lease& lease) override;
    Result<void> erase(const core::dhcp::Mac& mac) override;
    Result<void> beginBatch() override;
    /// All or nothing: when any write of the batch failed, the batch is rolled back and
    /// this fails, so the server sends none of the batch's ACKs (issue #19: no ACK
    /// without a committed lease; a client retransmits its REQUEST).
    Result<void> commitBatch() override;

private:
    std::string error(const std::string& what, const Error& e) const;

    std::string path_;
    std::size_t batchFailures_ = 0;  ///< writes of the open batch that failed
    Database db_;
    Statement put_;
    Statement erase_;
    bool inBatch_ = false;
};

}  // namespace pinet::io
