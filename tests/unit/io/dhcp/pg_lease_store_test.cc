#include "io/dhcp/pg_lease_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include "io/file.h"
#include "io/registry/registry.h"
#include "lib/pg_server.h"

namespace pinet::io {
namespace {

using core::dhcp::Lease;
const core::WallTime kT = core::WallTime(std::chrono::seconds(1'800'000'000));

/// A fresh database with the registry's schema (serve migrates it before DHCP starts).
std::string migratedDatabase() {
    std::string error;
    auto* pg = test::sharedPgServer(error);
    if (pg == nullptr) {
        ADD_FAILURE() << error;
        return {};
    }
    const auto url = pg->createDatabase(error);
    TempDir state("pnb-pg-lease");
    auto reg = Registry::open(state.path(), {StoreLocation::Backend::Postgresql, url});
    if (!reg) {
        ADD_FAILURE() << reg.error().message;
        return {};
    }
    return url;
}

// The SQLite lease store's contract, on PostgreSQL: leases per interface, replaced per
// MAC, erased, and kept across connections.
TEST(PgLeaseStore, PutLoadErasePerInterfaceSurvivesReconnect) {
    const auto url = migratedDatabase();
    ASSERT_FALSE(url.empty());
    {
        PgLeaseStore s(url, "eth1");
        ASSERT_TRUE(s.put(Lease{{0xdc, 0xa6, 0x32, 1, 2, 3}, 0x0a630064, kT, "1234abcd", "pi"}));
        ASSERT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
        ASSERT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630066, kT, "", ""}));  // replaced
        ASSERT_TRUE(s.beginBatch());
        ASSERT_TRUE(s.erase({0xdc, 0xa6, 0x32, 1, 2, 3}));
        ASSERT_TRUE(s.put(Lease{{0xdc, 0xa6, 0x32, 9, 9, 9}, 0x0a630070, kT, "0000beef", ""}));
        ASSERT_TRUE(s.commitBatch());
        PgLeaseStore other(url, "eth2");
        ASSERT_TRUE(other.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a640065, kT, "", ""}));
    }
    PgLeaseStore again(url, "eth1");
    auto rows = again.loadAll();
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->size(), 2u);  // eth2's lease is eth2's
    std::map<std::uint32_t, Lease> byIp;
    for (const auto& l : *rows) {
        byIp[l.ip] = l;
    }
    EXPECT_EQ(byIp.at(0x0a630066).mac, (core::dhcp::Mac{0x02, 0, 0, 0, 0, 1}));
    EXPECT_EQ(byIp.at(0x0a630070).serial, "0000beef");
    EXPECT_EQ(byIp.at(0x0a630070).expires, kT);
}

// No ACK without a committed lease: a batch with a failed write is rolled back whole.
TEST(PgLeaseStore, BatchWithAFailedWriteIsRolledBackWhole) {
    const auto url = migratedDatabase();
    ASSERT_FALSE(url.empty());
    {
        auto c = PgConnection::connect(url);
        ASSERT_TRUE(c);
        ASSERT_TRUE(c->execConstant(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.mac = '02:00:00:00:00:02' THEN RAISE EXCEPTION 'injected'; END IF; "
            "RETURN NEW; END $$; CREATE TRIGGER refuse BEFORE INSERT ON leases FOR EACH ROW "
            "EXECUTE FUNCTION refuse();"));
    }
    PgLeaseStore s(url, "eth1");
    ASSERT_TRUE(s.beginBatch());
    EXPECT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
    EXPECT_FALSE(s.put(Lease{{0x02, 0, 0, 0, 0, 2}, 0x0a630066, kT, "", ""}));
    auto c = s.commitBatch();
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("1 lease write of the batch failed: rolled back"),
              std::string::npos)
        << c.error().message;
    EXPECT_TRUE(s.loadAll()->empty());
    ASSERT_TRUE(s.beginBatch());
    EXPECT_TRUE(s.put(Lease{{0x02, 0, 0, 0, 0, 1}, 0x0a630065, kT, "", ""}));
    EXPECT_TRUE(s.commitBatch());
    EXPECT_EQ(s.loadAll()->size(), 1u);
}

