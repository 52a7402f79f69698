#include "core/dhcp/dhcp_responder.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "proto/dhcp/pxe.h"

namespace pinet::core::dhcp {

namespace d = proto::dhcp;

namespace {
// Enough for every board of a large lab; beyond it the cache is simply restarted.
constexpr std::size_t kMaxSerialCache = 65536;
// Held DISCOVERs stored for their OFFER: the admission queue's default bound (8192), each
// about 600 bytes (a parsed DISCOVER), so about 5 MB at most.
constexpr std::size_t kMaxHeld = 8192;
// A stored DISCOVER older than this is dropped: its board's DHCP_TIMEOUT (45 s, spec
// §2.3) has passed, so it is in its next attempt with a new DISCOVER (or gone).
constexpr std::chrono::seconds kHeldLifetime{50};

std::size_t typeIndex(d::MessageType t) {
    return static_cast<std::size_t>(t) - 1;
}

/// RFC 2131 §4.3.2 / table 5: a REQUEST with neither server identifier nor requested
/// address is a client in RENEWING or REBINDING, the one REQUEST whose ciaddr is set.
bool renewing(const d::Packet& req) {
    return *req.messageType() == d::MessageType::Request && !req.ipOption(d::opt::ServerId) &&
           !req.ipOption(d::opt::RequestedIp);
}
}  // namespace

bool promisesLease(const Reply& reply) {
    return reply.packet.messageType() == proto::dhcp::MessageType::Ack && reply.packet.yiaddr != 0;
}

DhcpEvent::Kind eventKind(d::MessageType t) {
    switch (t) {
        case d::MessageType::Discover: return DhcpEvent::Kind::Discover;
        case d::MessageType::Offer: return DhcpEvent::Kind::Offer;
        case d::MessageType::Request: return DhcpEvent::Kind::Request;
        case d::MessageType::Decline: return DhcpEvent::Kind::Decline;
        case d::MessageType::Ack: return DhcpEvent::Kind::Ack;
        case d::MessageType::Nak: return DhcpEvent::Kind::Nak;
        case d::MessageType::Release: return DhcpEvent::Kind::Release;
        case d::MessageType::Inform: return DhcpEvent::Kind::Inform;
    }
    return DhcpEvent::Kind::Discover;  // unreachable: MessageType has eight values
}

const char* toString(Mode mode) {
    return mode == Mode::Proxy ? "proxy" : "full";
}

std::uint64_t DhcpCounters::malformed() const {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < kDropCount; ++i) {
        if (isMalformed(static_cast<Drop>(i))) {
            n += dropped[i];
        }
    }
    return n;
}

DhcpResponder::DhcpResponder(ResponderConfig config, LeaseStore* store)
    : config_(std::move(config)),
      tftpIp_(config_.tftpIp != 0 ? config_.tftpIp : config_.serverIp),
      option43_(d::buildPxeMenuOption(config_.pxeMenuText)),
      allocator_(config_.pool, config_.mode == Mode::Full ? store : nullptr) {}

void DhcpResponder::setLoadShare(const LoadShare* share) {
    share_ = share;
    allocator_.setLoadShare(share);
}

bool DhcpResponder::otherNodes(const d::Packet& req, const ClientInfo& client) {
    if (share_ == nullptr || share_->owns(bucketOf(client.mac))) {
        return false;
    }
    const auto type = *req.messageType();
    if (config_.mode == Mode::Proxy && !client.pxe) {
        return false;  // a proxy ignores it anyway (ignored_client), whoever owns it
    }
    if (config_.mode == Mode::Full) {
        const auto serverId = req.ipOption(d::opt::ServerId);
        // A REQUEST, DECLINE or RELEASE naming a server is that server's transaction,
        // whoever owns the bucket now: ours is finished here (the bucket may have moved
        // between our OFFER and the client's REQUEST), another's is dropped below as
        // not_for_us (with our offer hold freed).
        if (serverId) {
            return false;
        }
        // Boards with a reservation get the same answer from every node.
        const auto serial = client.isPi() ? serialOf(client) : std::nullopt;
        if (allocator_.reservedAddress(client.mac, serial)) {
            return false;
        }
        // A renewal or an INIT-REBOOT of a lease bound here: this node answers it too
        // (the same address the owner finds in the store).
        if (type == d::MessageType::Request && allocator_.leaseOf(client.mac)) {
            return false;
        }
    }
    return true;
}

Result<void> DhcpResponder::start(WallTime now) {
    if (config_.mode == Mode::Full) {
        return allocator_.restore(now);
    }
    return {};
}

