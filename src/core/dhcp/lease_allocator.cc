#include "core/dhcp/lease_allocator.h"

#include <algorithm>

namespace pinet::core::dhcp {

LeaseAllocator::LeaseAllocator(PoolConfig config, LeaseStore* store)
    : config_(std::move(config)), store_(store), cursor_(config_.first) {}

Result<void> LeaseAllocator::restore(WallTime now) {
    if (store_ == nullptr) {
        return {};
    }
    auto leases = store_->loadAll();
    if (!leases) {
        return tl::unexpected(leases.error());
    }
    for (const auto& l : *leases) {
        if (l.expires <= now) {
            unpersist(l.mac);
            continue;
        }
        hold(l.ip, State::Bound, l.mac, l.serial.empty() ? std::nullopt : std::optional(l.serial),
             l.expires);
        byIp_[l.ip].lease.hostname = l.hostname;
    }
    return {};
}

std::optional<std::string> LeaseAllocator::effectiveSerial(
    const Mac& mac, const std::optional<std::string>& serial) const {
    if (serial) {
        return serial;
    }
    auto m = byMac_.find(mac);
    if (m != byMac_.end()) {
        const std::string& s = byIp_.at(m->second).lease.serial;
        if (!s.empty()) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<Ip4> LeaseAllocator::reservedFor(const Mac& mac,
                                               const std::optional<std::string>& serial) const {
    // A serial reservation wins: it follows the board when its MAC is overridden
    // (MAC_ADDRESS in the EEPROM config, spec §7).
    if (serial) {
        for (const auto& r : config_.reservations) {
            if (r.serial && *r.serial == *serial) {
                return r.ip;
            }
        }
    }
    for (const auto& r : config_.reservations) {
        if (r.mac && *r.mac == mac) {
            return r.ip;
        }
    }
    return std::nullopt;
}

bool LeaseAllocator::reservedForOther(Ip4 ip, const Mac& mac,
                                      const std::optional<std::string>& serial) const {
    for (const auto& r : config_.reservations) {
        if (r.ip != ip) {
            continue;
        }
        const bool mine = (r.mac && *r.mac == mac) || (r.serial && serial && *r.serial == *serial);
        if (!mine) {
            return true;
        }
    }
    return false;
}

bool LeaseAllocator::availableFor(Ip4 ip, const Mac& mac, const std::optional<std::string>& serial,
                                  WallTime now) const {
    if (reservedForOther(ip, mac, serial)) {
        return false;
    }
    auto it = byIp_.find(ip);
    if (it == byIp_.end()) {
        return true;
    }
    const Entry& e = it->second;
    if (e.lease.expires <= now) {
        return true;
    }
    return e.state != State::Declined && e.lease.mac == mac;
}

std::optional<Ip4> LeaseAllocator::nextFree(const Mac& mac,
                                            const std::optional<std::string>& serial,
                                            WallTime now) {
    if (config_.last < config_.first) {
        return std::nullopt;
    }
    const std::uint64_t size = std::uint64_t{config_.last} - config_.first + 1;
    // Several nodes (issue #19): this node's share of the pool first, so that two live
    // nodes do not hand out one free address at once; then any free address (the
    // store's unique index on the address catches a clash: request() NAKs it).
    const AddressShare share = share_ != nullptr ? share_->addressShare() : AddressShare{};
    const bool split = share.count > 1;
    auto preferred = [&](Ip4 ip) {
        return !split || (std::uint64_t{ip} - config_.first) % share.count == share.index;
    };
    // Round-robin from a cursor, so freed addresses are not reused at once (a client that
    // just released may still be answering ARP for it).
    for (int pass = split ? 0 : 1; pass < 2; ++pass) {
        Ip4 ip = cursor_;
        for (std::uint64_t i = 0; i < size; ++i) {
            const Ip4 here = ip;
            ip = (ip >= config_.last) ? config_.first : ip + 1;
            if ((pass == 1 || preferred(here)) && availableFor(here, mac, serial, now)) {
                cursor_ = ip;
                return here;
            }
        }
    }
    return std::nullopt;
}

void LeaseAllocator::dropEntry(Ip4 ip) {
    auto it = byIp_.find(ip);
    if (it == byIp_.end()) {
        return;
    }
    if (it->second.state != State::Declined) {
        auto m = byMac_.find(it->second.lease.mac);
        if (m != byMac_.end() && m->second == ip) {
            byMac_.erase(m);
        }
    }
    byIp_.erase(it);
}

void LeaseAllocator::hold(Ip4 ip, State state, const Mac& mac,
                          const std::optional<std::string>& serial, WallTime expires) {
    // A client holds one address: moving it frees the old one.
    if (state != State::Declined) {
        auto m = byMac_.find(mac);
        if (m != byMac_.end() && m->second != ip) {
            dropEntry(m->second);
        }
    }
    dropEntry(ip);
    Entry e;
    e.state = state;
    e.lease.mac = mac;
    e.lease.ip = ip;
    e.lease.expires = expires;
    e.lease.serial = serial.value_or("");
    byIp_[ip] = e;
    if (state != State::Declined) {
        byMac_[mac] = ip;
    }
}

std::optional<Ip4> LeaseAllocator::offer(const Mac& mac,
                                         const std::optional<std::string>& packetSerial,
                                         std::optional<Ip4> requested, WallTime now) {
    const auto serial = effectiveSerial(mac, packetSerial);
    std::optional<Ip4> pick = reservedFor(mac, serial);
    if (!pick) {
        auto m = byMac_.find(mac);
        if (m != byMac_.end() && availableFor(m->second, mac, serial, now) && inPool(m->second)) {
            pick = m->second;
        }
    }
    if (!pick && requested && inPool(*requested) && availableFor(*requested, mac, serial, now)) {
        pick = requested;
    }
    if (!pick) {
        pick = nextFree(mac, serial, now);
    }
    if (!pick) {
        return std::nullopt;
    }
    auto it = byIp_.find(*pick);
    if (it != byIp_.end() && it->second.state == State::Bound && it->second.lease.mac == mac &&
        it->second.lease.expires > now) {
        return pick;  // already bound to this client: keep the lease as it is
    }
    hold(*pick, State::Offered, mac, serial, now + config_.offerHold);
    return pick;
}

LeaseAllocator::Decision LeaseAllocator::request(const Mac& mac,
                                                 const std::optional<std::string>& packetSerial,
                                                 std::optional<Ip4> requested, Ip4 ciaddr,
                                                 WallTime now) {
    const auto serial = effectiveSerial(mac, packetSerial);
    Decision d;
    const Ip4 want = requested.value_or(ciaddr);
    if (want == 0) {
        d.kind = Decision::Kind::Nak;
        d.reason = "no address requested";
        return d;
    }
    const auto reserved = reservedFor(mac, serial);
    if (reserved && *reserved != want) {
        d.kind = Decision::Kind::Nak;
        d.reason = "address reserved elsewhere for this client";
        return d;
    }
    if (!reserved && !inPool(want)) {
        d.kind = Decision::Kind::Nak;
        d.reason = "address outside the pool";
        return d;
    }
    if (!availableFor(want, mac, serial, now)) {
        d.kind = Decision::Kind::Nak;
        d.reason = "address in use by another client";
        return d;
    }
    // RFC 2131 §4.3.2 INIT-REBOOT: a client asking for an address other than the one it holds
    // here is on the wrong lease; NAK so it restarts with DISCOVER.
    auto m = byMac_.find(mac);
    if (m != byMac_.end() && m->second != want && byIp_.at(m->second).lease.expires > now &&
        byIp_.at(m->second).state == State::Bound) {
        d.kind = Decision::Kind::Nak;
        d.reason = "client holds a different address";
        return d;
    }
    const WallTime expires = now + config_.leaseTime;
    hold(want, State::Bound, mac, serial, expires);
    if (!persist(byIp_.at(want).lease)) {
        if (auto other = store_->takeConflict()) {
            // Another node bound this address to another board (issue #19): that lease
            // is the truth now; this client is NAKed and starts over with DISCOVER.
            dropEntry(want);
            if (other->ip == want && other->expires > now) {
                hold(want, State::Bound, other->mac,
                     other->serial.empty() ? std::nullopt : std::optional(other->serial),
                     other->expires);
            } else {
                // The holder is unknown: keep the address out of the pool for a while,
                // as a DECLINEd one.
                hold(want, State::Declined, mac, std::nullopt, now + config_.declineHold);
            }
            ++conflicts_;
            d.kind = Decision::Kind::Nak;
            d.reason = "address in use by another board (lease store)";
            return d;
        }
    }
    d.kind = Decision::Kind::Ack;
    d.ip = want;
    d.leaseTime = config_.leaseTime;
    return d;
}

bool LeaseAllocator::knows(const Mac& mac, const std::optional<std::string>& serial) const {
    auto m = byMac_.find(mac);
    if (m != byMac_.end() && byIp_.at(m->second).state != State::Declined) {
        return true;
    }
    return reservedFor(mac, effectiveSerial(mac, serial)).has_value();
}

void LeaseAllocator::forgetOffer(const Mac& mac) {
    auto m = byMac_.find(mac);
    if (m != byMac_.end() && byIp_.at(m->second).state == State::Offered) {
        dropEntry(m->second);
    }
}

void LeaseAllocator::release(const Mac& mac, Ip4 ip) {
    auto it = byIp_.find(ip);
    if (it == byIp_.end() || it->second.lease.mac != mac || it->second.state == State::Declined) {
        return;  // RFC 2131 §4.3.4: only the owner can release
    }
    dropEntry(ip);
    unpersist(mac);
}

void LeaseAllocator::decline(const Mac& mac, Ip4 ip, WallTime now) {
    auto it = byIp_.find(ip);
    if (it == byIp_.end() || it->second.lease.mac != mac) {
        return;
    }
    dropEntry(ip);
    unpersist(mac);
    hold(ip, State::Declined, mac, std::nullopt, now + config_.declineHold);
}

std::size_t LeaseAllocator::expire(WallTime now) {
    std::size_t freed = 0;
    for (auto it = byIp_.begin(); it != byIp_.end();) {
        if (it->second.lease.expires > now) {
            ++it;
            continue;
        }
        const Entry e = it->second;
        ++it;
        dropEntry(e.lease.ip);
        if (e.state == State::Bound) {
            unpersist(e.lease.mac);
            ++freed;
        }
    }
    return freed;
}

std::optional<Lease> LeaseAllocator::leaseOf(const Mac& mac) const {
    auto m = byMac_.find(mac);
    if (m == byMac_.end()) {
        return std::nullopt;
    }
    const Entry& e = byIp_.at(m->second);
    if (e.state != State::Bound) {
        return std::nullopt;
    }
    return e.lease;
}

std::size_t LeaseAllocator::boundCount() const {
    return static_cast<std::size_t>(std::count_if(byIp_.begin(), byIp_.end(), [](const auto& kv) {
        return kv.second.state == State::Bound;
    }));
}

bool LeaseAllocator::persist(const Lease& lease) {
    if (store_ == nullptr) {
        return true;
    }
    if (auto r = store_->put(lease); !r) {
        storeError_ = r.error().message;
        return false;
    }
    return true;
}

void LeaseAllocator::unpersist(const Mac& mac) {
    if (store_ == nullptr) {
        return;
    }
    if (auto r = store_->erase(mac); !r) {
        storeError_ = r.error().message;
    }
}

}  // namespace pinet::core::dhcp
