#include "io/dhcp/sqlite_lease_store.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "io/file.h"

namespace pinet::io {
namespace {

using core::dhcp::Lease;
const core::WallTime kT = core::WallTime(std::chrono::seconds(1'800'000'000));

TEST(SqliteLeaseStore, PutLoadEraseSurvivesReopen) {
    TempDir dir("pnb-lease");
    const auto path = (dir.path() / "leases.sqlite").string();
    {
        SqliteLeaseStore s(path);
        ASSERT_TRUE(s.put(Lease{{0xdc, 0xa6, 0x32, 1, 2, 3}, 0x0a630064, kT, "1234abcd", "pi"}));
        ASSERT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
        // Updating a MAC replaces its row.
        ASSERT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630066, kT, "", ""}));
        ASSERT_TRUE(s.beginBatch());
        ASSERT_TRUE(s.erase({0xdc, 0xa6, 0x32, 1, 2, 3}));
        ASSERT_TRUE(s.put(Lease{{0xdc, 0xa6, 0x32, 9, 9, 9}, 0x0a630070, kT, "0000beef", ""}));
        ASSERT_TRUE(s.commitBatch());
    }
    SqliteLeaseStore again(path);
    auto rows = again.loadAll();
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 2u);
    std::map<std::uint32_t, Lease> byIp;
    for (const auto& l : *rows) {
        byIp[l.ip] = l;
    }
    EXPECT_EQ(byIp.at(0x0a630066).mac, (core::dhcp::Mac{0x02, 0, 0, 0, 0, 1}));
    EXPECT_EQ(byIp.at(0x0a630070).serial, "0000beef");
    EXPECT_EQ(byIp.at(0x0a630070).expires, kT);
}

// Issue #19: no ACK without a committed lease. One failed write makes the whole batch
// fail and roll back (the server then sends none of the batch's ACKs); the next batch,
// once the database writes again, commits.
TEST(SqliteLeaseStore, BatchWithAFailedWriteIsRolledBackWhole) {
    TempDir dir("pnb-lease");
    const auto path = (dir.path() / "leases.sqlite").string();
    SqliteLeaseStore s(path);
    {
        auto other = Database::open(path);
        ASSERT_TRUE(other);
        ASSERT_TRUE(other->exec(
            "CREATE TRIGGER refuse BEFORE INSERT ON leases WHEN NEW.mac = '02:00:00:00:00:02' "
            "BEGIN SELECT RAISE(ABORT, 'injected'); END"));
    }
    ASSERT_TRUE(s.beginBatch());
    EXPECT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
    EXPECT_FALSE(s.put(Lease{{0x02, 0, 0, 0, 0, 2}, 0x0a630066, kT, "", ""}));
    auto c = s.commitBatch();
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("1 lease write of the batch failed: rolled back"),
              std::string::npos)
        << c.error().message;
    EXPECT_TRUE(s.loadAll()->empty());  // the write that worked was rolled back with it

    ASSERT_TRUE(s.beginBatch());
    EXPECT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
    EXPECT_TRUE(s.commitBatch());
    EXPECT_EQ(s.loadAll()->size(), 1u);
}

TEST(SqliteLeaseStore, UnopenableFileIsAClearError) {
    try {
        SqliteLeaseStore s("/nonexistent-dir-pnb/x/leases.sqlite");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir-pnb/x/leases.sqlite"),
                  std::string::npos);
    }
}

}  // namespace
}  // namespace pinet::io
