#include "core/dhcp/load_share.h"

#include <algorithm>

namespace pinet::core::dhcp {

namespace {

// RFC 3074 section 6: the "mixing table" of 256 distinct values in pseudo-random
// order (a permutation of 0..255; load_share_test.cc checks that it is one).
constexpr std::array<std::uint8_t, 256> kMixingTable{
    251, 175, 119, 215, 81,  14,  79,  191, 103, 49,  181, 143, 186, 157, 0,   232, 31,  32,  55,
    60,  152, 58,  17,  237, 174, 70,  160, 144, 220, 90,  57,  223, 59,  3,   18,  140, 111, 166,
    203, 196, 134, 243, 124, 95,  222, 179, 197, 65,  180, 48,  36,  15,  107, 46,  233, 130, 165,
    30,  123, 161, 209, 23,  97,  16,  40,  91,  219, 61,  100, 10,  210, 109, 250, 127, 22,  138,
    29,  108, 244, 67,  207, 9,   178, 204, 74,  98,  126, 249, 167, 116, 34,  77,  193, 200, 121,
    5,   20,  113, 71,  35,  128, 13,  182, 94,  25,  226, 227, 199, 75,  27,  41,  245, 230, 224,
    43,  225, 177, 26,  155, 150, 212, 142, 218, 115, 241, 73,  88,  105, 39,  114, 62,  255, 192,
    201, 145, 214, 168, 158, 221, 148, 154, 122, 12,  84,  82,  163, 44,  139, 228, 236, 205, 242,
    217, 11,  187, 146, 159, 64,  86,  239, 195, 42,  106, 198, 118, 112, 184, 172, 87,  2,   173,
    117, 176, 229, 247, 253, 137, 185, 99,  164, 102, 147, 45,  66,  231, 52,  141, 211, 194, 206,
    246, 238, 56,  110, 78,  248, 63,  240, 189, 93,  92,  51,  53,  183, 19,  171, 72,  50,  33,
    104, 101, 69,  8,   252, 83,  120, 76,  135, 85,  54,  202, 125, 188, 213, 96,  235, 136, 208,
    162, 129, 190, 132, 156, 38,  47,  1,   7,   254, 24,  4,   216, 131, 89,  21,  28,  133, 37,
    153, 149, 80,  170, 68,  6,   169, 234, 151,
};

}  // namespace

std::uint8_t loadBalanceHash(std::span<const std::uint8_t> key) {
    // RFC 3074 section 6: the hash starts as the key's length (an unsigned char, so
    // mod 256) and mixes the octets from the last to the first.
    auto hash = static_cast<std::uint8_t>(key.size() & 0xffU);
    for (std::size_t i = key.size(); i > 0; --i) {
        hash = kMixingTable[static_cast<std::uint8_t>(hash ^ key[i - 1])];
    }
    return hash;
}

std::uint8_t bucketOf(const Mac& mac) {
    return loadBalanceHash(mac);
}

BucketMap::BucketMap(std::vector<Member> members) {
    std::sort(members.begin(), members.end(),
              [](const Member& a, const Member& b) { return a.id < b.id; });
    for (auto& m : members) {
        if (!members_.empty() && members_.back().id == m.id) {
            members_.back().live = members_.back().live || m.live;
        } else {
            members_.push_back(std::move(m));
        }
    }
    std::vector<std::int16_t> live;
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].live) {
            live.push_back(static_cast<std::int16_t>(i));
        }
    }
    owner_.fill(-1);
    if (live.empty()) {
        return;
    }
    for (std::size_t b = 0; b < kBuckets; ++b) {
        const std::size_t primary = b % members_.size();
        owner_[b] =
            members_[primary].live ? static_cast<std::int16_t>(primary) : live[b % live.size()];
    }
}

std::optional<std::string_view> BucketMap::ownerOf(std::uint8_t bucket) const {
    const std::int16_t o = owner_[bucket];
    if (o < 0) {
        return std::nullopt;
    }
    return std::string_view(members_[static_cast<std::size_t>(o)].id);
}

BucketSet BucketMap::ownedBy(std::string_view id) const {
    BucketSet s;
    for (std::size_t b = 0; b < kBuckets; ++b) {
        const std::int16_t o = owner_[b];
        if (o >= 0 && members_[static_cast<std::size_t>(o)].id == id) {
            s.set(b);
        }
    }
    return s;
}

bool BucketMap::isLive(std::string_view id) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const Member& m) { return m.id == id && m.live; });
}

bool BucketMap::isMember(std::string_view id) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const Member& m) { return m.id == id; });
}

std::size_t BucketMap::liveCount() const {
    return static_cast<std::size_t>(
        std::count_if(members_.begin(), members_.end(), [](const Member& m) { return m.live; }));
}

AddressShare BucketMap::addressShare(std::string_view id) const {
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].id == id) {
            return AddressShare{static_cast<std::uint32_t>(i),
                                static_cast<std::uint32_t>(members_.size())};
        }
    }
    return AddressShare{};
}

const char* toString(MembershipChange::Kind kind) {
    switch (kind) {
        case MembershipChange::Kind::Join: return "NODE_JOIN";
        case MembershipChange::Kind::Takeover: return "NODE_TAKEOVER";
        case MembershipChange::Kind::Rejoin: return "NODE_REJOIN";
    }
    return "NODE_JOIN";  // unreachable: three kinds
}

std::vector<MembershipChange> membershipChanges(const BucketMap& before, const BucketMap& after,
                                                std::string_view self) {
    std::vector<MembershipChange> out;
    const BucketSet mineAfter = after.ownedBy(self);
    for (const auto& m : after.members()) {
        if (m.id == self) {
            continue;
        }
        const bool was = before.isMember(m.id);
        const bool wasLive = before.isLive(m.id);
        if (!was && m.live) {
            out.push_back({MembershipChange::Kind::Join, m.id, after.ownedBy(m.id).count()});
        } else if (wasLive && !m.live) {
            out.push_back({MembershipChange::Kind::Takeover, m.id,
                           (before.ownedBy(m.id) & mineAfter).count()});
        } else if (was && !wasLive && m.live) {
            out.push_back({MembershipChange::Kind::Rejoin, m.id, after.ownedBy(m.id).count()});
        }
    }
    // A live member whose row went away (deleted by an operator) is taken over too.
    for (const auto& m : before.members()) {
        if (m.id != self && m.live && !after.isMember(m.id)) {
            out.push_back({MembershipChange::Kind::Takeover, m.id,
                           (before.ownedBy(m.id) & mineAfter).count()});
        }
    }
    return out;
}

}  // namespace pinet::core::dhcp
