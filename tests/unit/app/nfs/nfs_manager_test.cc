#include "app/nfs/nfs_manager.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/file.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

class ScreenClientsTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* d : {"roots/aaaa0001", "roots/aaaa0002/merged", "images/os/root",
                              "tftp/aaaa0001", "outside"}) {
            fs::create_directories(state() / d);
        }
    }
    [[nodiscard]] fs::path state() const { return dir_.path() / "state"; }
    [[nodiscard]] io::ClientRecord row(const std::string& serial, const std::string& mode,
                                       const fs::path& exportPath) const {
        io::ClientRecord r;
        r.serial = serial;
        r.rootMode = mode;
        r.rootExport = exportPath.string();
        r.bootDir = (state() / "tftp" / serial).string();
        r.address = "10.0.0.1";
        r.state = io::ClientState::Enrolled;
        return r;
    }
    /// The refusal for one row, or "" when it is kept.
    std::string refusal(const io::ClientRecord& r, const ServerSettings& s = {}) {
        auto out = screenClients(state(), {r}, s);
        EXPECT_EQ(out.kept.size() + out.refused.size(), 1u);
        return out.refused.empty() ? "" : out.refused.front();
    }
    io::TempDir dir_{"pnb-nfs-screen"};
};

TEST_F(ScreenClientsTest, HonestRowsOfEveryModeAreKept) {
    EXPECT_EQ(refusal(row("aaaa0001", "copy", state() / "roots/aaaa0001")), "");
    EXPECT_EQ(refusal(row("aaaa0002", "overlay", state() / "roots/aaaa0002/merged")), "");
    EXPECT_EQ(refusal(row("aaaa0003", "shared", state() / "images/os/root")), "");
    ServerSettings boot;
    boot.bootExport = true;
    EXPECT_EQ(refusal(row("aaaa0001", "copy", state() / "roots/aaaa0001"), boot), "");
}

TEST_F(ScreenClientsTest, ExportsOutsideRootsAndImagesAreRefused) {
    auto r = refusal(row("aaaa0001", "copy", "/"));
    EXPECT_NE(r.find("client aaaa0001: root export \"/\" is not beneath"), std::string::npos) << r;
    EXPECT_NE(r.find("not exported"), std::string::npos);
    EXPECT_NE(refusal(row("aaaa0001", "copy", state() / "roots/aaaa0001/../../../etc")), "");
    EXPECT_NE(refusal(row("aaaa0001", "copy", state() / "roots")), "");           // not beneath
    EXPECT_NE(refusal(row("aaaa0001", "copy", state() / "roots/aaaa0002")), "");  // another's
    EXPECT_NE(refusal(row("aaaa0001", "copy", "roots/aaaa0001")), "");            // relative
}

TEST_F(ScreenClientsTest, APrivateModeCannotExportTheImageReadWrite) {
    // shared roots are exported ro; a row edited to "copy" would make the image rw
    EXPECT_NE(refusal(row("aaaa0003", "copy", state() / "images/os/root")), "");
    EXPECT_NE(refusal(row("aaaa0003", "overlay", state() / "images/os/root")), "");
    EXPECT_NE(refusal(row("aaaa0003", "rw", state() / "images/os/root")), "");
}

TEST_F(ScreenClientsTest, SymlinksOutOfTheStateAreResolvedAndRefused) {
    fs::create_symlink(state() / "outside", state() / "roots/aaaa0001/escape");
    fs::create_directory_symlink("/", state() / "images/slash");
    EXPECT_NE(refusal(row("aaaa0001", "copy", state() / "roots/aaaa0001/escape")), "");
    EXPECT_NE(refusal(row("aaaa0003", "shared", state() / "images/slash/etc")), "");
}

TEST_F(ScreenClientsTest, BadSerialsAndBootDirsAreRefused) {
    auto r = row("../aaaa", "copy", state() / "roots/aaaa0001");
    EXPECT_NE(refusal(r).find("is not 8 lower-case hex digits"), std::string::npos);
    ServerSettings boot;
    boot.bootExport = true;
    auto b = row("aaaa0001", "copy", state() / "roots/aaaa0001");
    b.bootDir = "/etc";
    EXPECT_NE(refusal(b, boot).find("boot dir \"/etc\""), std::string::npos);
    EXPECT_EQ(refusal(b), "");  // without the boot export the boot dir is not exported
}

TEST_F(ScreenClientsTest, OneBadRowLeavesTheOthersAndDiscoveredRowsAlone) {
    io::ClientRecord discovered;
    discovered.serial = "bbbb0001";
    discovered.state = io::ClientState::Discovered;
    auto out = screenClients(state(),
                             {row("aaaa0001", "copy", "/"), discovered,
                              row("aaaa0002", "overlay", state() / "roots/aaaa0002/merged")},
                             {});
    ASSERT_EQ(out.refused.size(), 1u);
    ASSERT_EQ(out.kept.size(), 2u);
    EXPECT_EQ(out.kept[0].serial, "bbbb0001");
    EXPECT_EQ(out.kept[1].serial, "aaaa0002");
    auto exports = buildExports(out.kept, {});
    ASSERT_TRUE(exports);
    ASSERT_EQ(exports->size(), 1u);
    EXPECT_EQ(exports->front().path, (state() / "roots/aaaa0002/merged").string());
}

}  // namespace
}  // namespace pinet::app
