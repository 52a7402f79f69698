#include "core/boot/boot_tracker.h"

#include <gtest/gtest.h>

using namespace pinet::core;
using namespace pinet::core::boot;
using namespace std::chrono_literals;

namespace {

const WallTime t0 = WallTime{} + 1'000'000s;

DhcpEvent dhcpEv(DhcpEvent::Kind kind, std::chrono::milliseconds at, std::string ip = "") {
    DhcpEvent e;
    e.kind = kind;
    e.time = t0 + at;
    e.interface = "s0";
    e.mac = "DC:A6:32:01:02:03";
    e.serial = "d9780558";
    e.model = "RPi4";
    e.clientIp = std::move(ip);
    return e;
}

TransferRecord file(std::string path, TransferRecord::Result result, std::chrono::milliseconds at,
                    std::optional<std::string> serial = std::nullopt,
                    std::string addr = "10.0.0.50:40000") {
    TransferRecord r;
    r.result = result;
    r.start = t0 + at;
    r.duration = 20ms;
    r.clientAddr = std::move(addr);
    r.requestedPath = (serial ? *serial + "/" : std::string()) + path;
    r.serial = std::move(serial);
    r.bytes = result == TransferRecord::Result::Ok ? 1000 : 0;
    r.fileSize = 1000;
    return r;
}

using R = TransferRecord::Result;
using K = DhcpEvent::Kind;

}  // namespace

TEST(BootTracker, FullPi4BootEndsWithKernelLoaded) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(dhcpEv(K::Offer, 10ms, "10.0.0.50"));
    t.onEvent(dhcpEv(K::Request, 1000ms));
    t.onEvent(dhcpEv(K::Ack, 1010ms, "10.0.0.50"));
    t.onEvent(file("start4.elf", R::SizeQuery, 1100ms, "d9780558"));
    t.onEvent(file("config.txt", R::Ok, 1200ms, "d9780558"));
    t.onEvent(file("start4.elf", R::Ok, 1300ms));  // no prefix: found by IP
    t.onEvent(file("fixup4.dat", R::Ok, 1400ms));
    t.onEvent(file("pieeprom.sig", R::NotFound, 1450ms));  // optional: not an error
    const auto ups = t.onEvent(file("kernel8.img", R::Ok, 2000ms));
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_TRUE(ups[0].bootEnded);
    EXPECT_EQ(ups[0].outcome, BootOutcome::KernelLoaded);
    EXPECT_EQ(ups[0].duration, 2020ms);
    t.onEvent(file("initramfs8", R::Ok, 2100ms));  // still this boot

    const auto clients = t.clients();
    ASSERT_EQ(clients.size(), 1u);
    const auto& c = *clients[0];
    EXPECT_EQ(c.key, "d9780558");
    EXPECT_EQ(c.mac, "dc:a6:32:01:02:03");
    EXPECT_EQ(c.model, "RPi4");
    EXPECT_EQ(c.ip, "10.0.0.50");
    ASSERT_EQ(c.boots.size(), 1u);
    const auto& b = c.boots[0];
    EXPECT_EQ(b.dhcp.size(), 4u);
    EXPECT_EQ(b.files.size(), 7u);
    EXPECT_EQ(b.outcome, BootOutcome::KernelLoaded);
    EXPECT_EQ(b.kernelFile, "kernel8.img");
    EXPECT_EQ(t.findClient("DC-A6-32-01-02-03"), &c);
    EXPECT_EQ(t.findClient("10.0.0.50"), &c);
    EXPECT_TRUE(t.tick(t0 + 1h).empty());  // finished boots are not timed out
}

TEST(BootTracker, MissingStart4ElfFailsWithReasonOnRestart) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(dhcpEv(K::Ack, 10ms, "10.0.0.50"));
    t.onEvent(file("start4.elf", R::NotFound, 100ms, "d9780558"));
    t.onEvent(file("config.txt", R::Ok, 200ms));
    t.onEvent(file("start4.elf", R::NotFound, 300ms));
    t.onEvent(file("start.elf", R::NotFound, 400ms));
    const auto ups = t.onEvent(dhcpEv(K::Discover, 5000ms));  // the Pi starts over
    ASSERT_EQ(ups.size(), 3u);
    EXPECT_TRUE(ups[0].bootEnded);
    EXPECT_EQ(ups[0].outcome, BootOutcome::Failed);
    EXPECT_EQ(ups[0].failure, "start4.elf not found");
    EXPECT_TRUE(ups[1].bootStarted);
    EXPECT_EQ(t.client("d9780558")->boots.size(), 2u);
}

