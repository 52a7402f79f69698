#include "proto/netboot/cmdline.h"

#include <gtest/gtest.h>

namespace pinet::proto::netboot {
namespace {

struct Case {
    const char* in;
    const char* version;
    const char* out;
};

TEST(CmdlineTest, RewriteTable) {
    const Case cases[] = {
        // Raspberry Pi OS Bookworm default (with the first-boot resize hook)
        {"console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 rootfstype=ext4 "
         "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n",
         "3",
         "console=serial0,115200 console=tty1 root=/dev/nfs "
         "nfsroot=10.0.0.1:/srv/r,vers=3,tcp ip=dhcp rw rootwait fsck.repair=yes quiet\n"},
        // the seed's example, NFSv4.1, elevator kept
        {"console=serial0,115200 console=tty1 root=PARTUUID=01234567-02 rootfstype=ext4 "
         "elevator=deadline fsck.repair=yes rootwait",
         "4.1",
         "console=serial0,115200 console=tty1 root=/dev/nfs "
         "nfsroot=10.0.0.1:/srv/r,vers=4.1,tcp ip=dhcp rw rootwait elevator=deadline "
         "fsck.repair=yes\n"},
        // already NFS: old nfsroot/ip replaced, not duplicated
        {"root=/dev/nfs nfsroot=1.2.3.4:/old,vers=3 ip=dhcp rw rootwait console=tty1", "3",
         "root=/dev/nfs nfsroot=10.0.0.1:/srv/r,vers=3,tcp ip=dhcp rw rootwait console=tty1\n"},
        // no root= at all: appended; quoted value with a space kept
        {"console=tty1 dyndbg=\"file x +p\" ro", "3",
         "console=tty1 dyndbg=\"file x +p\" root=/dev/nfs nfsroot=10.0.0.1:/srv/r,vers=3,tcp "
         "ip=dhcp rw rootwait\n"},
        // an unrelated init= is kept
        {"root=/dev/mmcblk0p2 init=/bin/systemd", "3",
         "root=/dev/nfs nfsroot=10.0.0.1:/srv/r,vers=3,tcp ip=dhcp rw rootwait "
         "init=/bin/systemd\n"},
    };
    for (const auto& c : cases) {
        auto r = rewriteCmdline(c.in, NfsRoot{"10.0.0.1", "/srv/r", c.version});
        ASSERT_TRUE(r) << c.in;
        EXPECT_EQ(*r, c.out) << c.in;
        // rewriting twice is stable
        auto again = rewriteCmdline(*r, NfsRoot{"10.0.0.1", "/srv/r", c.version});
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, *r);
    }
}

TEST(CmdlineTest, RejectsBadParameters) {
    EXPECT_FALSE(rewriteCmdline("root=x", NfsRoot{"", "/a", "3"}));
    EXPECT_FALSE(rewriteCmdline("root=x", NfsRoot{"10.0.0.1", "relative", "3"}));
    EXPECT_FALSE(rewriteCmdline("root=x", NfsRoot{"10.0.0.1", "/a b", "3"}));
    EXPECT_FALSE(rewriteCmdline("root=x", NfsRoot{"10.0.0.1", "/a,b", "3"}));
    EXPECT_FALSE(rewriteCmdline("root=x", NfsRoot{"10.0.0.1", "/a", "2"}));
}

TEST(CmdlineTest, NfsRootOf) {
    auto p = nfsRootOf("console=tty1 root=/dev/nfs nfsroot=10.0.0.1:/srv/r,vers=3,tcp ip=dhcp");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server, "10.0.0.1");
    EXPECT_EQ(p->exportPath, "/srv/r");
    EXPECT_EQ(p->options, "vers=3,tcp");
    EXPECT_FALSE(nfsRootOf("root=PARTUUID=1-02"));
    EXPECT_FALSE(nfsRootOf("nfsroot=/x"));
}

}  // namespace
}  // namespace pinet::proto::netboot

// Issue #15: a shared root is exported ro, so the kernel must mount it ro (cmdline said rw).
TEST(Cmdline, ReadOnlyExportMountsRo) {
    pinet::proto::netboot::NfsRoot nfs{"10.0.0.1", "/srv/img/root", "3", true};
    auto r = pinet::proto::netboot::rewriteCmdline(
        "console=tty1 root=PARTUUID=abcd-02 rootfstype=ext4 rw fsck.repair=yes\n", nfs);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r,
              "console=tty1 root=/dev/nfs nfsroot=10.0.0.1:/srv/img/root,vers=3,tcp ip=dhcp ro "
              "rootwait fsck.repair=yes\n");
}