void DhcpResponder::tick(WallTime now) {
    if (config_.mode == Mode::Full) {
        allocator_.expire(now);
    }
}

DhcpCounters DhcpResponder::counters() const {
    DhcpCounters c;
    for (std::size_t i = 0; i < 8; ++i) {
        c.received[i] = received_[i].load(std::memory_order_relaxed);
        c.sent[i] = sent_[i].load(std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < kDropCount; ++i) {
        c.dropped[i] = dropped_[i].load(std::memory_order_relaxed);
    }
    c.held = heldTotal_.load(std::memory_order_relaxed);
    c.leaseConflicts = leaseConflicts_.load(std::memory_order_relaxed);
    return c;
}

Outcome DhcpResponder::dropped(Outcome out, Drop drop) {
    dropped_[static_cast<std::size_t>(drop)].fetch_add(1, std::memory_order_relaxed);
    out.drop = drop;
    // Only the received packet's event exists yet: it is the one left unanswered.
    for (auto& e : out.events) {
        e.drop = drop;
        if (e.detail.empty()) {
            e.detail = std::string("no reply: ") + toString(drop);
        }
    }
    return out;
}

std::optional<std::string> DhcpResponder::serialOf(const ClientInfo& client) {
    const std::string mac = d::macToString(client.mac);
    if (client.guid) {
        if (serialByMac_.size() >= kMaxSerialCache) {
            serialByMac_.clear();
        }
        serialByMac_[mac] = client.guid->serialHex();
        return client.guid->serialHex();
    }
    auto it = serialByMac_.find(mac);
    if (it != serialByMac_.end()) {
        return it->second;
    }
    return std::nullopt;
}

Outcome DhcpResponder::handle(std::span<const std::uint8_t> datagram, const std::string& interface,
                              WallTime now) {
    // Without a separate steady clock (tests, one-shot tools) the wall clock stands in.
    return handle(datagram, interface, now, boot::SteadyClock::time_point(now.time_since_epoch()));
}

Outcome DhcpResponder::handle(std::span<const std::uint8_t> datagram, const std::string& interface,
                              WallTime now, boot::SteadyClock::time_point steady) {
    Outcome out;
    auto parsed = d::parse(datagram);
    if (!parsed) {
        return dropped(std::move(out), fromParseError(parsed.error()));
    }
    return handleParsed(*parsed, interface, now, steady, false);
}

std::vector<Outcome> DhcpResponder::releaseHeld(WallTime now,
                                                boot::SteadyClock::time_point steady) {
    std::vector<Outcome> outs;
    if (gate_ == nullptr) {
        return outs;
    }
    const auto mine = [this](std::string_view board) {
        return held_.contains(std::string(board));
    };
    for (const auto& board : gate_->takeReleased(steady, mine)) {
        auto it = held_.find(board);
        if (it == held_.end()) {
            continue;  // not stored (kMaxHeld): answered at its next DISCOVER
        }
        const Held h = std::move(it->second);
        held_.erase(it);
        if (steady - h.since > kHeldLifetime) {
            continue;
        }
        outs.push_back(handleParsed(h.request, h.interface, now, steady, true));
    }
    if (held_.size() > kMaxHeld / 2) {
        std::erase_if(held_,
                      [&](const auto& kv) { return steady - kv.second.since > kHeldLifetime; });
    }
    return outs;
}

bool DhcpResponder::admitted(const d::Packet& req, const ClientInfo& client,
                             const std::string& interface, boot::SteadyClock::time_point steady,
                             Outcome& out) {
    // Only a Pi bootloader's DISCOVER is gated: it is what starts a boot's file
    // sequence. Linux's own ip=dhcp (no PXE option), REQUESTs and other clients pass.
    if (gate_ == nullptr || !client.isPiPxe() || *req.messageType() != d::MessageType::Discover) {
        return true;
    }
    const std::string key = d::macToString(client.mac);
    const auto verdict = gate_->request(key, steady, std::nullopt);
    if (verdict == boot::AdmitResult::Admitted) {
        return true;
    }
    heldTotal_.fetch_add(1, std::memory_order_relaxed);
    out.held = true;
    auto it = held_.find(key);
    if (it != held_.end()) {
        it->second.request = req;  // answer its latest DISCOVER (same xid in practice)
        it->second.interface = interface;
    } else if (held_.size() < kMaxHeld) {
        held_.emplace(key, Held{req, interface, steady});
    }
    for (auto& e : out.events) {
        if (verdict == boot::AdmitResult::QueueFull) {
            e.detail = "held: the admission queue is full, asked again at the next DISCOVER";
        } else if (auto pos = gate_->positionOf(key)) {
            e.detail = fmt::format("held: waiting to boot, {} boards ahead", *pos);
        } else {
            e.detail = "held: waiting to boot";
        }
    }
    return false;
}

Outcome DhcpResponder::handleParsed(const d::Packet& req, const std::string& interface,
                                    WallTime now, boot::SteadyClock::time_point steady,
                                    bool released) {
    Outcome out;
    if (req.op != d::Op::BootRequest) {
        return dropped(std::move(out), Drop::NotRequest);
    }
    if (req.htype != 1 || req.hlen != 6) {
        return dropped(std::move(out), Drop::NotEthernet);
    }
    const auto type = *req.messageType();
    if (!released) {
        received_[typeIndex(type)].fetch_add(1, std::memory_order_relaxed);
    }
    const ClientInfo client = identify(req);
    if (client.isPi()) {
        DhcpEvent e;
        e.kind = eventKind(type);
        e.time = now;
        e.interface = interface;
        e.mac = d::macToString(client.mac);
        e.serial = serialOf(client);
        if (client.guid) {
            e.model = client.guid->model();
            e.boardRevision = client.guid->boardRevision;
        }
        e.xid = req.xid;
        e.secs = req.secs;
        if (req.ciaddr != 0) {
            e.clientIp = d::ipToString(req.ciaddr);
        } else if (auto r = req.ipOption(d::opt::RequestedIp)) {
            e.clientIp = d::ipToString(*r);
        }
        out.events.push_back(std::move(e));
    }
    if (req.giaddr != 0 && std::find(config_.relays.begin(), config_.relays.end(), req.giaddr) ==
                               config_.relays.end()) {
        return dropped(std::move(out), Drop::UnknownRelay);
    }
    // Before admission: a board another node answers must not wait in this node's queue.
    if (!released && otherNodes(req, client)) {
        return dropped(std::move(out), Drop::OtherNode);
    }
    if (!released && !admitted(req, client, interface, steady, out)) {
        return out;
    }
    out = config_.mode == Mode::Proxy ? handleProxy(req, client, std::move(out))
                                      : handleFull(req, client, std::move(out), now);
    if (out.reply) {
        countSent(out);
        if (client.isPi()) {
            const d::Packet& rp = out.reply->packet;
            DhcpEvent e = out.events.front();
            e.kind = eventKind(*rp.messageType());
            e.proxy = config_.mode == Mode::Proxy;
            e.clientIp = rp.yiaddr != 0 ? d::ipToString(rp.yiaddr) : std::string();
            e.drop.reset();
            e.detail.clear();
            if (auto m = rp.stringOption(d::opt::Message)) {
                e.detail = std::string(*m);
            }
            if (released && gate_ != nullptr) {
                if (auto waited = gate_->waitOf(e.mac)) {
                    e.detail = fmt::format("admitted after waiting {:.1f} s",
                                           std::chrono::duration<double>(*waited).count());
                }
            }
            out.events.push_back(std::move(e));
        }
        const d::Packet& rp = out.reply->packet;
        if (gate_ != nullptr && client.isPi() && rp.yiaddr != 0 &&
            rp.messageType() == d::MessageType::Ack) {
            // Full mode: the board's files will come from this address.
            gate_->bindAddress(d::macToString(client.mac), rp.yiaddr);
        }
    }
    if (released && !out.events.empty()) {
        // The DISCOVER was reported when it arrived; only the OFFER is new.
        out.events.erase(out.events.begin());
    }
    return out;
}

void DhcpResponder::countSent(const Outcome& out) {
    if (auto t = out.reply->packet.messageType()) {
        sent_[typeIndex(*t)].fetch_add(1, std::memory_order_relaxed);
    }
}

d::Packet DhcpResponder::baseReply(const d::Packet& req, d::MessageType type) const {
    d::Packet p;
    p.op = d::Op::BootReply;
    p.htype = req.htype;
    p.hlen = req.hlen;
    p.xid = req.xid;
    p.flags = req.flags;
    p.giaddr = req.giaddr;
    p.chaddr = req.chaddr;
    p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(type));
    return p;
}

