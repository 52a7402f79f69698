#include "app/nbd/nbd_manager.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "app/nfs/nfs_manager.h"
#include "io/file.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

class NbdManagerTest : public ::testing::Test {
protected:
    [[nodiscard]] fs::path state() const { return dir_.path() / "state"; }
    void writePort(const std::string& serial, const std::string& text) {
        fs::create_directories(state() / "roots" / serial);
        ASSERT_TRUE(io::writeFileAtomic(NbdPaths{state()}.portFile(serial), text));
    }
    io::TempDir dir_{"pnb-nbd-manager"};
};

TEST(NbdManager, RootModes) {
    EXPECT_TRUE(isNbdRootMode("nbd"));
    EXPECT_TRUE(isNbdRootMode("nbd-image"));
    for (const char* m : {"", "copy", "overlay", "shared", "NBD", "nbd "}) {
        EXPECT_FALSE(isNbdRootMode(m)) << m;
    }
}

TEST(NbdManager, BaseSizeLeavesRoomAndIsWholeMiB) {
    EXPECT_EQ(nbdBaseSize(0), 1ULL << 30);
    EXPECT_EQ(nbdBaseSize(1), (1ULL << 30) + (1ULL << 20));  // rounded up to a MiB
    const std::uint64_t root = 1519ULL << 20;
    EXPECT_EQ(nbdBaseSize(root), 2 * root + (1ULL << 30));
    EXPECT_EQ(nbdBaseSize(root) % (1ULL << 20), 0U);
}

TEST(NbdManager, DiskPathsComeFromTheSerialAndMode) {
    NbdPaths p{"/var/lib/pinetboot"};
    EXPECT_EQ(p.disk("aaaa0001", "nbd"), "/var/lib/pinetboot/roots/aaaa0001/root.qcow2");
    EXPECT_EQ(p.disk("aaaa0001", "nbd-image"), "/var/lib/pinetboot/roots/aaaa0001/root.img");
    EXPECT_EQ(p.base("os"), "/var/lib/pinetboot/images/os/nbd-base.ext4");
    EXPECT_EQ(p.pidFile("aaaa0001"), "/var/lib/pinetboot/nbd/aaaa0001.pid");
}

TEST_F(NbdManagerTest, PortFileIsCheckedBeforeUse) {
    writePort("aaaa0001", "10810\n");
    auto ok = nbdPortOf(state(), "aaaa0001");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, 10810);
    // Written by hand or by a tampering process: each is refused with the fix.
    for (const char* bad : {"", "10809\n", "65536\n", "10810 \n", "-1\n", "0x2a3a\n",
                            "99999999999\n", "10810\n10811\n"}) {
        writePort("aaaa0002", bad);
        auto r = nbdPortOf(state(), "aaaa0002");
        EXPECT_FALSE(r) << "accepted \"" << bad << "\"";
    }
    auto missing = nbdPortOf(state(), "aaaa0003");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("pinetboot client reset aaaa0003"), std::string::npos)
        << missing.error().message;
}

TEST_F(NbdManagerTest, NfsLeavesNbdRowsAlone) {
    io::ClientRecord r;
    r.serial = "aaaa0001";
    r.rootMode = "nbd";
    r.rootExport = (state() / "roots/aaaa0001/root.qcow2").string();
    r.address = "10.0.0.2";
    r.state = io::ClientState::Enrolled;
    auto screened = screenClients(state(), {r}, ServerSettings{});
    EXPECT_TRUE(screened.kept.empty());
    EXPECT_TRUE(screened.refused.empty());
}

}  // namespace
}  // namespace pinet::app
