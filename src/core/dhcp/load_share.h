#pragma once
// Several pinetboot nodes on one boot LAN share the DHCP work (issue #19): the
// RFC 3074 load-balancing hash puts each client MAC in one of 256 buckets, and a
// deterministic map gives every bucket one owner among the nodes. Every node
// computes the map from the same node list (the store's `nodes` table), so all
// agree without talking to each other:
//
//   members: every known node id, sorted (byte order); M of them
//   live:    the members whose heartbeat is fresh, sorted; L of them
//   owner(b) = members[b % M]        when that member is live,
//              live[b % L]           otherwise (its buckets spread over the live)
//              nobody                when no member is live
//
// A node that stops heartbeating loses its buckets to the live ones (a takeover);
// when it heartbeats again it gets exactly the same buckets back (a rejoin),
// because the primary assignment depends on the member list only. Pure: no clock,
// no I/O.

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dhcp/pi_client.h"

namespace pinet::core::dhcp {

/// RFC 3074 section 5: the hash is one octet, so there are 256 hash buckets.
inline constexpr std::size_t kBuckets = 256;
using BucketSet = std::bitset<kBuckets>;

/// RFC 3074 section 6: Pearson's hash over @p key with the RFC's mixing table,
/// seeded with the key's length (mod 256) and walking the key from its last octet.
std::uint8_t loadBalanceHash(std::span<const std::uint8_t> key);
/// The bucket of a client: the hash of its hardware address (chaddr, 6 octets).
std::uint8_t bucketOf(const Mac& mac);

struct Member {
    std::string id;
    bool live = false;
};

/// Which share of the dynamic pool a node allocates from first: the addresses whose
/// offset from the pool's start is index (mod count). Two live nodes then never pick
/// the same free address while both have room in their own share.
struct AddressShare {
    std::uint32_t index = 0;
    std::uint32_t count = 1;
};

/// The bucket -> owner map of one view of the node list.
class BucketMap {
public:
    BucketMap() = default;
    /// @p members in any order; duplicate ids count once (live if any copy is live).
    explicit BucketMap(std::vector<Member> members);

    /// The owner of @p bucket, or nullopt when no member is live.
    [[nodiscard]] std::optional<std::string_view> ownerOf(std::uint8_t bucket) const;
    [[nodiscard]] BucketSet ownedBy(std::string_view id) const;
    [[nodiscard]] bool isLive(std::string_view id) const;
    [[nodiscard]] bool isMember(std::string_view id) const;
    [[nodiscard]] std::size_t liveCount() const;
    /// Sorted by id.
    [[nodiscard]] const std::vector<Member>& members() const { return members_; }
    /// @p id's address share among the members (index 0 of 1 if it is not one).
    [[nodiscard]] AddressShare addressShare(std::string_view id) const;

private:
    std::vector<Member> members_;
    /// Index into members_ per bucket; -1 = nobody.
    std::array<std::int16_t, kBuckets> owner_{};
};

/// A membership change seen by node @p self between two views, for the log.
struct MembershipChange {
    enum class Kind {
        Join,      ///< a member not in the previous view, live
        Takeover,  ///< a live member stopped heartbeating; self took `buckets` of its buckets
        Rejoin,    ///< a dead member heartbeats again; `buckets` are its own again
    };
    Kind kind = Kind::Join;
    std::string node;
    std::size_t buckets = 0;
};
const char* toString(MembershipChange::Kind kind);  ///< "NODE_JOIN", "NODE_TAKEOVER", ...

/// The changes from @p before to @p after as @p self sees them (self's own row is the
/// caller's to report: it knows whether it was there before it started).
std::vector<MembershipChange> membershipChanges(const BucketMap& before, const BucketMap& after,
                                                std::string_view self);

/// What the DHCP responder asks on its thread; implemented over the node service's
/// latest view (app/serve/node_service.h) and thread-safe there.
class LoadShare {
public:
    virtual ~LoadShare() = default;
    [[nodiscard]] virtual bool owns(std::uint8_t bucket) const = 0;
    [[nodiscard]] virtual AddressShare addressShare() const = 0;
};

}  // namespace pinet::core::dhcp