void DhcpResponder::addPiOptions(d::Packet& reply, const d::Packet& req) const {
    // Spec §3.2 / §12.1: siaddr = option 54 (proxy) = option 66 = TFTP address; 60 echoed
    // as "PXEClient"; 97 echoed; 43 = the PXE menu the bootloader matches.
    reply.siaddr = tftpIp_;
    reply.setString(d::opt::VendorClass, d::kPxeClientPrefix);
    reply.setString(d::opt::TftpServerName, d::ipToString(tftpIp_));
    if (const d::Option* g = req.find(d::opt::ClientMachineId)) {
        reply.set(d::opt::ClientMachineId, g->data);
    }
    reply.set(d::opt::VendorSpecific, option43_);
}

void DhcpResponder::addGenericPxe(d::Packet& reply) const {
    // RFC 2131 §2: siaddr = next server; file + option 67 (RFC 2132 §9.5) = boot file.
    reply.siaddr = tftpIp_;
    reply.setFile(config_.pxeBootfile);
    reply.setString(d::opt::BootfileName, config_.pxeBootfile);
}

void DhcpResponder::addAddressOptions(d::Packet& reply, bool withLease) const {
    const Ip4 mask = config_.netmask;
    if (withLease) {
        const auto lt = static_cast<std::uint32_t>(config_.pool.leaseTime.count());
        reply.setU32(d::opt::LeaseTime, lt);
        reply.setU32(d::opt::RenewalTime, lt / 2);        // RFC 2131 §4.4.5: T1 = 0.5
        reply.setU32(d::opt::RebindingTime, lt / 8 * 7);  // RFC 2131 §4.4.5: T2 = 0.875
    }
    reply.setIp(d::opt::SubnetMask, mask);
    reply.setIp(d::opt::BroadcastAddress, (config_.serverIp & mask) | ~mask);
    if (!config_.routers.empty()) {
        reply.setIps(d::opt::Router, config_.routers);
    }
    if (!config_.dnsServers.empty()) {
        reply.setIps(d::opt::DnsServers, config_.dnsServers);
    }
    if (!config_.domainName.empty()) {
        reply.setString(d::opt::DomainName, config_.domainName);
    }
}

