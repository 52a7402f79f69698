#include "core/dhcp/lease_allocator.h"

#include <gtest/gtest.h>

#include <map>

namespace pinet::core::dhcp {
namespace {

using namespace std::chrono_literals;
const WallTime kT0 = WallTime(std::chrono::seconds(1'800'000'000));
constexpr Ip4 kFirst = 0x0a000064;  // 10.0.0.100
const Mac kA{0x02, 0, 0, 0, 0, 0xa};
const Mac kB{0x02, 0, 0, 0, 0, 0xb};
using Kind = LeaseAllocator::Decision::Kind;

class MemoryStore : public LeaseStore {
public:
    Result<std::vector<Lease>> loadAll() override {
        std::vector<Lease> v;
        for (auto& [k, l] : rows) {
            v.push_back(l);
        }
        return v;
    }
    Result<void> put(const Lease& l) override {
        rows[l.mac] = l;
        return {};
    }
    Result<void> erase(const Mac& m) override {
        rows.erase(m);
        return {};
    }
    std::map<Mac, Lease> rows;
};

PoolConfig pool(Ip4 size = 4) {
    PoolConfig c;
    c.first = kFirst;
    c.last = kFirst + size - 1;
    c.leaseTime = 3600s;
    return c;
}

TEST(LeaseAllocator, OfferThenRequestBindsAndPersists) {
    MemoryStore store;
    LeaseAllocator a(pool(), &store);
    auto ip = a.offer(kA, std::nullopt, std::nullopt, kT0);
    ASSERT_TRUE(ip);
    EXPECT_EQ(*ip, kFirst);
    EXPECT_TRUE(store.rows.empty());  // offers are not persisted
    auto d = a.request(kA, std::nullopt, ip, 0, kT0);
    EXPECT_EQ(d.kind, Kind::Ack);
    EXPECT_EQ(d.leaseTime, 3600s);
    ASSERT_EQ(store.rows.size(), 1u);
    EXPECT_EQ(store.rows[kA].ip, kFirst);
    EXPECT_EQ(store.rows[kA].expires, kT0 + 3600s);
    // The same client gets the same address again.
    EXPECT_EQ(*a.offer(kA, std::nullopt, std::nullopt, kT0 + 10s), kFirst);
    // Another client does not.
    EXPECT_NE(*a.offer(kB, std::nullopt, kFirst, kT0 + 10s), kFirst);
}

TEST(LeaseAllocator, RequestedAddressHonouredWhenFree) {
    LeaseAllocator a(pool(), nullptr);
    EXPECT_EQ(*a.offer(kA, std::nullopt, kFirst + 2, kT0), kFirst + 2);
    EXPECT_NE(*a.offer(kB, std::nullopt, kFirst + 2, kT0), kFirst + 2);
    EXPECT_NE(*a.offer(kB, std::nullopt, 0x0b000001, kT0), 0x0b000001u);  // outside the pool
}

TEST(LeaseAllocator, NakCases) {
    LeaseAllocator a(pool(), nullptr);
    EXPECT_EQ(a.request(kA, std::nullopt, 0x0b000001, 0, kT0).kind, Kind::Nak);  // not ours
    ASSERT_EQ(a.request(kA, std::nullopt, kFirst, 0, kT0).kind, Kind::Ack);      // INIT-REBOOT
    EXPECT_EQ(a.request(kB, std::nullopt, kFirst, 0, kT0).kind, Kind::Nak);      // in use
    // A client asking for another address than the one it holds.
    EXPECT_EQ(a.request(kA, std::nullopt, kFirst + 1, 0, kT0).kind, Kind::Nak);
    // Renewal: ciaddr, no requested-IP option.
    auto renew = a.request(kA, std::nullopt, std::nullopt, kFirst, kT0 + 1800s);
    EXPECT_EQ(renew.kind, Kind::Ack);
    EXPECT_EQ(a.leaseOf(kA)->expires, kT0 + 1800s + 3600s);
}

TEST(LeaseAllocator, ExpiryFreesAddressAndStore) {
    MemoryStore store;
    LeaseAllocator a(pool(1), &store);
    ASSERT_EQ(a.request(kA, std::nullopt, kFirst, 0, kT0).kind, Kind::Ack);
    EXPECT_FALSE(a.offer(kB, std::nullopt, std::nullopt, kT0 + 3599s));  // pool of 1 is full
    EXPECT_EQ(a.expire(kT0 + 3600s), 1u);
    EXPECT_TRUE(store.rows.empty());
    EXPECT_FALSE(a.leaseOf(kA));
    EXPECT_EQ(*a.offer(kB, std::nullopt, std::nullopt, kT0 + 3600s), kFirst);
}

TEST(LeaseAllocator, ReleaseOnlyByOwner) {
    MemoryStore store;
    LeaseAllocator a(pool(), &store);
    ASSERT_EQ(a.request(kA, std::nullopt, kFirst, 0, kT0).kind, Kind::Ack);
    a.release(kB, kFirst);  // not the owner
    EXPECT_TRUE(a.leaseOf(kA));
    a.release(kA, kFirst);
    EXPECT_FALSE(a.leaseOf(kA));
    EXPECT_TRUE(store.rows.empty());
}

TEST(LeaseAllocator, DeclineQuarantinesTheAddress) {
    LeaseAllocator a(pool(2), nullptr);
    ASSERT_EQ(a.request(kA, std::nullopt, kFirst, 0, kT0).kind, Kind::Ack);
    a.decline(kA, kFirst, kT0);
    EXPECT_FALSE(a.leaseOf(kA));
    // Neither A nor B is offered the declined address during the hold.
    EXPECT_EQ(*a.offer(kA, std::nullopt, kFirst, kT0 + 1s), kFirst + 1);
    EXPECT_FALSE(a.offer(kB, std::nullopt, kFirst, kT0 + 1s));  // .101 held for A, .100 declined
    a.expire(kT0 + 601s);
    EXPECT_EQ(*a.offer(kB, std::nullopt, kFirst, kT0 + 601s), kFirst);
}

TEST(LeaseAllocator, ReservationBySerialAndMac) {
    PoolConfig c = pool();
    c.reservations.push_back({std::nullopt, std::string("1234abcd"), 0x0a000005});
    c.reservations.push_back({kB, std::nullopt, 0x0a000006});
    LeaseAllocator a(c, nullptr);
    // Any MAC carrying serial 1234abcd gets .5, even outside the pool.
    EXPECT_EQ(*a.offer(kA, std::string("1234abcd"), std::nullopt, kT0), 0x0a000005u);
    EXPECT_EQ(a.request(kA, std::string("1234abcd"), 0x0a000005, 0, kT0).kind, Kind::Ack);
    // Asking for a pool address instead of the reservation is NAKed.
    EXPECT_EQ(a.request(kA, std::string("1234abcd"), kFirst, 0, kT0).kind, Kind::Nak);
    EXPECT_EQ(*a.offer(kB, std::nullopt, std::nullopt, kT0), 0x0a000006u);
    // A third client may not take the reserved addresses.
    const Mac kC{0x02, 0, 0, 0, 0, 0xc};
    EXPECT_EQ(a.request(kC, std::nullopt, 0x0a000006, 0, kT0).kind, Kind::Nak);
    // The kernel's ip=dhcp (no option 97) from the same MAC keeps the serial's address.
    EXPECT_EQ(*a.offer(kA, std::nullopt, std::nullopt, kT0 + 5s), 0x0a000005u);
}

TEST(LeaseAllocator, RestoreSkipsExpiredLeases) {
    MemoryStore store;
    store.rows[kA] = Lease{kA, kFirst + 1, kT0 + 100s, "1234abcd", "pi"};
    store.rows[kB] = Lease{kB, kFirst + 2, kT0 - 1s, "", ""};
    LeaseAllocator a(pool(), &store);
    ASSERT_TRUE(a.restore(kT0));
    ASSERT_TRUE(a.leaseOf(kA));
    EXPECT_EQ(a.leaseOf(kA)->ip, kFirst + 1);
    EXPECT_EQ(a.leaseOf(kA)->serial, "1234abcd");
    EXPECT_FALSE(a.leaseOf(kB));
    EXPECT_EQ(store.rows.count(kB), 0u);
    EXPECT_EQ(a.boundCount(), 1u);
}

// Several nodes (issue #19).
struct HalfShare : LoadShare {
    AddressShare share;
    bool owns(std::uint8_t) const override { return true; }
    AddressShare addressShare() const override { return share; }
};

TEST(LeaseAllocator, AnAddressShareIsUsedFirstThenTheRest) {
    HalfShare second;
    second.share = {1, 2};  // the odd offsets: .101, .103
    LeaseAllocator a(pool(4), nullptr);
    a.setLoadShare(&second);
    const Mac kC{0x02, 0, 0, 0, 0, 0xc};
    const Mac kD{0x02, 0, 0, 0, 0, 0xd};
    const Mac kE{0x02, 0, 0, 0, 0, 0xe};
    std::vector<Ip4> got;
    for (const auto& m : {kA, kB, kC, kD}) {
        auto ip = a.offer(m, std::nullopt, std::nullopt, kT0);
        ASSERT_TRUE(ip);
        got.push_back(*ip);
    }
    // Its own share first (in round-robin order), then the other node's.
    EXPECT_EQ(got[0], kFirst + 1);
    EXPECT_EQ(got[1], kFirst + 3);
    EXPECT_EQ(got[2] % 2, kFirst % 2);
    EXPECT_EQ(got[3] % 2, kFirst % 2);
    EXPECT_NE(got[2], got[3]);
    EXPECT_FALSE(a.offer(kE, std::nullopt, std::nullopt, kT0));  // all four held
}

// A store shared with another node, which already bound kFirst to kB.
class SharedStore : public MemoryStore {
public:
    Result<void> put(const Lease& l) override {
        for (const auto& [mac, other] : rows) {
            if (other.ip == l.ip && mac != l.mac) {
                conflict = other;
                return fail("held by another board");
            }
        }
        return MemoryStore::put(l);
    }
    std::optional<Lease> takeConflict() override { return std::exchange(conflict, std::nullopt); }
    std::optional<Lease> conflict;
};

TEST(LeaseAllocator, AnAddressAnotherNodeBoundIsNakedAndLearnt) {
    SharedStore store;
    LeaseAllocator a(pool(), &store);  // restored before the other node's write
    Lease theirs;
    theirs.mac = kB;
    theirs.ip = kFirst;
    theirs.expires = kT0 + 3600s;
    theirs.serial = "5678abcd";
    store.rows[kB] = theirs;

    auto ip = a.offer(kA, std::nullopt, std::nullopt, kT0);
    ASSERT_EQ(*ip, kFirst);  // it does not know yet
    auto d = a.request(kA, std::nullopt, ip, 0, kT0);
    EXPECT_EQ(d.kind, Kind::Nak);
    EXPECT_EQ(d.reason, "address in use by another board (lease store)");
    EXPECT_EQ(a.conflicts(), 1u);
    EXPECT_FALSE(a.leaseOf(kA));
    // It has learnt the other node's lease: kA starts over and gets another address,
    // and kB, should it come here, keeps its own.
    auto again = a.offer(kA, std::nullopt, std::nullopt, kT0 + 1s);
    ASSERT_TRUE(again);
    EXPECT_NE(*again, kFirst);
    EXPECT_EQ(a.request(kA, std::nullopt, again, 0, kT0 + 1s).kind, Kind::Ack);
    ASSERT_TRUE(a.leaseOf(kB));
    EXPECT_EQ(a.leaseOf(kB)->ip, kFirst);
    EXPECT_EQ(*a.offer(kB, std::nullopt, std::nullopt, kT0 + 2s), kFirst);
}

TEST(LeaseAllocator, AConflictWithAnUnknownHolderQuarantinesTheAddress) {
    // The store reports a conflict but could not read the holder back (address only).
    struct Refusing : SharedStore {
        Result<void> put(const Lease&) override {
            conflict = Lease{};
            conflict->ip = kFirst;
            return fail("held");
        }
    } store;
    LeaseAllocator a(pool(2), &store);
    ASSERT_EQ(*a.offer(kA, std::nullopt, std::nullopt, kT0), kFirst);
    EXPECT_EQ(a.request(kA, std::nullopt, kFirst, 0, kT0).kind, Kind::Nak);
    EXPECT_EQ(a.conflicts(), 1u);
    // Out of the pool for the decline hold: the next client gets the other address.
    EXPECT_EQ(*a.offer(kB, std::nullopt, std::nullopt, kT0 + 1s), kFirst + 1);
}

}  // namespace
}  // namespace pinet::core::dhcp
