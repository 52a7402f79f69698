#include "proto/netboot/boot_config.h"

#include <gtest/gtest.h>

#include <map>

namespace pinet::proto::netboot {
namespace {

/// A boot partition in memory: path -> bytes.
class MemFiles : public BootFiles {
public:
    std::map<std::string, std::string, std::less<>> files;
    mutable std::vector<std::string> asked;
    [[nodiscard]] std::optional<std::string> read(std::string_view p) const override {
        asked.emplace_back(p);
        auto it = files.find(p);
        return it == files.end() ? std::nullopt : std::optional(it->second);
    }
    [[nodiscard]] bool exists(std::string_view p) const override {
        asked.emplace_back(p);
        return files.find(p) != files.end();
    }
    MemFiles& add(const std::string& p, std::string body = "x") {
        files[p] = std::move(body);
        return *this;
    }
};

BoardContext board(PiBoard b, bool tryboot = false, std::string serial = "") {
    return {b, tryboot, std::move(serial)};
}

/// Raspberry Pi OS Bookworm: everything at the top.
MemFiles flatImage() {
    MemFiles m;
    m.add("config.txt", "[all]\narm_64bit=1\ndtoverlay=vc4-kms-v3d\n[cm4]\notg_mode=1\n")
        .add("cmdline.txt")
        .add("kernel8.img")
        .add("kernel_2712.img")
        .add("bcm2711-rpi-4-b.dtb")
        .add("bcm2711-rpi-cm4.dtb")
        .add("bcm2712-rpi-5-b.dtb");
    return m;
}

/// Ubuntu 25.10 (piboot-try): boot assets under current/, new/ for a tryboot boot.
MemFiles ubuntuImage(bool withNew) {
    MemFiles m;
    m.add("config.txt",
          "[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n"
          "os_prefix=current/\n[tryboot]\nos_prefix=new/\n[all]\ndtparam=watchdog=on\n");
    for (std::string d : withNew ? std::vector<std::string>{"current/", "new/"}
                                 : std::vector<std::string>{"current/"}) {
        m.add(d + "vmlinuz")
            .add(d + "initrd.img")
            .add(d + "cmdline.txt")
            .add(d + "bcm2711-rpi-4-b.dtb")
            .add(d + "bcm2712-rpi-5-b.dtb")
            .add(d + "overlays/README");
    }
    m.add("cmdline.txt", "decoy");  // a leftover flat file the firmware never reads
    return m;
}

TEST(BootConfig, FlatLayoutReadsTheTopLevelFiles) {
    auto m = flatImage();
    auto c = resolveBootChain(m, board(PiBoard::Cm4));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->cmdline, "cmdline.txt");
    EXPECT_EQ(c->kernel, "kernel8.img");
    EXPECT_EQ(c->dtb, "bcm2711-rpi-cm4.dtb");
    EXPECT_EQ(c->overlayDir, "overlays/");
    EXPECT_TRUE(c->complete());
    EXPECT_EQ(c->osPrefix, "");
}

TEST(BootConfig, Pi5PrefersKernel2712ThenKernel8) {
    auto m = flatImage();
    auto c = resolveBootChain(m, board(PiBoard::Pi5));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->kernel, "kernel_2712.img");
    m.files.erase("kernel_2712.img");
    c = resolveBootChain(m, board(PiBoard::Pi5));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->kernel, "kernel8.img");
    EXPECT_TRUE(c->complete());
}

TEST(BootConfig, Arm64OffPicksThe32BitKernel) {
    MemFiles m;
    m.add("config.txt", "arm_64bit=0\n").add("kernel7l.img");
    auto c = resolveBootChain(m, board(PiBoard::Pi4));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->kernel, "kernel7l.img");
    EXPECT_TRUE(c->kernelFound);
}

TEST(BootConfig, UbuntuCurrentLayout) {
    auto m = ubuntuImage(false);
    auto c = resolveBootChain(m, board(PiBoard::Pi4));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->osPrefix, "current/");
    EXPECT_EQ(c->cmdline, "current/cmdline.txt");
    EXPECT_EQ(c->kernel, "current/vmlinuz");
    EXPECT_EQ(c->dtb, "current/bcm2711-rpi-4-b.dtb");
    ASSERT_EQ(c->initramfs.size(), 1U);
    EXPECT_EQ(c->initramfs[0], "current/initrd.img");
    EXPECT_EQ(c->overlayDir, "current/overlays/");
    EXPECT_TRUE(c->complete());
}