Reply DhcpResponder::destination(const d::Packet& req, d::Packet reply) const {
    Reply r;
    const auto type = *reply.messageType();
    if (req.giaddr != 0) {
        // RFC 2131 §4.1: via the relay agent, to its server port.
        r.broadcast = false;
        r.unicastIp = req.giaddr;
        r.port = d::kServerPort;
    } else if (type != d::MessageType::Nak && req.ciaddr != 0 &&
               (*req.messageType() == d::MessageType::Inform ||
                (renewing(req) && reply.yiaddr == req.ciaddr))) {
        // RFC 2131 §4.1: a client with an address gets a unicast. Only INFORM and a
        // RENEWING/REBINDING REQUEST have one (table 5: ciaddr is 0 in DISCOVER and in
        // SELECTING and INIT-REBOOT REQUESTs), and a renewal only to the address it holds.
        r.broadcast = false;
        r.unicastIp = req.ciaddr;
    } else {
        // The client has no address yet. The Pi sends flags 0 (spec §2.1) yet needs the reply
        // by broadcast on a server without ARP injection; set the bit, as dnsmasq does.
        reply.flags |= d::kFlagBroadcast;
    }
    r.packet = std::move(reply);
    return r;
}

Outcome DhcpResponder::handleProxy(const d::Packet& req, const ClientInfo& client, Outcome out) {
    const auto type = *req.messageType();
    const bool generic = client.pxe && !client.isPi() && !config_.pxeBootfile.empty();
    if (type == d::MessageType::Request && (client.isPi() || generic)) {
        // Issue 4: a proxy never ACKs; the site server owns REQUEST/ACK. (The Pi's REQUEST
        // has no option 60, spec §2.3, so it is recognised as a Pi by OUI / option 97.)
        return dropped(std::move(out), Drop::ProxyNoAck);
    }
    if (!client.isPiPxe() && !generic) {
        return dropped(std::move(out), Drop::IgnoredClient);
    }
    if (type != d::MessageType::Discover) {
        return dropped(std::move(out), Drop::NotForUs);
    }
    d::Packet reply = baseReply(req, d::MessageType::Offer);
    // Spec §3.3: proxy offer = yiaddr 0, option 54 = the TFTP/proxy address.
    reply.yiaddr = 0;
    reply.setIp(d::opt::ServerId, tftpIp_);
    if (generic) {
        reply.setString(d::opt::VendorClass, d::kPxeClientPrefix);
        addGenericPxe(reply);
    } else {
        addPiOptions(reply, req);
    }
    out.reply = destination(req, std::move(reply));
    return out;
}

