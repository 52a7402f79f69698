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

namespace pinet::proto::netboot {
namespace {

TEST(CmdlineNbd, ReplacesTheSdRootAndKeepsTheRest) {
    auto out = rewriteCmdlineNbd(
        "console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 rootfstype=ext4 "
        "fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n",
        NbdRoot{"10.0.0.1", 10810, "0123abcd"});
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out,
              "console=serial0,115200 console=tty1 root=/dev/nbd0 "
              "nbdroot=10.0.0.1:10810/0123abcd rootfstype=ext4 ip=dhcp rw rootwait "
              "fsck.repair=yes quiet\n");
}

TEST(CmdlineNbd, ReplacesAnNfsRootAndIsIdempotent) {
    NbdRoot nbd{"10.0.0.1", 10811, "89abcdef"};
    auto once = rewriteCmdlineNbd(
        "root=/dev/nfs nfsroot=10.0.0.1:/srv/r,vers=3,tcp ip=dhcp rw rootwait console=tty1", nbd);
    ASSERT_TRUE(once);
    EXPECT_EQ(*once,
              "root=/dev/nbd0 nbdroot=10.0.0.1:10811/89abcdef rootfstype=ext4 ip=dhcp rw "
              "rootwait console=tty1\n");
    auto twice = rewriteCmdlineNbd(*once, nbd);
    ASSERT_TRUE(twice);
    EXPECT_EQ(*twice, *once);
    // and back to NFS: no nbdroot= left behind
    auto nfs = rewriteCmdline(*once, NfsRoot{"10.0.0.1", "/srv/r", "3"});
    ASSERT_TRUE(nfs);
    EXPECT_EQ(nfs->find("nbd"), std::string::npos) << *nfs;
}

TEST(CmdlineNbd, AWholeDiskExportNamesItsRootPartition) {
    // An image served in place: the board's disk is the whole image, root on partition 2.
    auto out = rewriteCmdlineNbd("console=tty1 root=PARTUUID=1234abcd-02 rootwait",
                                 NbdRoot{"10.0.0.1", 10810, "0123abcd", "/dev/nbd0p2"});
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out,
              "console=tty1 root=/dev/nbd0p2 nbdroot=10.0.0.1:10810/0123abcd rootfstype=ext4 "
              "ip=dhcp rw rootwait\n");
    // Rewritten again (client set): the partition root is replaced, not doubled.
    auto again = rewriteCmdlineNbd(*out, NbdRoot{"10.0.0.1", 10810, "0123abcd", "/dev/nbd0p2"});
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *out);
    for (const char* dev : {"/dev/nbd0p0", "/dev/nbd0p", "/dev/nbd0p129", "/dev/nbd0p02",
                            "/dev/nbd1", "/dev/sda2", "/dev/nbd0p2 x", "/dev/nbd0p+2"}) {
        EXPECT_FALSE(rewriteCmdlineNbd("root=/dev/sda2", NbdRoot{"10.0.0.1", 10810, "a", dev}))
            << dev;
    }
}

TEST(CmdlineNbd, NoRootArgumentAppendsOne) {
    auto out =
        rewriteCmdlineNbd("console=tty1 nbddev=/dev/nbd3", NbdRoot{"192.168.1.5", 20000, "a"});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out,
              "console=tty1 root=/dev/nbd0 nbdroot=192.168.1.5:20000/a rootfstype=ext4 "
              "ip=dhcp rw rootwait\n");
}

TEST(CmdlineNbd, RefusesWhatTheHookWouldSplit) {
    // The hook cuts SERVER at the first ':' or '/', and the name goes unquoted to -N.
    for (const char* server : {"", "10.0.0.1:80", "a b", "fe80::1", "x/y", "a,b"}) {
        EXPECT_FALSE(rewriteCmdlineNbd("root=/dev/x", NbdRoot{server, 10810, "n"})) << server;
    }
    for (const char* name : {"", "a/b", "a b", "a,b", "a:b", "\"a\""}) {
        EXPECT_FALSE(rewriteCmdlineNbd("root=/dev/x", NbdRoot{"10.0.0.1", 10810, name})) << name;
    }
    EXPECT_FALSE(rewriteCmdlineNbd("root=/dev/x", NbdRoot{"10.0.0.1", 0, "n"}));
}

}  // namespace
}  // namespace pinet::proto::netboot
