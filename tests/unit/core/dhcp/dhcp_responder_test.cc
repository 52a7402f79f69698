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

}  // namespace
}  // namespace pinet::core::dhcp

namespace pinet::core::dhcp {
namespace {

using TestGate = test::TestAdmissionGate;

// Room for exactly one board: 1 MB/s x 12 s = 12 MB, plan 10 MB.
boot::AdmissionConfig oneBoard() {
    boot::AdmissionConfig c;
    c.floorThroughput = 1'000'000;
    c.initialPlanBytes = 10'000'000;
    return c;
}

Client piNumber(std::uint8_t n) {
    Client c;
    c.mac[5] = n;
    c.serial = 0x1234ab00u + n;
    return c;
}

const boot::SteadyClock::time_point kS0 = boot::SteadyClock::time_point{} + 5000s;

}  // namespace

TEST(ResponderAdmission, AHeldDiscoverGetsItsOfferWhenTheBoardIsLetIn) {
    for (const Mode mode : {Mode::Proxy, Mode::Full}) {
        SCOPED_TRACE(toString(mode));
        TestGate gate(oneBoard());
        DhcpResponder r(mode == Mode::Proxy ? proxyConfig() : fullConfig(), nullptr);
        r.setAdmissionGate(&gate);
        const auto a =
            r.handle(d::serialize(request(piNumber(1), d::MessageType::Discover)), "s0", kT0, kS0);
        ASSERT_TRUE(a.reply);  // the first board: straight in
        const auto b =
            r.handle(d::serialize(request(piNumber(2), d::MessageType::Discover)), "s0", kT0, kS0);
        EXPECT_FALSE(b.reply);
        EXPECT_TRUE(b.held);
        EXPECT_FALSE(b.drop);
        ASSERT_EQ(b.events.size(), 1u);
        EXPECT_EQ(b.events[0].detail, "held: waiting to boot, 0 boards ahead");
        EXPECT_EQ(r.heldCount(), 1u);
        EXPECT_EQ(r.counters().held, 1u);
        // Nothing is released while the first board has not finished.
        EXPECT_TRUE(r.releaseHeld(kT0 + 1s, kS0 + 1s).empty());
        // Board 1 fetches its files (to its address) and goes quiet: board 2's OFFER leaves.
        const std::uint32_t addr1 = mode == Mode::Full ? 0x0a630064u : 0x0a630032u;
        gate.controller.onDelivered(addr1, 10'000'000, kS0 + 1s);
        const auto released = r.releaseHeld(kT0 + 5s, kS0 + 5s);
        ASSERT_EQ(released.size(), 1u);
        ASSERT_TRUE(released[0].reply);
        const auto& offer = released[0].reply->packet;
        EXPECT_EQ(*offer.messageType(), d::MessageType::Offer);
        EXPECT_EQ(offer.chaddr[5], 2);
        EXPECT_NE(offer.find(d::opt::VendorSpecific), nullptr);  // the PXE options
        ASSERT_EQ(released[0].events.size(), 1u);                // only the OFFER is new
        EXPECT_EQ(released[0].events[0].kind, DhcpEvent::Kind::Offer);
        EXPECT_EQ(released[0].events[0].detail, "admitted after waiting 5.0 s");
        EXPECT_EQ(r.heldCount(), 0u);
        // Its DISCOVER was counted once, when it arrived.
        EXPECT_EQ(r.counters().received[0], 2u);
        EXPECT_EQ(r.counters().sent[1], 2u);
    }
}

TEST(ResponderAdmission, OnlyPiBootloaderDiscoversAreGated) {
    TestGate gate(oneBoard());
    DhcpResponder r(fullConfig(), nullptr);
    r.setAdmissionGate(&gate);
    ASSERT_TRUE(
        r.handle(d::serialize(request(piNumber(1), d::MessageType::Discover)), "s0", kT0, kS0)
            .reply);
    // Linux's own ip=dhcp on a Pi (no PXE option) and a PC pass at once.
    Client linux = piNumber(2);
    linux.pxe = false;
    linux.guid = false;
    EXPECT_TRUE(
        r.handle(d::serialize(request(linux, d::MessageType::Discover)), "s0", kT0, kS0).reply);
    Client pc;
    pc.mac = {0x52, 0x54, 0x00, 0, 0, 9};
    pc.pxe = false;
    pc.guid = false;
    EXPECT_TRUE(
        r.handle(d::serialize(request(pc, d::MessageType::Discover)), "s0", kT0, kS0).reply);
    EXPECT_EQ(gate.requests, 1);
}

TEST(ResponderAdmission, FullModeTellsTheGateTheBoardsAddress) {
    TestGate gate(oneBoard());
    DhcpResponder r(fullConfig(), nullptr);
    r.setAdmissionGate(&gate);
    const Client pi = piNumber(1);
    const auto offer =
        r.handle(d::serialize(request(pi, d::MessageType::Discover)), "s0", kT0, kS0);
    ASSERT_TRUE(offer.reply);
    auto req = request(pi, d::MessageType::Request);
    req.setIp(d::opt::RequestedIp, offer.reply->packet.yiaddr);
    req.setIp(d::opt::ServerId, kServer);
    ASSERT_TRUE(r.handle(d::serialize(req), "s0", kT0, kS0).reply);
    ASSERT_EQ(gate.bound.size(), 1u);
    EXPECT_EQ(gate.bound[0].first, "dc:a6:32:01:02:01");
    EXPECT_EQ(gate.bound[0].second, offer.reply->packet.yiaddr);
}

TEST(ResponderAdmission, AReleasedBoardWhoseDiscoverIsTooOldIsAnsweredAtItsNextOne) {
    TestGate gate(oneBoard());
    DhcpResponder r(proxyConfig(), nullptr);
    r.setAdmissionGate(&gate);
    (void)r.handle(d::serialize(request(piNumber(1), d::MessageType::Discover)), "s0", kT0, kS0);
    EXPECT_TRUE(
        r.handle(d::serialize(request(piNumber(2), d::MessageType::Discover)), "s0", kT0, kS0)
            .held);
    // Board 1 never fetches: a no-show after 10 s. Board 2 stopped asking long ago, so it was
    // forgotten (20 s) and its stored DISCOVER is stale: nothing is sent for it.
    const auto late = r.releaseHeld(kT0 + 60s, kS0 + 60s);
    EXPECT_TRUE(late.empty());
    // When it asks again, it is let in.
    EXPECT_TRUE(r.handle(d::serialize(request(piNumber(2), d::MessageType::Discover)), "s0",
                         kT0 + 61s, kS0 + 61s)
                    .reply);
}

}  // namespace pinet::core::dhcp