Outcome DhcpResponder::handleFull(const d::Packet& req, const ClientInfo& client, Outcome out,
                                  WallTime now) {
    const auto type = *req.messageType();
    const auto serial = client.isPi() ? serialOf(client) : std::nullopt;
    const auto requested = req.ipOption(d::opt::RequestedIp);
    const auto serverId = req.ipOption(d::opt::ServerId);
    auto decorate = [&](d::Packet& reply) {
        if (client.isPiPxe()) {
            addPiOptions(reply, req);
        } else if (client.pxe && !config_.pxeBootfile.empty()) {
            addGenericPxe(reply);
        } else if (client.pxe) {
            reply.siaddr = tftpIp_;
        }
    };
    switch (type) {
        case d::MessageType::Discover: {
            auto ip = allocator_.offer(client.mac, serial, requested, now);
            if (!ip) {
                return dropped(std::move(out), Drop::PoolExhausted);
            }
            d::Packet reply = baseReply(req, d::MessageType::Offer);
            reply.yiaddr = *ip;
            reply.setIp(d::opt::ServerId, config_.serverIp);
            addAddressOptions(reply, true);
            decorate(reply);
            out.reply = destination(req, std::move(reply));
            return out;
        }
        case d::MessageType::Request: {
            if (serverId && *serverId != config_.serverIp) {
                allocator_.forgetOffer(client.mac);  // RFC 2131 §4.3.2: it chose another server
                return dropped(std::move(out), Drop::NotForUs);
            }
            // ciaddr only means something in RENEWING/REBINDING (RFC 2131 table 5).
            const Ip4 ciaddr = renewing(req) ? req.ciaddr : 0;
            if ((requested || ciaddr != 0) && !serverId && !allocator_.knows(client.mac, serial)) {
                // INIT-REBOOT (requested address) or RENEWING/REBINDING (ciaddr) from a
                // client with no lease or reservation here. RFC 2131
                // §4.3.2 has a server without a record stay silent so that servers which
                // do not share state can coexist; a full-mode pinetboot owns its pool (an
                // authoritative server, as ISC dhcpd's `authoritative;` or dnsmasq's
                // --dhcp-authoritative), so it NAKs and the client starts over with
                // DISCOVER instead of being bound to whatever free address it named.
                d::Packet reply = baseReply(req, d::MessageType::Nak);
                reply.setIp(d::opt::ServerId, config_.serverIp);
                reply.setString(d::opt::Message, "no lease for this client");
                out.reply = destination(req, std::move(reply));
                return out;
            }
            const auto conflictsBefore = allocator_.conflicts();
            auto dec = allocator_.request(client.mac, serial, requested, ciaddr, now);
            if (allocator_.conflicts() != conflictsBefore) {
                leaseConflicts_.fetch_add(1, std::memory_order_relaxed);
            }
            if (dec.kind == LeaseAllocator::Decision::Kind::Nak) {
                d::Packet reply = baseReply(req, d::MessageType::Nak);
                reply.setIp(d::opt::ServerId, config_.serverIp);
                reply.setString(d::opt::Message, dec.reason);
                out.reply = destination(req, std::move(reply));
                return out;
            }
            d::Packet reply = baseReply(req, d::MessageType::Ack);
            reply.ciaddr = ciaddr;
            reply.yiaddr = dec.ip;
            reply.setIp(d::opt::ServerId, config_.serverIp);
            addAddressOptions(reply, true);
            decorate(reply);
            out.reply = destination(req, std::move(reply));
            return out;
        }
        case d::MessageType::Decline:
            if (requested && (!serverId || *serverId == config_.serverIp)) {
                allocator_.decline(client.mac, *requested, now);
            }
            return out;  // RFC 2131 §4.3.3: DECLINE gets no reply
        case d::MessageType::Release:
            if (!serverId || *serverId == config_.serverIp) {
                allocator_.release(client.mac, req.ciaddr);
            }
            return out;  // RFC 2131 §4.3.4: RELEASE gets no reply
        case d::MessageType::Inform: {
            // RFC 2131 §3.4: configuration only; no lease time, no yiaddr.
            d::Packet reply = baseReply(req, d::MessageType::Ack);
            reply.ciaddr = req.ciaddr;
            reply.setIp(d::opt::ServerId, config_.serverIp);
            addAddressOptions(reply, false);
            decorate(reply);
            out.reply = destination(req, std::move(reply));
            return out;
        }
        default: return dropped(std::move(out), Drop::NotForUs);
    }
}

}  // namespace pinet::core::dhcp
