#include "app/serve/rollout_service.h"

#include <gtest/gtest.h>

#include "io/file.h"

namespace pinet::app::serve {
namespace {

using namespace std::chrono_literals;
const core::eeprom::WallTime kT0{std::chrono::seconds(1'800'000'000)};

core::TransferRecord served(const std::string& serial, const std::string& name,
                            core::TransferRecord::Result r = core::TransferRecord::Result::Ok) {
    core::TransferRecord rec;
    rec.serial = serial;
    rec.requestedPath = serial + "/" + name;
    rec.result = r;
    return rec;
}

TEST(RolloutService, OffersOnlyStartedBoardsAndCountsOnlyWhatItServed) {
    io::TempDir t("pnb-rollout-service");
    auto store = io::RolloutStore::open(t.path());
    ASSERT_TRUE(store);
    io::RolloutRow row;
    row.name = "r";
    row.sigTimestamp = 2000;
    ASSERT_TRUE(store->create(row, std::vector<std::uint8_t>(1000, 0xee), "sigtext\n"));
    std::vector<io::RolloutBoardRow> boards(2);
    boards[0].serial = "00000001";
    boards[1].serial = "00000002";
    boards[1].wave = 1;
    ASSERT_TRUE(store->requestStart("r", boards, 50, "test"));

    auto now = kT0;
    auto svc = RolloutService::open(t.path(), [&] { return now; });
    ASSERT_TRUE(svc);
    EXPECT_FALSE(svc->open("00000001", "pieeprom.sig"));  // serve has not taken it up yet
    svc->poll(kT0);
    auto sig = svc->open("00000001", "pieeprom.sig");
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->bytes().size(), 8u);
    EXPECT_FALSE(svc->open("00000002", "pieeprom.sig"));  // wave 2
    EXPECT_FALSE(svc->open("00000099", "pieeprom.sig"));  // not in the rollout
    EXPECT_FALSE(svc->open("00000001", "config.txt"));
    // A record for a file the overlay did not serve (the tree's) does not count.
    svc->onEvent(served("00000002", "pieeprom.upd"));
    EXPECT_EQ(svc->updatesServed(), 0u);
    svc->onEvent(served("00000001", "pieeprom.sig"));
    ASSERT_TRUE(svc->open("00000001", "pieeprom.upd"));
    svc->onEvent(served("00000001", "pieeprom.upd"));
    EXPECT_EQ(svc->updatesServed(), 1u);
    auto e = svc->clientsEeprom();
    EXPECT_EQ(e.at("00000001")["state"], "fetched");
    EXPECT_EQ(e.at("00000002")["state"], "waiting");
    // It comes back: DISCOVER, the .sig, then the firmware.
    core::DhcpEvent d;
    d.kind = core::DhcpEvent::Kind::Discover;
    d.serial = "00000001";
    svc->onEvent(d);
    ASSERT_TRUE(svc->open("00000001", "pieeprom.sig"));
    svc->onEvent(served("00000001", "pieeprom.sig"));
    svc->onEvent(served("00000001", "start4.elf"));
    svc->poll(kT0 + 5s);
    EXPECT_TRUE(svc->open("00000002", "pieeprom.sig"));  // wave 2 is open
    auto rows = *store->boards("r");
    EXPECT_EQ(rows[0].phase, "up_to_date");
    EXPECT_EQ(rows[0].updateFetches, 1);
    EXPECT_EQ((*store->find("r"))->wave, 1);
    core::metrics::Registry m;
    m.declare("pinetboot_eeprom_rollout_boards", "x", core::metrics::Kind::Gauge);
    m.declare("pinetboot_eeprom_rollout_state", "x", core::metrics::Kind::Gauge);
    m.declare("pinetboot_eeprom_rollout_wave", "x", core::metrics::Kind::Gauge);
    svc->exportMetrics(m);
    EXPECT_EQ(
        m.value("pinetboot_eeprom_rollout_boards", {{"rollout", "r"}, {"phase", "up_to_date"}}),
        1.0);
    // abort from the CLI side: nothing more is offered.
    ASSERT_TRUE(store->requestCommand("r", "abort"));
    svc->poll(kT0 + 6s);
    EXPECT_FALSE(svc->open("00000002", "pieeprom.sig"));
}

/// A started one-wave rollout of boards 00000001 and 00000002 (return timeout 30 s).
struct Started {
    io::TempDir t{"pnb-rollout-service2"};
    core::eeprom::WallTime now = kT0;
    std::unique_ptr<RolloutService> svc;
    explicit Started(int returnTimeout = 30) {
        auto store = io::RolloutStore::open(t.path());
        EXPECT_TRUE(store);
        io::RolloutRow row;
        row.name = "r";
        row.sigTimestamp = 2000;
        row.returnTimeout = returnTimeout;
        EXPECT_TRUE(store->create(row, std::vector<std::uint8_t>(100, 0xee), "sigtext\n"));
        std::vector<io::RolloutBoardRow> boards(2);
        boards[0].serial = "00000001";
        boards[1].serial = "00000002";
        EXPECT_TRUE(store->requestStart("r", boards, 100, "test"));
        svc = RolloutService::open(t.path(), [this] { return now; });
        svc->poll(now);
    }
};

core::tftp::OverlayClient byMac(const std::string& dashed, std::uint32_t ip) {
    return core::tftp::OverlayClient{std::nullopt, dashed, ip};
}
core::tftp::OverlayClient byAddress(std::uint32_t ip) {
    return core::tftp::OverlayClient{std::nullopt, std::nullopt, ip};
}

// TFTP_PREFIX=2: the board asks under its MAC; the registry, or its DISCOVER (option 97
// next to chaddr), says which serial that is.
TEST(RolloutServiceIdentity, AMacPrefixIsMappedToTheBoardsSerial) {
    Started s;
    EXPECT_FALSE(s.svc->open(byMac("dc-a6-32-00-00-01", 0), "pieeprom.sig"));  // unknown yet
    KnownClient c;
    c.serial = "00000001";
    c.mac = "DC:A6:32:00:00:01";
    s.svc->setKnownClients({c});
    EXPECT_TRUE(s.svc->open(byMac("dc-a6-32-00-00-01", 0), "pieeprom.sig"));
    core::DhcpEvent d;
    d.kind = core::DhcpEvent::Kind::Discover;
    d.mac = "dc:a6:32:00:00:02";
    d.serial = "00000002";
    s.svc->onEvent(d);
    ASSERT_TRUE(s.svc->open(byMac("dc-a6-32-00-00-02", 0), "pieeprom.sig"));
    // Its record (a MAC, no serial) counts for that board.
    core::TransferRecord rec;
    rec.mac = "dc-a6-32-00-00-02";
    rec.requestedPath = "dc-a6-32-00-00-02/pieeprom.sig";
    rec.clientAddr = "10.0.0.2:1234";
    s.svc->onEvent(rec);
    EXPECT_EQ(s.svc->clientsEeprom().at("00000002")["state"], "offered");
    // A board outside the rollout stays outside, whatever its MAC says.
    d.mac = "dc:a6:32:00:00:99";
    d.serial = "00000099";
    s.svc->onEvent(d);
    EXPECT_FALSE(s.svc->open(byMac("dc-a6-32-00-00-99", 0), "pieeprom.sig"));
}

// No client prefix (TFTP_PREFIX=1, or a cleared prefix): the source address, bound by
// serve's DHCP ACK or by a prefixed request of the same boot, names the board.
TEST(RolloutServiceIdentity, NoPrefixIsMappedThroughTheAddress) {
    Started s;
    const std::uint32_t ip1 = 0x0a000005, ip2 = 0x0a000006;
    EXPECT_FALSE(s.svc->open(byAddress(ip1), "pieeprom.sig"));
    core::DhcpEvent ack;
    ack.kind = core::DhcpEvent::Kind::Ack;
    ack.mac = "dc:a6:32:00:00:01";
    ack.serial = "00000001";
    ack.clientIp = "10.0.0.5";
    s.svc->onEvent(ack);
    ASSERT_TRUE(s.svc->open(byAddress(ip1), "pieeprom.sig"));
    core::TransferRecord rec;
    rec.requestedPath = "pieeprom.sig";
    rec.clientAddr = "10.0.0.5:3000";
    s.svc->onEvent(rec);
    EXPECT_EQ(s.svc->clientsEeprom().at("00000001")["state"], "offered");
    // The prefix probe of a boot binds too (a proxy-DHCP network: no ACK of ours).
    core::TransferRecord probe;
    probe.serial = "00000002";
    probe.requestedPath = "00000002/start4.elf";
    probe.clientAddr = "10.0.0.6:3001";
    probe.result = core::TransferRecord::Result::NotFound;
    s.svc->onEvent(probe);
    EXPECT_TRUE(s.svc->open(byAddress(ip2), "pieeprom.sig"));
    // serve hands 10.0.0.5 to a board outside the rollout: the binding goes.
    ack.mac = "dc:a6:32:00:00:77";
    ack.serial = "00000077";
    s.svc->onEvent(ack);
    EXPECT_FALSE(s.svc->open(byAddress(ip1), "pieeprom.sig"));
    // And a binding expires.
    s.now += RolloutService::kAddressBindingTtl + 1s;
    EXPECT_FALSE(s.svc->open(byAddress(ip2), "pieeprom.sig"));
}

// The bindings are made where the wire is, not in the monitor's queue: serve's DHCP ACK
// through noteDhcp() on the DHCP thread, and any prefixed request through open() on the
// TFTP thread (even for a name the overlay does not answer), so that the next request of
// the same boot, with no prefix, already finds its board.
TEST(RolloutServiceIdentity, BindingsAreMadeSynchronously) {
    Started s;
    core::DhcpEvent ack;
    ack.kind = core::DhcpEvent::Kind::Ack;
    ack.mac = "dc:a6:32:00:00:01";
    ack.serial = "00000001";
    ack.clientIp = "10.0.0.5";
    s.svc->noteDhcp(ack);
    EXPECT_TRUE(s.svc->open(byAddress(0x0a000005), "pieeprom.sig"));
    core::tftp::OverlayClient probe{std::string("00000002"), std::nullopt, 0x0a000006u};
    EXPECT_FALSE(s.svc->open(probe, "start4.elf"));                   // not the overlay's file...
    EXPECT_TRUE(s.svc->open(byAddress(0x0a000006), "pieeprom.sig"));  // ...but it bound
    // The board's DISCOVER alone (no ACK of ours) teaches its MAC, not an address.
    core::DhcpEvent disc;
    disc.kind = core::DhcpEvent::Kind::Discover;
    disc.mac = "dc:a6:32:00:00:02";
    disc.serial = "00000002";
    s.svc->noteDhcp(disc);
    EXPECT_TRUE(s.svc->open(byMac("dc-a6-32-00-00-02", 0), "pieeprom.sig"));
    EXPECT_FALSE(s.svc->open(byAddress(0x0a000007), "pieeprom.sig"));
}

// Issue #17: a board that never comes back stops the rollout, named in the state row, the
// API and the board row; the other, never seen, is not reached.
TEST(RolloutServiceDeadline, ALostBoardStopsTheRolloutAndIsNamed) {
    Started s(30);
    ASSERT_TRUE(s.svc->open("00000001", "pieeprom.sig"));
    s.svc->onEvent(served("00000001", "pieeprom.sig"));
    ASSERT_TRUE(s.svc->open("00000001", "pieeprom.upd"));
    s.svc->onEvent(served("00000001", "pieeprom.upd"));
    s.now += 29s;
    s.svc->poll(s.now);
    auto store = io::RolloutStore::open(s.t.path());
    EXPECT_EQ((*store->find("r"))->state, "running");
    s.now += 2s;
    s.svc->poll(s.now);
    const auto row = *store->find("r");
    EXPECT_EQ(row->state, "stopped");
    EXPECT_NE(row->reason.find("00000001 (lost: did not come back within 30 s"), std::string::npos)
        << row->reason;
    const auto e = s.svc->clientsEeprom();
    EXPECT_EQ(e.at("00000001")["state"], "failed");
    EXPECT_EQ(e.at("00000002")["state"], "not_reached");
    EXPECT_NE(e.at("00000001")["rollout_reason"].get<std::string>().find("00000001"),
              std::string::npos);
    core::metrics::Registry m;
    m.declare("pinetboot_eeprom_rollout_boards", "x", core::metrics::Kind::Gauge);
    m.declare("pinetboot_eeprom_rollout_state", "x", core::metrics::Kind::Gauge);
    m.declare("pinetboot_eeprom_rollout_wave", "x", core::metrics::Kind::Gauge);
    s.svc->exportMetrics(m);
    EXPECT_EQ(
        m.value("pinetboot_eeprom_rollout_boards", {{"rollout", "r"}, {"phase", "not_reached"}}),
        1.0);
    EXPECT_EQ(m.value("pinetboot_eeprom_rollout_boards", {{"rollout", "r"}, {"phase", "failed"}}),
              1.0);
    const auto boards = *store->boards("r");
    EXPECT_EQ(boards[0].phase, "failed");
    EXPECT_TRUE(boards[0].sinceMs);
    EXPECT_EQ(boards[1].phase, "not_reached");
    // serve restarts: the rows it reads back say the same.
    auto again = RolloutService::open(s.t.path(), [&] { return s.now; });
    again->poll(s.now);
    EXPECT_EQ(again->clientsEeprom().at("00000001")["state"], "failed");
    EXPECT_FALSE(again->open("00000002", "pieeprom.sig"));  // stopped: nothing offered
}

}  // namespace
}  // namespace pinet::app::serve
