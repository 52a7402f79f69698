#include "core/dhcp/dhcp_responder.h"

#include <gtest/gtest.h>

#include "lib/test_admission_gate.h"
#include "proto/dhcp/pxe.h"

namespace pinet::core::dhcp {
namespace {

namespace d = proto::dhcp;
using namespace std::chrono_literals;

constexpr Ip4 kServer = 0x0a630001;  // 10.99.0.1
const WallTime kT0 = WallTime(std::chrono::seconds(1'800'000'000));

struct Client {
    Mac mac{0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03};
    bool pxe = true;
    bool guid = true;
    char model = '4';
    bool reversed = false;
    std::uint32_t serial = 0x1234abcd;
};

d::Packet request(const Client& c, d::MessageType type) {
    d::Packet p;
    p.xid = 0x01020304;
    p.setMac(c.mac);
    p.setU8(d::opt::MessageType, static_cast<std::uint8_t>(type));
    if (c.guid) {
        d::PiGuid g;
        g.modelDigit = c.model;
        g.reversedFourcc = c.reversed;
        g.serial = c.serial;
        p.set(d::opt::ClientMachineId, d::buildPiGuid(g));
    }
    if (c.pxe) {
        p.setString(d::opt::VendorClass, d::kPiVendorClass);
    }
    return p;
}

ResponderConfig proxyConfig() {
    ResponderConfig c;
    c.mode = Mode::Proxy;
    c.serverIp = kServer;
    return c;
}

ResponderConfig fullConfig() {
    ResponderConfig c;
    c.mode = Mode::Full;
    c.serverIp = kServer;
    c.routers = {kServer};
    c.dnsServers = {kServer};
    c.domainName = "lab";
    c.pool.first = 0x0a630064;  // .100
    c.pool.last = 0x0a630066;   // .102
    return c;
}

Outcome send(DhcpResponder& r, const d::Packet& p, WallTime now = kT0) {
    return r.handle(d::serialize(p), "s0", now);
}

TEST(ProxyResponder, AnswersPxePiDiscoverWithExactOffer) {
    DhcpResponder r(proxyConfig(), nullptr);
    auto out = send(r, request(Client{}, d::MessageType::Discover));
    ASSERT_TRUE(out.reply);
    const auto& o = out.reply->packet;
    EXPECT_EQ(o.op, d::Op::BootReply);
    EXPECT_EQ(*o.messageType(), d::MessageType::Offer);
    EXPECT_EQ(o.yiaddr, 0u);
    EXPECT_EQ(o.siaddr, kServer);
    EXPECT_EQ(*o.ipOption(d::opt::ServerId), kServer);
    EXPECT_EQ(*o.stringOption(d::opt::VendorClass), "PXEClient");
    EXPECT_EQ(*o.stringOption(d::opt::TftpServerName), "10.99.0.1");
    EXPECT_EQ(o.find(d::opt::VendorSpecific)->data, d::buildPxeMenuOption("Raspberry Pi Boot"));
    EXPECT_EQ(o.find(d::opt::ClientMachineId)->data,
              request(Client{}, d::MessageType::Discover).find(d::opt::ClientMachineId)->data);
    EXPECT_EQ(o.find(d::opt::LeaseTime), nullptr);  // never an address lease
    EXPECT_TRUE(out.reply->broadcast);
    EXPECT_EQ(out.reply->port, 68);
    EXPECT_NE(o.flags & d::kFlagBroadcast, 0);
    // Events: the DISCOVER seen and the proxy OFFER sent, with serial and model.
    ASSERT_EQ(out.events.size(), 2u);
    EXPECT_EQ(out.events[0].kind, DhcpEvent::Kind::Discover);
    EXPECT_EQ(out.events[0].serial, "1234abcd");
    EXPECT_EQ(out.events[0].model, "RPi4");
    EXPECT_EQ(out.events[0].mac, "dc:a6:32:01:02:03");
    EXPECT_EQ(out.events[1].kind, DhcpEvent::Kind::Offer);
    EXPECT_TRUE(out.events[1].proxy);
    EXPECT_FALSE(out.events[0].drop);  // answered: neither event is a drop
    EXPECT_FALSE(out.events[1].drop);
}

// The proxy decision table: which DISCOVERs get an offer.
TEST(ProxyResponder, DecisionTable) {
    struct Row {
        const char* name;
        Client client;
        bool bootfileConfigured;
        bool answered;
    };
    Client piNoGuid;
    piNoGuid.guid = false;  // Pi OUI + PXEClient, option 97 in another layout
    Client guidOtherMac;
    guidOtherMac.mac = {0x02, 0, 0, 0, 0, 1};  // unknown MAC, RPi4 GUID
    Client pi5Reversed;
    pi5Reversed.mac = {0x02, 0, 0, 0, 0, 2};
    pi5Reversed.model = '5';
    pi5Reversed.reversed = true;
    Client piNotPxe;
    piNotPxe.pxe = false;  // kernel ip=dhcp from a Pi
    piNotPxe.guid = false;
    Client x86Pxe;
    x86Pxe.mac = {0x52, 0x54, 0x00, 0x99, 0x00, 0x10};
    x86Pxe.guid = false;
    Client plain;
    plain.mac = {0x52, 0x54, 0x00, 0x99, 0x00, 0x11};
    plain.guid = false;
    plain.pxe = false;
    Client pi5Oui;
    pi5Oui.mac = {0x2c, 0xcf, 0x67, 0, 0, 1};
    pi5Oui.guid = false;
    const Row rows[] = {
        {"pi pxe + guid", Client{}, false, true},
        {"pi oui + pxe, no guid", piNoGuid, false, true},
        {"pi5 oui + pxe", pi5Oui, false, true},
        {"guid RPi4 + pxe, other mac", guidOtherMac, false, true},
        {"guid 5iPR reversed", pi5Reversed, false, true},
        {"pi without PXEClient", piNotPxe, false, false},
        {"x86 pxe, no bootfile", x86Pxe, false, false},
        {"x86 pxe, bootfile configured", x86Pxe, true, true},
        {"plain client", plain, true, false},
    };
    for (const auto& row : rows) {
        auto cfg = proxyConfig();
        if (row.bootfileConfigured) {
            cfg.pxeBootfile = "boot.ipxe";
        }
        DhcpResponder r(cfg, nullptr);
        auto out = send(r, request(row.client, d::MessageType::Discover));
        EXPECT_EQ(out.reply.has_value(), row.answered) << row.name;
        if (!row.answered) {
            EXPECT_EQ(out.drop, Drop::IgnoredClient) << row.name;
        }
    }
}

TEST(ProxyResponder, PiThatIsNotPxeBootingIsReportedAsIgnored) {
    // A Pi by OUI whose OS runs DHCP itself (no PXEClient): reported, with its drop.
    DhcpResponder r(proxyConfig(), nullptr);
    Client os;
    os.pxe = false;
    os.guid = false;
    auto out = send(r, request(os, d::MessageType::Discover));
    EXPECT_FALSE(out.reply);
    ASSERT_EQ(out.events.size(), 1u);
    EXPECT_EQ(out.events[0].kind, DhcpEvent::Kind::Discover);
    EXPECT_EQ(out.events[0].drop, Drop::IgnoredClient);
    EXPECT_EQ(r.counters().dropped[static_cast<std::size_t>(Drop::IgnoredClient)], 1u);
}

TEST(Drop, ParseErrorsMapOneToOneAndNamesAreSnakeCase) {
    for (std::size_t i = 0; i < d::kParseErrorCount; ++i) {
        const auto drop = fromParseError(static_cast<d::ParseError>(i));
        EXPECT_EQ(static_cast<std::size_t>(drop), i);
        EXPECT_TRUE(isMalformed(drop));
    }
    EXPECT_EQ(fromParseError(d::ParseError::NoMessageType), Drop::NoMessageType);
    EXPECT_FALSE(isMalformed(Drop::IgnoredClient));
    for (std::size_t i = 0; i < kDropCount; ++i) {
        const std::string name = toString(static_cast<Drop>(i));
        EXPECT_NE(name, "unknown");
        EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    }
    EXPECT_STREQ(toString(Drop::IgnoredClient), "ignored_client");
}

TEST(ProxyResponder, GenericPxeGetsBootfileAndNextServer) {
    auto cfg = proxyConfig();
    cfg.pxeBootfile = "boot.ipxe";
    DhcpResponder r(cfg, nullptr);
    Client x86;
    x86.mac = {0x52, 0x54, 0, 0x99, 0, 0x10};
    x86.guid = false;
    auto out = send(r, request(x86, d::MessageType::Discover));
    ASSERT_TRUE(out.reply);
    EXPECT_EQ(*out.reply->packet.stringOption(d::opt::BootfileName), "boot.ipxe");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.reply->packet.file.data())),
              "boot.ipxe");
    EXPECT_EQ(out.reply->packet.siaddr, kServer);
    EXPECT_EQ(out.reply->packet.find(d::opt::VendorSpecific), nullptr);
    EXPECT_TRUE(out.events.empty());  // not a Pi: no boot events
}

TEST(ProxyResponder, NeverAcksAndCountsDrops) {
    DhcpResponder r(proxyConfig(), nullptr);
    auto out = send(r, request(Client{}, d::MessageType::Request));
    EXPECT_FALSE(out.reply);
    EXPECT_EQ(out.drop, Drop::ProxyNoAck);
    ASSERT_EQ(out.events.size(), 1u);  // the Pi's REQUEST is still reported
    EXPECT_EQ(out.events[0].kind, DhcpEvent::Kind::Request);
    EXPECT_EQ(out.events[0].drop, Drop::ProxyNoAck);  // as a value, not only as text
    EXPECT_EQ(out.events[0].detail, "no reply: proxy_no_ack");

    const std::vector<std::uint8_t> junk(10, 0);
    EXPECT_EQ(r.handle(junk, "s0", kT0).drop, Drop::Truncated);
    auto c = r.counters();
    EXPECT_EQ(c.received[2], 1u);
    EXPECT_EQ(c.dropped[static_cast<std::size_t>(Drop::ProxyNoAck)], 1u);
    EXPECT_EQ(c.malformed(), 1u);
}

TEST(ProxyResponder, OfferFromAnotherServerIsNotARequest) {
    DhcpResponder r(proxyConfig(), nullptr);
    auto p = request(Client{}, d::MessageType::Offer);
    p.op = d::Op::BootReply;
    EXPECT_EQ(send(r, p).drop, Drop::NotRequest);
}

TEST(FullResponder, DiscoverRequestAckWithOptions) {
    DhcpResponder r(fullConfig(), nullptr);
    Client pi;
    auto offer = send(r, request(pi, d::MessageType::Discover));
    ASSERT_TRUE(offer.reply);
    const auto& o = offer.reply->packet;
    EXPECT_EQ(o.yiaddr, 0x0a630064u);
    EXPECT_EQ(*o.ipOption(d::opt::SubnetMask), 0xffffff00u);
    EXPECT_EQ(*o.ipOption(d::opt::Router), kServer);
    EXPECT_EQ(*o.ipOption(d::opt::DnsServers), kServer);
    EXPECT_EQ(*o.stringOption(d::opt::DomainName), "lab");
    EXPECT_EQ(*o.ipOption(d::opt::BroadcastAddress), 0x0a6300ffu);
    EXPECT_NE(o.find(d::opt::LeaseTime), nullptr);
    EXPECT_NE(o.find(d::opt::VendorSpecific), nullptr);  // Pi: PXE set too

    // The Pi's REQUEST omits option 60 (spec §2.3): still ACKed.
    Client noVendor = pi;
    noVendor.pxe = false;
    auto req = request(noVendor, d::MessageType::Request);
    req.setIp(d::opt::RequestedIp, o.yiaddr);
    req.setIp(d::opt::ServerId, kServer);
    auto ack = send(r, req);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(*ack.reply->packet.messageType(), d::MessageType::Ack);
    EXPECT_EQ(ack.reply->packet.yiaddr, 0x0a630064u);
    EXPECT_TRUE(promisesLease(*ack.reply));  // leaves only once its lease is committed
    ASSERT_EQ(ack.events.size(), 2u);
    EXPECT_EQ(ack.events[1].kind, DhcpEvent::Kind::Ack);
    EXPECT_EQ(ack.events[1].clientIp, "10.99.0.100");
    EXPECT_EQ(ack.events[1].serial, "1234abcd");  // remembered from the DISCOVER's option 97
}

TEST(FullResponder, WrongAddressIsNakedAndOtherServerIgnored) {
    DhcpResponder r(fullConfig(), nullptr);
    Client c;
    auto req = request(c, d::MessageType::Request);
    req.setIp(d::opt::RequestedIp, 0x0a6300c8);  // .200: outside the pool
    auto nak = send(r, req);
    ASSERT_TRUE(nak.reply);
    EXPECT_EQ(*nak.reply->packet.messageType(), d::MessageType::Nak);
    EXPECT_EQ(nak.reply->packet.yiaddr, 0u);
    EXPECT_FALSE(promisesLease(*nak.reply));
    EXPECT_TRUE(nak.reply->broadcast);

    req.setIp(d::opt::ServerId, 0x0a630009);  // chose another server
    auto other = send(r, req);
    EXPECT_FALSE(other.reply);
    EXPECT_EQ(other.drop, Drop::NotForUs);
}

TEST(FullResponder, InformGetsConfigurationByUnicast) {
    DhcpResponder r(fullConfig(), nullptr);
    Client c;
    c.guid = false;
    c.pxe = false;
    auto p = request(c, d::MessageType::Inform);
    p.ciaddr = 0x0a630005;
    auto out = send(r, p);
    ASSERT_TRUE(out.reply);
    EXPECT_EQ(*out.reply->packet.messageType(), d::MessageType::Ack);
    EXPECT_EQ(out.reply->packet.yiaddr, 0u);
    EXPECT_EQ(out.reply->packet.find(d::opt::LeaseTime), nullptr);
    EXPECT_FALSE(promisesLease(*out.reply));  // an INFORM's ACK holds no lease
    EXPECT_FALSE(out.reply->broadcast);
    EXPECT_EQ(out.reply->unicastIp, 0x0a630005u);
}

TEST(FullResponder, RelayedRequestGoesBackToTheRelay) {
    auto cfg = fullConfig();
    cfg.relays = {0x0a630002};
    DhcpResponder r(cfg, nullptr);
    auto p = request(Client{}, d::MessageType::Discover);
    p.giaddr = 0x0a630002;
    p.hops = 1;
    auto out = send(r, p);
    ASSERT_TRUE(out.reply);
    EXPECT_FALSE(out.reply->broadcast);
    EXPECT_EQ(out.reply->unicastIp, 0x0a630002u);
    EXPECT_EQ(out.reply->port, 67);
}

// Regression (issue #13 item 10): a reply went to any giaddr a packet named, so a
// forged "relayed" DISCOVER sent our OFFER (and took a pool address) anywhere.
TEST(FullResponder, GiaddrOnlyFromConfiguredRelays) {
    auto cfg = fullConfig();
    cfg.relays = {0x0a630002};
    DhcpResponder r(cfg, nullptr);
    auto p = request(Client{}, d::MessageType::Discover);
    p.giaddr = 0xc0000201;  // 192.0.2.1: not a relay of ours
    p.hops = 1;
    auto out = send(r, p);
    EXPECT_FALSE(out.reply);
    EXPECT_EQ(out.drop, Drop::UnknownRelay);
    EXPECT_EQ(r.counters().dropped[static_cast<std::size_t>(Drop::UnknownRelay)], 1u);
    EXPECT_STREQ(toString(Drop::UnknownRelay), "unknown_relay");
    ASSERT_EQ(out.events.size(), 1u);  // the Pi's DISCOVER, unanswered, with the reason
    EXPECT_EQ(out.events[0].drop, Drop::UnknownRelay);
    EXPECT_EQ(r.allocator().boundCount(), 0u);
    // No relays configured: nothing relayed is answered, in either mode.
    DhcpResponder none(fullConfig(), nullptr);
    p.giaddr = 0x0a630002;
    EXPECT_EQ(send(none, p).drop, Drop::UnknownRelay);
    DhcpResponder proxy(proxyConfig(), nullptr);
    EXPECT_EQ(send(proxy, p).drop, Drop::UnknownRelay);
}

// Regression (issue #13 item 10): replies were unicast to any ciaddr. RFC 2131 table 5:
// ciaddr is 0 in DISCOVER and in SELECTING / INIT-REBOOT REQUESTs, so there it is ignored.
TEST(FullResponder, CiaddrIsIgnoredWhereTheRfcSaysItIsZero) {
    DhcpResponder r(fullConfig(), nullptr);
    Client c;
    auto disc = request(c, d::MessageType::Discover);
    disc.ciaddr = 0xc0000201;  // a victim elsewhere
    auto offer = send(r, disc);
    ASSERT_TRUE(offer.reply);
    EXPECT_TRUE(offer.reply->broadcast);
    EXPECT_EQ(offer.reply->unicastIp, 0u);

    auto sel = request(c, d::MessageType::Request);  // SELECTING
    sel.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    sel.setIp(d::opt::ServerId, kServer);
    sel.ciaddr = 0xc0000201;
    auto ack = send(r, sel);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(*ack.reply->packet.messageType(), d::MessageType::Ack);
    EXPECT_TRUE(ack.reply->broadcast);
    EXPECT_EQ(ack.reply->packet.ciaddr, 0u);

    // RENEWING: ciaddr is the client's lease, and the ACK goes there.
    auto renew = request(c, d::MessageType::Request);
    renew.ciaddr = offer.reply->packet.yiaddr;
    auto renewed = send(r, renew);
    ASSERT_TRUE(renewed.reply);
    EXPECT_EQ(*renewed.reply->packet.messageType(), d::MessageType::Ack);
    EXPECT_FALSE(renewed.reply->broadcast);
    EXPECT_EQ(renewed.reply->unicastIp, offer.reply->packet.yiaddr);
}

// Regression (issue #13 item 10): a REQUEST in INIT-REBOOT (requested address, no
// server identifier) from a MAC with no lease here was bound to the address it named.
TEST(FullResponder, InitRebootFromAnUnknownClientIsNaked) {
    DhcpResponder r(fullConfig(), nullptr);
    Client stranger;
    stranger.mac = {0x02, 0, 0, 0, 0, 0x42};
    stranger.guid = false;
    auto req = request(stranger, d::MessageType::Request);
    req.setIp(d::opt::RequestedIp, 0x0a630065);  // .101: free, inside the pool
    auto out = send(r, req);
    ASSERT_TRUE(out.reply);
    EXPECT_EQ(*out.reply->packet.messageType(), d::MessageType::Nak);
    EXPECT_EQ(*out.reply->packet.stringOption(d::opt::Message), "no lease for this client");
    EXPECT_TRUE(out.reply->broadcast);
    EXPECT_EQ(r.allocator().boundCount(), 0u);
    EXPECT_FALSE(r.allocator().leaseOf(stranger.mac));

    // A client that holds a lease here reboots into it (INIT-REBOOT is ACKed).
    auto offer = send(r, request(stranger, d::MessageType::Discover));
    ASSERT_TRUE(offer.reply);
    auto sel = request(stranger, d::MessageType::Request);
    sel.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    sel.setIp(d::opt::ServerId, kServer);
    ASSERT_EQ(*send(r, sel).reply->packet.messageType(), d::MessageType::Ack);
    auto reboot = request(stranger, d::MessageType::Request);
    reboot.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    EXPECT_EQ(*send(r, reboot).reply->packet.messageType(), d::MessageType::Ack);

    // A reservation makes a client known too.
    auto cfg = fullConfig();
    Reservation res;
    res.mac = Mac{0x02, 0, 0, 0, 0, 0x43};
    res.ip = 0x0a630066;
    cfg.pool.reservations = {res};
    DhcpResponder withRes(cfg, nullptr);
    Client reserved;
    reserved.mac = *res.mac;
    reserved.guid = false;
    auto rr = request(reserved, d::MessageType::Request);
    rr.setIp(d::opt::RequestedIp, res.ip);
    EXPECT_EQ(*send(withRes, rr).reply->packet.messageType(), d::MessageType::Ack);
}

// A RENEWING REQUEST (ciaddr set, no server identifier, no requested address) from a
// client with no lease here is NAKed too: it would otherwise be bound to the address it
// names; a client that holds the lease renews it.
TEST(FullResponder, RenewalFromAnUnknownClientIsNaked) {
    DhcpResponder r(fullConfig(), nullptr);
    Client stranger;
    stranger.mac = {0x02, 0, 0, 0, 0, 0x44};
    stranger.guid = false;
    auto renew = request(stranger, d::MessageType::Request);
    renew.ciaddr = 0x0a630067;
    auto out = send(r, renew);
    ASSERT_TRUE(out.reply);
    EXPECT_EQ(*out.reply->packet.messageType(), d::MessageType::Nak);
    EXPECT_FALSE(r.allocator().leaseOf(stranger.mac));

    auto offer = send(r, request(stranger, d::MessageType::Discover));
    ASSERT_TRUE(offer.reply);
    auto sel = request(stranger, d::MessageType::Request);
    sel.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    sel.setIp(d::opt::ServerId, kServer);
    ASSERT_EQ(*send(r, sel).reply->packet.messageType(), d::MessageType::Ack);
    auto again = request(stranger, d::MessageType::Request);
    again.ciaddr = offer.reply->packet.yiaddr;
    auto ack = send(r, again);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(*ack.reply->packet.messageType(), d::MessageType::Ack);
    EXPECT_EQ(ack.reply->packet.yiaddr, offer.reply->packet.yiaddr);
}

TEST(FullResponder, PoolExhaustion) {
    DhcpResponder r(fullConfig(), nullptr);
    for (std::uint8_t i = 0; i < 3; ++i) {
        Client c;
        c.mac = {0x02, 0, 0, 0, 0, i};
        c.guid = false;
        EXPECT_TRUE(send(r, request(c, d::MessageType::Discover)).reply);
    }
    Client c;
    c.mac = {0x02, 0, 0, 0, 0, 9};
    c.guid = false;
    EXPECT_EQ(send(r, request(c, d::MessageType::Discover)).drop, Drop::PoolExhausted);
    // Offer holds run out after 60 s: the address becomes free again.
    r.tick(kT0 + 61s);
    EXPECT_TRUE(send(r, request(c, d::MessageType::Discover), kT0 + 61s).reply);
}

// Several nodes (issue #19): a node answers only the buckets it owns.
class FixedShare : public LoadShare {
public:
    explicit FixedShare(BucketSet owned, AddressShare share = {}) : owned_(owned), share_(share) {}
    bool owns(std::uint8_t bucket) const override { return owned_.test(bucket); }
    AddressShare addressShare() const override { return share_; }

private:
    BucketSet owned_;
    AddressShare share_;
};

TEST(NodeShare, ABoardOfAnotherNodesBucketIsDroppedAndCounted) {
    const Client pi;
    BucketSet none;
    FixedShare other(none);
    DhcpResponder full(fullConfig(), nullptr);
    full.setLoadShare(&other);
    auto out = send(full, request(pi, d::MessageType::Discover));
    EXPECT_FALSE(out.reply);
    ASSERT_TRUE(out.drop);
    EXPECT_EQ(*out.drop, Drop::OtherNode);
    EXPECT_STREQ(toString(Drop::OtherNode), "other_node");
    EXPECT_FALSE(isMalformed(Drop::OtherNode));
    EXPECT_EQ(full.counters().dropped[static_cast<std::size_t>(Drop::OtherNode)], 1u);
    // Proxy mode: the PXE answer too.
    DhcpResponder proxy(proxyConfig(), nullptr);
    proxy.setLoadShare(&other);
    EXPECT_EQ(send(proxy, request(pi, d::MessageType::Discover)).drop, Drop::OtherNode);
    // Its own bucket: answered.
    BucketSet mine;
    mine.set(bucketOf(pi.mac));
    FixedShare own(mine);
    DhcpResponder answering(fullConfig(), nullptr);
    answering.setLoadShare(&own);
    EXPECT_TRUE(send(answering, request(pi, d::MessageType::Discover)).reply);
}

TEST(NodeShare, ReservedBoardsAreAnsweredByEveryNode) {
    Client pi;
    auto cfg = fullConfig();
    cfg.pool.reservations.push_back({std::nullopt, std::string("1234abcd"), 0x0a630080});
    FixedShare other{BucketSet{}};
    DhcpResponder r(cfg, nullptr);
    r.setLoadShare(&other);
    auto offer = send(r, request(pi, d::MessageType::Discover));
    ASSERT_TRUE(offer.reply);
    EXPECT_EQ(offer.reply->packet.yiaddr, 0x0a630080u);
    // Another board of that bucket without a reservation: not this node's.
    Client other2 = pi;
    other2.serial = 0x5678;
    EXPECT_EQ(send(r, request(other2, d::MessageType::Discover)).drop, Drop::OtherNode);
}

TEST(NodeShare, ARequestToThisServerIsFinishedEvenIfTheBucketMoved) {
    Client pi;
    struct Moving : LoadShare {
        bool mine = true;
        bool owns(std::uint8_t) const override { return mine; }
        AddressShare addressShare() const override { return {}; }
    } share;
    DhcpResponder r(fullConfig(), nullptr);
    r.setLoadShare(&share);
    auto offer = send(r, request(pi, d::MessageType::Discover));
    ASSERT_TRUE(offer.reply);
    share.mine = false;  // another node rejoined between OFFER and REQUEST
    Client noVendor = pi;
    noVendor.pxe = false;
    auto req = request(noVendor, d::MessageType::Request);
    req.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    req.setIp(d::opt::ServerId, kServer);
    auto ack = send(r, req);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(*ack.reply->packet.messageType(), d::MessageType::Ack);
    // Its INIT-REBOOT later (no server id): the lease is bound here, so answered too.
    auto reboot = request(noVendor, d::MessageType::Request);
    reboot.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    auto again = send(r, reboot);
    ASSERT_TRUE(again.reply);
    EXPECT_EQ(*again.reply->packet.messageType(), d::MessageType::Ack);
    // A new DISCOVER of that board: the owner's.
    EXPECT_EQ(send(r, request(pi, d::MessageType::Discover)).drop, Drop::OtherNode);
}

}  // namespace
}  // namespace pinet::core::dhcp
