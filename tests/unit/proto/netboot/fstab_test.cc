#include "proto/netboot/fstab.h"

#include <gtest/gtest.h>

namespace pinet::proto::netboot {
namespace {

const char* kPiOs =
    "proc            /proc           proc    defaults          0       0\n"
    "PARTUUID=1234abcd-01  /boot/firmware  vfat    defaults          0       2\n"
    "PARTUUID=1234abcd-02  /               ext4    defaults,noatime  0       1\n"
    "# a swapfile is not a swap partition, no line here\n";

TEST(FstabTest, CommentsOutSdLinesKeepsTheRest) {
    auto r = rewriteFstab(kPiOs, {});
    EXPECT_EQ(r.commented, 2);
    EXPECT_EQ(
        r.text,
        "proc            /proc           proc    defaults          0       0\n"
        "#pinetboot-sd# PARTUUID=1234abcd-01  /boot/firmware  vfat    defaults          0       2\n"
        "#pinetboot-sd# PARTUUID=1234abcd-02  /               ext4    defaults,noatime  0       1\n"
        "# a swapfile is not a swap partition, no line here\n");
}

TEST(FstabTest, Table) {
    struct Case {
        const char* line;
        bool disabled;
    };
    const Case cases[] = {
        {"/dev/mmcblk0p1 /boot vfat defaults 0 2", true},
        {"/dev/mmcblk0p2 / ext4 defaults 0 1", true},
        {"UUID=abcd-1234 / ext4 defaults 0 1", true},
        {"LABEL=bootfs /boot/firmware vfat defaults 0 2", true},
        {"UUID=abcd /data ext4 defaults 0 2", false},  // not the SD root/boot: kept
        {"tmpfs /tmp tmpfs defaults 0 0", false},
        {"10.0.0.1:/srv/x /mnt nfs defaults 0 0", false},
        {"#PARTUUID=1-01 /boot vfat defaults 0 2", false},  // already a comment
        {"", false},
    };
    for (const auto& c : cases) {
        auto r = rewriteFstab(std::string(c.line) + "\n", {});
        EXPECT_EQ(r.commented, c.disabled ? 1 : 0) << c.line;
        EXPECT_EQ(r.text.rfind("#pinetboot-sd# ", 0) == 0, c.disabled) << c.line;
    }
}

TEST(FstabTest, BootMountIsAddedOnceAndRewriteIsIdempotent) {
    FstabOptions o;
    o.bootSource = "10.0.0.1:/var/lib/pinetboot/tftp/9ffefdef";
    o.nfsVersion = "4.1";
    auto r1 = rewriteFstab(kPiOs, o);
    EXPECT_NE(r1.text.find("10.0.0.1:/var/lib/pinetboot/tftp/9ffefdef /boot/firmware nfs "
                           "defaults,vers=4.1,proto=tcp,nolock 0 0\n"),
              std::string::npos);
    auto r2 = rewriteFstab(r1.text, o);
    EXPECT_EQ(r2.text, r1.text);
    // and removing the boot mount later drops the added line
    auto r3 = rewriteFstab(r1.text, {});
    EXPECT_EQ(r3.text.find("/boot/firmware nfs"), std::string::npos);
    EXPECT_EQ(r3.text, rewriteFstab(kPiOs, {}).text);
}

}  // namespace
}  // namespace pinet::proto::netboot