TEST(BootTracker, PrefixMissThenRootHitIsNotAFailure) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(file("start4.elf", R::NotFound, 100ms, "d9780558"));
    t.onEvent(file("start4.elf", R::Ok, 200ms));
    t.onEvent(file("cmdline.txt", R::Ok, 300ms));
    const auto ups = t.tick(t0 + 300ms + 61s);
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_EQ(ups[0].outcome, BootOutcome::Failed);
    EXPECT_EQ(ups[0].failure, "stopped after cmdline.txt (no activity for 60 s)");
}

TEST(BootTracker, TimeoutAndDhcpOnlyReasons) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(dhcpEv(K::Offer, 5ms, "10.0.0.50"));
    EXPECT_TRUE(t.tick(t0 + 59s).empty());
    auto ups = t.tick(t0 + 61s);
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_EQ(ups[0].failure, "no TFTP/HTTP request after DHCP");

    t.onEvent(dhcpEv(K::Discover, 100s));
    t.onEvent(file("kernel8.img", R::Timeout, 101s, "d9780558"));
    ups = t.tick(t0 + 200s);
    ASSERT_EQ(ups.size(), 1u);
    EXPECT_EQ(ups[0].failure, "timeout fetching kernel8.img");
}

TEST(BootTracker, KernelDhcpJoinsTheBootAndLaterTransferStartsANewOne) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(file("kernel8.img", R::Ok, 1s, "d9780558"));
    auto linux = dhcpEv(K::Discover, 20s);  // Linux ip=dhcp: no option 97, no model
    linux.model.reset();
    t.onEvent(linux);
    ASSERT_EQ(t.client("d9780558")->boots.size(), 1u);
    EXPECT_EQ(t.client("d9780558")->boots[0].dhcp.size(), 2u);
    const auto ups = t.onEvent(file("config.txt", R::Ok, 400s, "d9780558"));
    EXPECT_TRUE(ups[0].bootStarted);
    EXPECT_EQ(t.client("d9780558")->boots.size(), 2u);
    // A bootloader DISCOVER (model from option 97) right after a kernel is a new boot.
    t.onEvent(file("kernel8.img", R::Ok, 401s, "d9780558"));
    const auto again = t.onEvent(dhcpEv(K::Discover, 410s));
    ASSERT_FALSE(again.empty());
    EXPECT_TRUE(again[0].bootStarted);
    EXPECT_EQ(t.client("d9780558")->boots.size(), 3u);
}

TEST(BootTracker, HistoryIsBoundedPerClient) {
    TrackerOptions o;
    o.historyPerClient = 3;
    BootTracker t(o);
    for (int i = 0; i < 10; ++i) {
        t.onEvent(dhcpEv(K::Discover, std::chrono::seconds(i * 1000)));
        t.onEvent(file("kernel8.img", R::Ok, std::chrono::seconds(i * 1000 + 1), "d9780558"));
    }
    const auto* c = t.client("d9780558");
    ASSERT_EQ(c->boots.size(), 3u);
    EXPECT_EQ(c->boots.front().id, 8u);  // boots are ids 1..10; oldest kept is 8
    EXPECT_EQ(t.recentBoots(100).size(), 3u);
    EXPECT_EQ(t.recentBoots(2).size(), 2u);
    EXPECT_EQ(t.recentBoots(1)[0]->id, c->boots.back().id);
}