TEST(BootConfig, TrybootSectionSendsATrybootBootToNew) {
    auto m = ubuntuImage(true);
    auto c = resolveBootChain(m, board(PiBoard::Pi5, true));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->settings.configFile, "config.txt");  // no tryboot.txt in Ubuntu's layout
    EXPECT_EQ(c->cmdline, "new/cmdline.txt");
    EXPECT_EQ(c->dtb, "new/bcm2712-rpi-5-b.dtb");
    auto normal = resolveBootChain(m, board(PiBoard::Pi5, false));
    ASSERT_TRUE(normal);
    EXPECT_EQ(normal->cmdline, "current/cmdline.txt");
}

TEST(BootConfig, PrefixWithoutKernelAndDtbIsIgnoredAsTheFirmwareDoes) {
    // No new/ yet: the [tryboot] prefix fails the viability test and is set to "".
    auto m = ubuntuImage(false);
    auto c = resolveBootChain(m, board(PiBoard::Pi4, true));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->requestedPrefix, "new/");
    EXPECT_EQ(c->osPrefix, "");
    EXPECT_EQ(c->cmdline, "cmdline.txt");
    EXPECT_FALSE(c->kernelFound);  // no vmlinuz at the top: this boot cannot start
    EXPECT_FALSE(c->complete());
    bool noted = false;
    for (const auto& n : c->settings.notes) {
        noted = noted || n.find("os_prefix=new/ is ignored") != std::string::npos;
    }
    EXPECT_TRUE(noted);
    // A prefix with a kernel but no device tree for this model is ignored too.
    c = resolveBootChain(m, board(PiBoard::Cm4));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->osPrefix, "");
}

TEST(BootConfig, TrybootTxtIsReadInsteadOfConfigTxt) {
    MemFiles m;
    m.add("config.txt", "os_prefix=a/\n")
        .add("tryboot.txt", "os_prefix=b/\ncmdline=try.txt\n")
        .add("a/kernel8.img")
        .add("a/bcm2711-rpi-4-b.dtb")
        .add("b/kernel8.img")
        .add("b/bcm2711-rpi-4-b.dtb");
    auto normal = resolveBootChain(m, board(PiBoard::Pi4));
    auto tried = resolveBootChain(m, board(PiBoard::Pi4, true));
    ASSERT_TRUE(normal && tried);
    EXPECT_EQ(normal->cmdline, "a/cmdline.txt");
    EXPECT_EQ(tried->settings.configFile, "tryboot.txt");
    EXPECT_EQ(tried->cmdline, "b/try.txt");
}

TEST(BootConfig, ModelSectionsApplyPerBoard) {
    MemFiles m;
    m.add("config.txt",
          "[pi4]\nos_prefix=p4/\n[pi5]\nos_prefix=p5/\n[cm4]\ncmdline=cm4.txt\n[all]\n")
        .add("p4/kernel8.img")
        .add("p4/bcm2711-rpi-4-b.dtb")
        .add("p4/bcm2711-rpi-cm4.dtb")
        .add("p4/bcm2711-rpi-400.dtb")
        .add("p5/kernel_2712.img")
        .add("p5/bcm2712-rpi-5-b.dtb")
        .add("p5/bcm2712-rpi-cm5-cm5io.dtb");
    auto cmd = [&](PiBoard b) {
        return resolveBootChain(m, board(b))->cmdline;
    };
    EXPECT_EQ(cmd(PiBoard::Pi4), "p4/cmdline.txt");
    EXPECT_EQ(cmd(PiBoard::Pi400), "p4/cmdline.txt");  // a Pi 400 sees [pi4] too
    EXPECT_EQ(cmd(PiBoard::Cm4), "p4/cm4.txt");
    EXPECT_EQ(cmd(PiBoard::Pi5), "p5/cmdline.txt");
    EXPECT_EQ(cmd(PiBoard::Cm5), "p5/cmdline.txt");
}

TEST(BootConfig, Pi5OnlyPrefixLeavesPi4Flat) {
    MemFiles m;
    m.add("config.txt", "[pi5]\nos_prefix=pi5/\n[all]\n")
        .add("cmdline.txt")
        .add("kernel8.img")
        .add("bcm2711-rpi-4-b.dtb")
        .add("pi5/cmdline.txt")
        .add("pi5/kernel_2712.img")
        .add("pi5/bcm2712-rpi-5-b.dtb");
    EXPECT_EQ(resolveBootChain(m, board(PiBoard::Pi4))->cmdline, "cmdline.txt");
    EXPECT_EQ(resolveBootChain(m, board(PiBoard::Pi5))->cmdline, "pi5/cmdline.txt");
}

