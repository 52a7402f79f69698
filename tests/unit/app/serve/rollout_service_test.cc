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

    auto svc = RolloutService::open(t.path());
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

}  // namespace
}  // namespace pinet::app::serve