TEST(BootTracker, MacKeyedClientIsReKeyedWhenSerialAppears) {
    BootTracker t;
    auto e = dhcpEv(K::Discover, 0ms);
    e.serial.reset();
    t.onEvent(e);
    EXPECT_NE(t.client("dc:a6:32:01:02:03"), nullptr);
    t.onEvent(dhcpEv(K::Offer, 10ms, "10.0.0.50"));
    EXPECT_EQ(t.client("dc:a6:32:01:02:03"), nullptr);
    ASSERT_NE(t.client("d9780558"), nullptr);
    EXPECT_EQ(t.client("d9780558")->boots.size(), 1u);
    EXPECT_EQ(t.client("d9780558")->boots[0].dhcp.size(), 2u);
}

TEST(BootTracker, DroppedPacketsFromStrangersCreateNothing) {
    BootTracker t;
    auto e = dhcpEv(K::Discover, 0ms);
    e.mac = "00:11:22:33:44:55";
    e.serial.reset();
    e.drop = pinet::core::dhcp::Drop::IgnoredClient;
    EXPECT_TRUE(t.onEvent(e).empty());
    EXPECT_TRUE(t.clients().empty());
}

TEST(BootTracker, DroppedPacketOfAFinishedBootOpensNoNewBoot) {
    BootTracker t;
    t.onEvent(dhcpEv(K::Discover, 0ms));
    t.onEvent(file("kernel8.img", R::Ok, 1000ms, std::string("d9780558")));
    // Hours later the running OS renews with the site server; proxy mode ignores it.
    auto e = dhcpEv(K::Discover, std::chrono::hours(2));
    e.model.reset();
    e.drop = pinet::core::dhcp::Drop::IgnoredClient;
    EXPECT_TRUE(t.onEvent(e).empty());
    EXPECT_EQ(t.client("d9780558")->boots.size(), 1u);
    // Without the drop the same packet starts a boot (the board is asking to boot).
    e.drop.reset();
    t.onEvent(e);
    EXPECT_EQ(t.client("d9780558")->boots.size(), 2u);
}

TEST(BootTracker, ClientCountIsBounded) {
    TrackerOptions o;
    o.maxClients = 5;
    BootTracker t(o);
    for (int i = 0; i < 20; ++i) {
        auto r = file("config.txt", R::Ok, std::chrono::seconds(i), std::nullopt,
                      "10.0.1." + std::to_string(i) + ":1000");
        t.onEvent(r);
    }
    EXPECT_EQ(t.clients().size(), 5u);
    EXPECT_NE(t.findClient("10.0.1.19"), nullptr);
    EXPECT_EQ(t.findClient("10.0.1.0"), nullptr);
}

TEST(BootTracker, MacSpelledAnyWayFindsTheClient) {
    BootTracker t;
    t.onEvent(dhcpEv(DhcpEvent::Kind::Discover, 0ms));  // "DC:A6:..." in the event
    const auto* c = t.findClient("dc-a6-32-01-02-03");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->mac, "dc:a6:32:01:02:03");
    EXPECT_EQ(t.findClient("DCA632010203"), c);
    EXPECT_EQ(t.findClient("nonsense"), nullptr);
    EXPECT_EQ(t.findClient("D9780558"), c);  // a serial in upper case, too
}

TEST(BootTracker, UnansweredPacketKeepsItsTypeAndDropReason) {
    BootTracker t;
    t.onEvent(dhcpEv(DhcpEvent::Kind::Discover, 0ms));
    auto req = dhcpEv(DhcpEvent::Kind::Request, 10ms);
    req.drop = pinet::core::dhcp::Drop::ProxyNoAck;
    t.onEvent(req);
    const auto* c = t.client("d9780558");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->boots.size(), 1u);
    const auto& steps = c->boots.back().dhcp;
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_FALSE(steps[0].drop);
    EXPECT_EQ(steps[1].kind, DhcpEvent::Kind::Request);
    EXPECT_EQ(steps[1].drop, pinet::core::dhcp::Drop::ProxyNoAck);
}

TEST(BootTracker, KernelFiles) {
    EXPECT_TRUE(isKernelFile("abc/kernel_2712.img"));
    EXPECT_TRUE(isKernelFile("boot.img"));
    EXPECT_FALSE(isKernelFile("kernel8.img.bak"));
    EXPECT_FALSE(isKernelFile("start4.elf"));
}
