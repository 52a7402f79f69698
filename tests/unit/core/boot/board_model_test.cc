#include "core/boot/board_model.h"

#include <gtest/gtest.h>

#include "core/boot/boot_tracker.h"

using namespace pinet::core;
using namespace pinet::core::boot;
using namespace std::chrono_literals;

TEST(BoardModel, RevisionCodesNameTheBoard) {
    // Codes from the revision-codes table and the spec's captures (§2.2).
    EXPECT_EQ(modelFromRevision(0x00c03140), BoardModel::Cm4);  // cmprovision#5 capture
    EXPECT_EQ(modelFromRevision(0x00a03141), BoardModel::Cm4);  // cmprovision#16 capture
    EXPECT_EQ(modelFromRevision(0x00c03115), BoardModel::Pi4B);
    EXPECT_EQ(modelFromRevision(0x00b03115), BoardModel::Pi4B);
    EXPECT_EQ(modelFromRevision(0x00c03130), BoardModel::Pi400);
    EXPECT_EQ(modelFromRevision(0x00b03150), BoardModel::Cm4s);
    EXPECT_EQ(modelFromRevision(0x00d04170), BoardModel::Pi5);
    EXPECT_EQ(modelFromRevision(0x00c04180), BoardModel::Cm5);
    EXPECT_EQ(modelFromRevision(0x00d041a0), BoardModel::Cm5);  // CM5 Lite
    EXPECT_EQ(modelFromRevision(0x00d04190), BoardModel::Pi500);
    // Old-style codes (bit 23 clear), a Pi 3B+ and garbage name nothing.
    EXPECT_EQ(modelFromRevision(0x00000014), std::nullopt);
    EXPECT_EQ(modelFromRevision(0x00a020d3), std::nullopt);
    EXPECT_EQ(modelFromRevision(0), std::nullopt);
    EXPECT_EQ(modelFromRevision(0xffffffff), std::nullopt);
}

TEST(BoardModel, DeviceTreesNameTheBoard) {
    EXPECT_EQ(modelFromDtb("bcm2711-rpi-cm4.dtb"), BoardModel::Cm4);
    EXPECT_EQ(modelFromDtb("9ffefdef/bcm2711-rpi-cm4.dtb"), BoardModel::Cm4);
    EXPECT_EQ(modelFromDtb("bcm2711-rpi-cm4-io.dtb"), BoardModel::Cm4);
    EXPECT_EQ(modelFromDtb("BCM2711-RPI-CM4S.DTB"), BoardModel::Cm4s);
    EXPECT_EQ(modelFromDtb("dc-a6-32-01-02-03/bcm2711-rpi-4-b.dtb"), BoardModel::Pi4B);
    EXPECT_EQ(modelFromDtb("bcm2711-rpi-400.dtb"), BoardModel::Pi400);
    EXPECT_EQ(modelFromDtb("bcm2712-rpi-5-b.dtb"), BoardModel::Pi5);
    EXPECT_EQ(modelFromDtb("bcm2712d0-rpi-5-b.dtb"), BoardModel::Pi5);
    EXPECT_EQ(modelFromDtb("bcm2712-rpi-cm5-cm5io.dtb"), BoardModel::Cm5);
    EXPECT_EQ(modelFromDtb("bcm2712-rpi-cm5l-cm4io.dtb"), BoardModel::Cm5);
    EXPECT_EQ(modelFromDtb("bcm2712-rpi-500.dtb"), BoardModel::Pi500);
    EXPECT_EQ(modelFromDtb("overlays/overlay_map.dtb"), std::nullopt);
    EXPECT_EQ(modelFromDtb("bcm2711-rpi-cm4.dtbo"), std::nullopt);
    EXPECT_EQ(modelFromDtb("my-board.dtb"), std::nullopt);
    EXPECT_EQ(modelFromDtb("bcm2712-rpi.dtb"), std::nullopt);
    EXPECT_EQ(modelFromDtb(".dtb"), std::nullopt);
    EXPECT_EQ(modelFromDtb(""), std::nullopt);
}