TEST(BootConfig, FiltersOfDifferentTypesCombineAndAllResets) {
    MemFiles m;
    m.add("config.txt", "[pi4]\n[0x9ffefdef]\ncmdline=mine.txt\n[all]\nkernel=k.img\n");
    auto mine = evaluateBootConfig(m, board(PiBoard::Pi4, false, "9ffefdef"));
    auto other = evaluateBootConfig(m, board(PiBoard::Pi4, false, "11111111"));
    auto pi5 = evaluateBootConfig(m, board(PiBoard::Pi5, false, "9ffefdef"));
    ASSERT_TRUE(mine && other && pi5);
    EXPECT_EQ(mine->cmdline.value_or(""), "mine.txt");
    EXPECT_FALSE(other->cmdline);
    EXPECT_FALSE(pi5->cmdline);
    EXPECT_EQ(pi5->kernel.value_or(""), "k.img");  // after [all]
}

TEST(BootConfig, SameTypeFiltersReplaceEachOther) {
    MemFiles m;
    m.add("config.txt", "[pi5]\n[pi4]\ncmdline=four.txt\n");
    EXPECT_EQ(evaluateBootConfig(m, board(PiBoard::Pi4))->cmdline.value_or(""), "four.txt");
    EXPECT_FALSE(evaluateBootConfig(m, board(PiBoard::Pi5))->cmdline);
}

TEST(BootConfig, BoardTypeNoneGpioAndUnknownFilters) {
    MemFiles m;
    m.add("config.txt",
          "[board-type=0x14]\nkernel=cm4.img\n[all]\n[none]\ncmdline=never.txt\n[all]\n"
          "[gpio4=1]\nos_prefix=rescue/\n[all]\n[EDID=X]\ndevice_tree=x.dtb\n[all]\n"
          "[HDMI:0]\noverlay_prefix=ov/\n[all]\n[wat]\nramfsfile=no\n[all]\n");
    auto cm4 = evaluateBootConfig(m, board(PiBoard::Cm4));
    ASSERT_TRUE(cm4);
    EXPECT_EQ(cm4->kernel.value_or(""), "cm4.img");
    EXPECT_FALSE(cm4->cmdline);
    EXPECT_FALSE(cm4->osPrefix);
    EXPECT_FALSE(cm4->deviceTree);
    EXPECT_EQ(cm4->overlayPrefix.value_or(""), "ov/");
    EXPECT_FALSE(cm4->initramfs);
    EXPECT_GE(cm4->notes.size(), 3U);  // gpio, EDID and [wat] said so
    EXPECT_FALSE(evaluateBootConfig(m, board(PiBoard::Pi4))->kernel);
}

TEST(BootConfig, IncludeInsertsInPlaceAndIsBounded) {
    MemFiles m;
    m.add("config.txt", "include extra.txt\ncmdline=late.txt\n")
        .add("extra.txt", "[pi4]\nos_prefix=x/\n");
    auto pi4 = evaluateBootConfig(m, board(PiBoard::Pi4));
    ASSERT_TRUE(pi4);
    EXPECT_EQ(pi4->osPrefix.value_or(""), "x/");
    // The included [pi4] is still in force after the include (textual insertion).
    EXPECT_EQ(pi4->cmdline.value_or(""), "late.txt");
    EXPECT_FALSE(evaluateBootConfig(m, board(PiBoard::Pi5))->cmdline);
    ASSERT_EQ(pi4->configFiles.size(), 2U);

    MemFiles loop;
    loop.add("config.txt", "include config.txt\nkernel=k\n");
    auto r = evaluateBootConfig(loop, board(PiBoard::Pi4));
    ASSERT_TRUE(r);
    EXPECT_LE(r->configFiles.size(), static_cast<std::size_t>(kMaxBootConfigDepth + 1));
    EXPECT_EQ(r->kernel.value_or(""), "k");

    MemFiles wide;
    std::string many;
    for (int i = 0; i < 40; ++i) {
        many += "include a.txt\n";
    }
    wide.add("config.txt", many).add("a.txt", "kernel=a\n");
    auto w = evaluateBootConfig(wide, board(PiBoard::Pi4));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->configFiles.size(), kMaxBootConfigFiles);
}

