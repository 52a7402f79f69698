#pragma once
// Lease persistence for full-mode DHCP: one SQLite database in WAL mode, one
// row per client MAC. WAL + synchronous=NORMAL keeps an ACK's write cheap
// (no fsync per transaction) while a crash loses at most the last few leases,
// which clients simply renew.

#include <memory>
#include <string>

#include <sqlite3.h>

#include "core/dhcp/lease_allocator.h"

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
    Result<void> commitBatch() override;

private:
    struct DbClose {
        void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
    };
    struct StmtFinalize {
        void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
    };
    using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

    Stmt prepare(const char* sql);
    std::string error(const std::string& what) const;

    std::string path_;
    std::unique_ptr<sqlite3, DbClose> db_;
    Stmt put_;
    Stmt erase_;
    bool inBatch_ = false;
};

}  // namespace pinet::io
