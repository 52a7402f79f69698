#include "app/image/boot_layout.h"

#include <gtest/gtest.h>

#include <fstream>

#include "io/file.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

void writeText(const fs::path& p, const std::string& text = "x") {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

void flat(const fs::path& b) {
    writeText(b / "config.txt", "[all]\narm_64bit=1\n[cm4]\notg_mode=1\n");
    writeText(b / "cmdline.txt", "root=PARTUUID=1-02");
    writeText(b / "kernel8.img");
    writeText(b / "bcm2711-rpi-4-b.dtb");
    writeText(b / "bcm2711-rpi-cm4.dtb");
}

void ubuntu(const fs::path& b, bool withNew) {
    writeText(b / "config.txt",
              "[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n"
              "os_prefix=current/\n[tryboot]\nos_prefix=new/\n[all]\n");
    writeText(b / "cmdline.txt", "decoy");
    for (const char* d : {"current", "new"}) {
        if (std::string(d) == "new" && !withNew) {
            continue;
        }
        writeText(b / d / "vmlinuz");
        writeText(b / d / "cmdline.txt", "root=LABEL=writable");
        writeText(b / d / "bcm2711-rpi-4-b.dtb");
        writeText(b / d / "bcm2712-rpi-5-b.dtb");
    }
}

using Targets = std::vector<std::string>;

TEST(BootLayout, FlatImageRewritesCmdlineTxtAsBefore) {
    io::TempDir t;
    flat(t.path());
    auto all = cmdlineTargets(t.path(), "");
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, Targets{"cmdline.txt"});
    EXPECT_EQ(*cmdlineTargets(t.path(), "cm4"), Targets{"cmdline.txt"});
    auto layout = detectBootLayout(t.path());
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->kind, "flat");
    EXPECT_FALSE(layout->tryboot);
}

TEST(BootLayout, WithoutKernelsTheNamedCmdlineStillCounts) {
    // Boot trees without a kernel (unit-test images, half-made images) behave as before.
    io::TempDir t;
    writeText(t.path() / "cmdline.txt", "root=x");
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi4"), Targets{"cmdline.txt"});
    fs::remove(t.path() / "cmdline.txt");
    auto none = cmdlineTargets(t.path(), "pi4");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no cmdline.txt"), std::string::npos);
}

TEST(BootLayout, UbuntuCurrentLayoutSkipsTheDecoy) {
    io::TempDir t;
    ubuntu(t.path(), false);
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi4"), Targets{"current/cmdline.txt"});
    // Unknown model: every board whose chain is complete reads current/cmdline.txt; the
    // tryboot boot's new/ is not there, so that boot cannot start and counts for nothing.
    EXPECT_EQ(*cmdlineTargets(t.path(), ""), Targets{"current/cmdline.txt"});
    auto layout = detectBootLayout(t.path());
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->kind, "current-new-old");
    EXPECT_TRUE(layout->tryboot);
}

TEST(BootLayout, TrybootTargetIsRewrittenWhenNewExists) {
    io::TempDir t;
    ubuntu(t.path(), true);
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi5"),
              (Targets{"current/cmdline.txt", "new/cmdline.txt"}));
}

TEST(BootLayout, PerModelPrefixGivesOneTargetPerChain) {
    io::TempDir t;
    flat(t.path());
    writeText(t.path() / "config.txt", "[pi5]\nos_prefix=pi5/\n[all]\n");
    writeText(t.path() / "pi5/kernel_2712.img");
    writeText(t.path() / "pi5/bcm2712-rpi-5-b.dtb");
    writeText(t.path() / "pi5/cmdline.txt");
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi5"), Targets{"pi5/cmdline.txt"});
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi4"), Targets{"cmdline.txt"});
    EXPECT_EQ(*cmdlineTargets(t.path(), "pi5-family"), Targets{"pi5/cmdline.txt"});
    EXPECT_EQ(*cmdlineTargets(t.path(), ""), (Targets{"cmdline.txt", "pi5/cmdline.txt"}));
    EXPECT_EQ(detectBootLayout(t.path())->kind, "os_prefix");
}

TEST(BootLayout, SymlinksAreNotBootFiles) {
    io::TempDir t;
    flat(t.path());
    fs::remove(t.path() / "cmdline.txt");
    fs::create_symlink("/etc/hostname", t.path() / "cmdline.txt");
    DirBootFiles files(t.path());
    EXPECT_FALSE(files.exists("cmdline.txt"));
    EXPECT_FALSE(files.read("cmdline.txt"));
    EXPECT_FALSE(files.read("../etc/hostname"));
}

TEST(BootLayout, HostileConfigIsAnError) {
    io::TempDir t;
    flat(t.path());
    writeText(t.path() / "config.txt", "os_prefix=../../\n");
    EXPECT_FALSE(cmdlineTargets(t.path(), "pi4"));
    EXPECT_FALSE(detectBootLayout(t.path()));
}

TEST(BootLayout, BoardsOfModel) {
    EXPECT_EQ(boardsOfModel("cm4").size(), 1U);
    EXPECT_EQ(boardsOfModel("pi4-family").size(), 4U);
    EXPECT_EQ(boardsOfModel("RPi5").size(), 3U);
    EXPECT_EQ(boardsOfModel("").size(), proto::netboot::allPiBoards().size());
}

}  // namespace
}  // namespace pinet::app
