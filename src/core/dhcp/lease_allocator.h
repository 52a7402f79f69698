#pragma once
// Full-mode address allocation (RFC 2131 §4.3): a pool, bound leases that a
// LeaseStore persists, short offer holds, declined-address quarantine and
// static reservations by MAC or by Pi serial. The clock is injected: every
// call takes `now`, so tests drive expiry without sleeping.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/boot_events.h"
#include "core/dhcp/load_share.h"
#include "core/dhcp/pi_client.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/error.h"

namespace pinet::core::dhcp {

using proto::dhcp::Ip4;

struct Lease {
    Mac mac{};
    Ip4 ip = 0;
    WallTime expires{};
    std::string serial;    ///< Pi serial when known (from option 97)
    std::string hostname;  ///< option 12 when sent
};

/// Persists bound leases. Implemented over SQLite in io/; a test double in unit tests.
class LeaseStore {
public:
    virtual ~LeaseStore() = default;
    virtual Result<std::vector<Lease>> loadAll() = 0;
    virtual Result<void> put(const Lease& lease) = 0;
    virtual Result<void> erase(const Mac& mac) = 0;
    /// Group the writes of one batch of packets into one transaction (optional).
    virtual Result<void> beginBatch() { return {}; }
    virtual Result<void> commitBatch() { return {}; }
    /// After a put() that failed because another board holds that address in a store
    /// several nodes share (its unique index on the address, issue #19): that board's
    /// lease, once; nullopt for any other failure.
    virtual std::optional<Lease> takeConflict() { return std::nullopt; }
};

struct Reservation {
    std::optional<Mac> mac;
    std::optional<std::string> serial;  ///< 8 lower-case hex digits
    Ip4 ip = 0;
};

struct PoolConfig {
    Ip4 first = 0;
    Ip4 last = 0;
    std::chrono::seconds leaseTime{3600};
    /// RFC 2131 §4.3.1: an offered address is held for the client for a while; 60 s covers
    /// the Pi's 4 s DISCOVER retransmissions and slow REQUESTs (spec §2.3).
    std::chrono::seconds offerHold{60};
    /// RFC 2131 §4.3.3: a DECLINEd address is in use by someone else; keep it out of the
    /// pool for 10 minutes (dnsmasq uses the same figure) before trying it again.
    std::chrono::seconds declineHold{600};
    std::vector<Reservation> reservations;
};

class LeaseAllocator {
public:
    /// @p store may be null (leases are then kept in memory only).
    LeaseAllocator(PoolConfig config, LeaseStore* store);

    /// Several nodes share the pool (issue #19): free addresses are picked from
    /// @p share's part of the pool first (null: one node, no preference).
    void setLoadShare(const LoadShare* share) { share_ = share; }

    /// Loads the store's leases (start-up). Expired ones are dropped.
    Result<void> restore(WallTime now);

    /// Picks an address for DISCOVER: reservation, existing lease, the requested address if
    /// free, else the next free one. nullopt when the pool is exhausted.
    std::optional<Ip4> offer(const Mac& mac, const std::optional<std::string>& serial,
                             std::optional<Ip4> requested, WallTime now);

    struct Decision {
        enum class Kind { Ack, Nak, Ignore } kind = Kind::Ignore;
        Ip4 ip = 0;
        std::chrono::seconds leaseTime{0};
        std::string reason;  ///< NAK / ignore reason for humans and events
    };
    /// REQUEST after our OFFER (SELECTING), at reboot (INIT-REBOOT, @p ciaddr 0) or to
    /// renew (@p ciaddr set, no @p requested).
    Decision request(const Mac& mac, const std::optional<std::string>& serial,
                     std::optional<Ip4> requested, Ip4 ciaddr, WallTime now);
    /// True if @p mac holds an offer or a lease here (even one past its end that
    /// expire() has not swept yet), or has a reservation (by MAC or @p serial).
    /// A REQUEST in INIT-REBOOT from a client we do not know is NAKed (responder).
    [[nodiscard]] bool knows(const Mac& mac, const std::optional<std::string>& serial) const;
    /// The client chose another server's offer: free our hold (RFC 2131 §4.3.2).
    void forgetOffer(const Mac& mac);
    void release(const Mac& mac, Ip4 ip);
    void decline(const Mac& mac, Ip4 ip, WallTime now);
    /// Frees leases, holds and quarantines that ended before @p now; @return leases freed.
    std::size_t expire(WallTime now);

    [[nodiscard]] std::optional<Lease> leaseOf(const Mac& mac) const;
    /// The reservation of @p mac (or of its @p serial, or of the serial its lease
    /// recorded), if any.
    [[nodiscard]] std::optional<Ip4> reservedAddress(
        const Mac& mac, const std::optional<std::string>& serial) const {
        return reservedFor(mac, effectiveSerial(mac, serial));
    }
    [[nodiscard]] std::size_t boundCount() const;
    [[nodiscard]] const PoolConfig& config() const { return config_; }
    /// Last store error (the allocator keeps working in memory when the disk fails).
    [[nodiscard]] const std::string& storeError() const { return storeError_; }
    /// REQUESTs NAKed because the shared store had the address bound to another board.
    [[nodiscard]] std::uint64_t conflicts() const { return conflicts_; }

private:
    enum class State { Offered, Bound, Declined };
    struct Entry {
        State state = State::Offered;
        Lease lease;
    };

    /// The packet's serial, else the one recorded with the client's lease (the kernel's
    /// `ip=dhcp` after a restart sends no option 97 but must keep a serial reservation).
    std::optional<std::string> effectiveSerial(const Mac& mac,
                                               const std::optional<std::string>& serial) const;
    std::optional<Ip4> reservedFor(const Mac& mac, const std::optional<std::string>& serial) const;
    bool reservedForOther(Ip4 ip, const Mac& mac, const std::optional<std::string>& serial) const;
    bool inPool(Ip4 ip) const { return ip >= config_.first && ip <= config_.last; }
    /// Free for @p mac: nobody holds it (or @p mac does) and no other client reserved it.
    bool availableFor(Ip4 ip, const Mac& mac, const std::optional<std::string>& serial,
                      WallTime now) const;
    std::optional<Ip4> nextFree(const Mac& mac, const std::optional<std::string>& serial,
                                WallTime now);
    void hold(Ip4 ip, State state, const Mac& mac, const std::optional<std::string>& serial,
              WallTime expires);
    void dropEntry(Ip4 ip);
    /// False if the store refused the write.
    bool persist(const Lease& lease);
    void unpersist(const Mac& mac);

    PoolConfig config_;
    LeaseStore* store_;
    std::map<Ip4, Entry> byIp_;
    std::map<Mac, Ip4> byMac_;
    Ip4 cursor_;
    std::string storeError_;
    const LoadShare* share_ = nullptr;
    std::uint64_t conflicts_ = 0;
};

}  // namespace pinet::core::dhcp