TEST(PgLeaseStore, UnreachableStoreIsAClearErrorWithoutThePassword) {
    try {
        PgLeaseStore s("postgresql://u:s3cret@/db?host=/nonexistent-pnb-dir", "eth1");
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("lease store"), std::string::npos) << what;
        EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
    }
}

}  // namespace
}  // namespace pinet::io

namespace pinet::io {
namespace {

// Several nodes (issue #19, schema v3): the table's unique address. Two nodes' stores on
// one database; the second writes an address the first already bound to another board.
TEST(PgLeaseStore, AnAddressHeldByAnotherBoardIsAConflictOfThatLeaseAlone) {
    const auto url = migratedDatabase();
    ASSERT_FALSE(url.empty());
    const core::dhcp::Mac m1{0x02, 0, 0, 0, 0, 1};
    const core::dhcp::Mac m2{0x02, 0, 0, 0, 0, 2};
    const core::dhcp::Mac m3{0x02, 0, 0, 0, 0, 3};
    PgLeaseStore nodeA(url, "eth1");
    PgLeaseStore nodeB(url, "eth1");
    ASSERT_TRUE(nodeA.beginBatch());
    ASSERT_TRUE(nodeA.put(Lease{m1, 0x0a630064, kT, "1234abcd", ""}));
    ASSERT_TRUE(nodeA.commitBatch());
    EXPECT_FALSE(nodeA.takeConflict());

    ASSERT_TRUE(nodeB.beginBatch());
    auto r = nodeB.put(Lease{m2, 0x0a630064, kT, "", ""});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("held by another board"), std::string::npos)
        << r.error().message;
    auto holder = nodeB.takeConflict();
    ASSERT_TRUE(holder);
    EXPECT_EQ(holder->mac, m1);
    EXPECT_EQ(holder->ip, 0x0a630064u);
    EXPECT_EQ(holder->serial, "1234abcd");
    EXPECT_EQ(holder->expires, kT);
    EXPECT_FALSE(nodeB.takeConflict());  // once
    // The batch goes on: the other lease of it commits.
    ASSERT_TRUE(nodeB.put(Lease{m3, 0x0a630065, kT, "", ""}));
    ASSERT_TRUE(nodeB.commitBatch());
    auto rows = nodeA.loadAll();
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 2u);
    for (const auto& l : *rows) {
        EXPECT_TRUE((l.mac == m1 && l.ip == 0x0a630064u) || (l.mac == m3 && l.ip == 0x0a630065u));
    }
}

TEST(PgLeaseStore, AnExpiredRowOrTheSameBoardElsewhereDoesNotHoldTheAddress) {
    const auto url = migratedDatabase();
    ASSERT_FALSE(url.empty());
    const core::dhcp::Mac m1{0x02, 0, 0, 0, 0, 1};
    const core::dhcp::Mac m2{0x02, 0, 0, 0, 0, 2};
    PgLeaseStore s(url, "eth1");
    const auto past = core::WallTime(std::chrono::seconds(1000));
    ASSERT_TRUE(s.put(Lease{m1, 0x0a630064, past, "", ""}));  // expired long ago
    ASSERT_TRUE(s.beginBatch());
    ASSERT_TRUE(s.put(Lease{m2, 0x0a630064, kT, "", ""}));
    ASSERT_TRUE(s.commitBatch());
    // m2 moves to another interface name (another node's): its old row gives way.
    PgLeaseStore other(url, "eth9");
    ASSERT_TRUE(other.beginBatch());
    ASSERT_TRUE(other.put(Lease{m2, 0x0a630064, kT, "", ""}));
    ASSERT_TRUE(other.commitBatch());
    EXPECT_TRUE(s.loadAll()->empty());
    ASSERT_EQ(other.loadAll()->size(), 1u);
}

}  // namespace
}  // namespace pinet::io