TEST(BoardModel, RefineKeepsTheBestSignOfTheSameFamily) {
    ModelGuess g;
    g = refineModel(g, {BoardModel::Pi4Family, ModelSource::Fourcc});
    EXPECT_EQ(g.model, BoardModel::Pi4Family);
    g = refineModel(g, {BoardModel::Cm4, ModelSource::Dtb});
    EXPECT_EQ(g, (ModelGuess{BoardModel::Cm4, ModelSource::Dtb}));
    // The next boot's fourcc says less: kept.
    g = refineModel(g, {BoardModel::Pi4Family, ModelSource::Fourcc});
    EXPECT_EQ(g.model, BoardModel::Cm4);
    // A bcm2712 device tree does not make a CM4 a Pi 5.
    g = refineModel(g, {BoardModel::Pi5, ModelSource::Dtb});
    EXPECT_EQ(g.model, BoardModel::Cm4);
    // The revision outranks a device tree (device_tree= may rename it) ...
    g = refineModel(g, {BoardModel::Pi4B, ModelSource::Revision});
    EXPECT_EQ(g, (ModelGuess{BoardModel::Pi4B, ModelSource::Revision}));
    // ... and a device tree or the registry does not undo it.
    g = refineModel(g, {BoardModel::Cm4, ModelSource::Dtb});
    EXPECT_EQ(g.model, BoardModel::Pi4B);
    g = refineModel(g, {BoardModel::Cm4, ModelSource::Registry});
    EXPECT_EQ(g.model, BoardModel::Pi4B);
}

TEST(BoardModel, CodesAndNames) {
    EXPECT_EQ(modelCode(BoardModel::Cm4), "cm4");
    EXPECT_EQ(modelName(BoardModel::Cm4), "CM4");
    EXPECT_EQ(modelName(BoardModel::Pi4B), "Pi 4");
    EXPECT_EQ(modelName(BoardModel::Pi4Family), "Pi 4 family");
    EXPECT_EQ(parseModelCode("RPi4"), BoardModel::Pi4Family);  // what older versions stored
    EXPECT_EQ(parseModelCode("RPi5"), BoardModel::Pi5Family);
    for (auto m : {BoardModel::Pi4B, BoardModel::Pi400, BoardModel::Cm4, BoardModel::Cm4s,
                   BoardModel::Pi5, BoardModel::Pi500, BoardModel::Cm5, BoardModel::Pi4Family}) {
        EXPECT_EQ(parseModelCode(modelCode(m)), m) << modelCode(m);
    }
    EXPECT_EQ(parseModelCode(""), std::nullopt);
    EXPECT_EQ(parseModelCode("pi3"), std::nullopt);
}

namespace {

DhcpEvent discover(std::optional<std::uint32_t> revision) {
    DhcpEvent e;
    e.kind = DhcpEvent::Kind::Discover;
    e.time = WallTime{} + 1'000'000s;
    e.mac = "dc:a6:32:01:02:03";
    e.serial = "d9780558";
    e.model = "RPi4";
    e.boardRevision = revision;
    return e;
}

TransferRecord fetch(const std::string& path) {
    TransferRecord r;
    r.start = WallTime{} + 1'000'002s;
    r.clientAddr = "10.0.0.50:40000";
    r.requestedPath = "d9780558/" + path;
    r.serial = "d9780558";
    return r;
}

}  // namespace

TEST(BoardModel, TrackerLearnsACm4FromItsRevision) {
    BootTracker t;
    t.onEvent(discover(0x00c03141));  // the probe's CM4 revision
    const auto* c = t.client("d9780558");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->model, "RPi4");  // what option 97 said, kept as it was
    EXPECT_EQ(c->board, (ModelGuess{BoardModel::Cm4, ModelSource::Revision}));
}

TEST(BoardModel, TrackerLearnsACm4FromItsDeviceTree) {
    BootTracker t;
    t.onEvent(discover(std::nullopt));  // no revision (or one this code does not know)
    EXPECT_EQ(t.client("d9780558")->board.model, BoardModel::Pi4Family);
    t.onEvent(fetch("start4.elf"));
    EXPECT_EQ(t.client("d9780558")->board.model, BoardModel::Pi4Family);
    t.onEvent(fetch("bcm2711-rpi-cm4.dtb"));
    EXPECT_EQ(t.client("d9780558")->board, (ModelGuess{BoardModel::Cm4, ModelSource::Dtb}));
    t.onEvent(fetch("overlays/overlay_map.dtb"));
    EXPECT_EQ(t.client("d9780558")->board.model, BoardModel::Cm4);
}