TEST(BootConfig, LongLinesAreCutAt98Characters) {
    MemFiles m;
    std::string name(120, 'k');
    m.add("config.txt", "kernel=" + name + "\n");
    auto r = evaluateBootConfig(m, board(PiBoard::Pi4));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kernel->size(), kBootConfigLineChars - 7);
}

TEST(BootConfig, HostileInput) {
    MemFiles big;
    big.add("config.txt", std::string(kMaxBootConfigBytes + 1, '#'));
    EXPECT_FALSE(evaluateBootConfig(big, board(PiBoard::Pi4)));

    MemFiles lines;
    lines.add("config.txt", std::string(kMaxBootConfigLines + 1, '\n'));
    EXPECT_FALSE(evaluateBootConfig(lines, board(PiBoard::Pi4)));

    for (std::string cfg : {"os_prefix=../\n", "cmdline=../../etc/shadow\n", "kernel=a/./b\n",
                            "device_tree=x\\y.dtb\n"}) {
        MemFiles m;
        m.add("config.txt", cfg);
        auto c = resolveBootChain(m, board(PiBoard::Pi4));
        EXPECT_FALSE(c) << cfg;
        for (const auto& asked : m.asked) {
            EXPECT_TRUE(asked == "config.txt" || isSafeBootPath(asked)) << asked;
        }
    }
    MemFiles inc;
    inc.add("config.txt", "include ../x.txt\n");
    EXPECT_FALSE(evaluateBootConfig(inc, board(PiBoard::Pi4)));

    MemFiles ctl;
    static constexpr char kCtl[] = "cmdline=a\x01.txt\nkernel=ok\0.img\n";
    ctl.add("config.txt", std::string(kCtl, sizeof(kCtl) - 1));
    auto r = evaluateBootConfig(ctl, board(PiBoard::Pi4));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->cmdline);
    EXPECT_FALSE(r->kernel);
}

TEST(BootConfig, AbsoluteNamesBypassThePrefix) {
    MemFiles m;
    m.add("config.txt", "os_prefix=p/\nkernel=/common.img\ncmdline=/shared.txt\n")
        .add("common.img")
        .add("p/bcm2711-rpi-4-b.dtb")
        .add("shared.txt");
    auto c = resolveBootChain(m, board(PiBoard::Pi4));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->osPrefix, "p/");
    EXPECT_EQ(c->kernel, "common.img");
    EXPECT_EQ(c->cmdline, "shared.txt");
    EXPECT_TRUE(c->complete());
}

TEST(BootConfig, AutoInitramfsFollowsTheKernelName) {
    MemFiles m;
    m.add("config.txt", "auto_initramfs=1\n").add("kernel_2712.img").add("initramfs_2712");
    auto c = resolveBootChain(m, board(PiBoard::Pi5));
    ASSERT_TRUE(c);
    ASSERT_EQ(c->initramfs.size(), 1U);
    EXPECT_EQ(c->initramfs[0], "initramfs_2712");
}

TEST(BootConfig, MissingConfigMeansDefaults) {
    MemFiles m;
    m.add("cmdline.txt").add("kernel8.img").add("bcm2711-rpi-4-b.dtb");
    auto c = resolveBootChain(m, board(PiBoard::Pi4));
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->settings.configFound);
    EXPECT_TRUE(c->complete());
}

TEST(BootConfig, SafePaths) {
    EXPECT_TRUE(isSafeBootPath("current/cmdline.txt"));
    EXPECT_TRUE(isSafeBootPath("test-kernel.img"));
    for (std::string_view p : {"", "/abs", "a//b", "a/", "..", "a/../b", "./a", "a\\b"}) {
        EXPECT_FALSE(isSafeBootPath(p)) << p;
    }
    EXPECT_FALSE(isSafeBootPath(std::string(kMaxBootPathChars + 1, 'a')));
}

TEST(BootConfig, BoardCodes) {
    for (auto b : allPiBoards()) {
        EXPECT_EQ(parsePiBoard(piBoardCode(b)), b);
        EXPECT_FALSE(defaultDtb(b).empty());
    }
    EXPECT_FALSE(parsePiBoard("pi3"));
}

}  // namespace
}  // namespace pinet::proto::netboot
