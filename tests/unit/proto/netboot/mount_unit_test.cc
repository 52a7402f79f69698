#include "proto/netboot/mount_unit.h"

#include <gtest/gtest.h>

namespace pinet::proto::netboot {
namespace {

// Expected values from `systemd-escape --path` (systemd 252, Debian 12).
TEST(MountUnit, EscapesLikeSystemdEscapePath) {
    EXPECT_EQ(systemdEscapePath("/var/lib/pinetboot/roots/1234abcd/merged"),
              "var-lib-pinetboot-roots-1234abcd-merged");
    EXPECT_EQ(systemdEscapePath("/tmp/pnb-first.user/state/roots/1234abcd/merged"),
              "tmp-pnb\\x2dfirst.user-state-roots-1234abcd-merged");
    EXPECT_EQ(systemdEscapePath("/a b/c,d/.e/x_y:z/\xc3\xa9"),
              "a\\x20b-c\\x2cd-.e-x_y:z-\\xc3\\xa9");
    EXPECT_EQ(systemdEscapePath("//srv//nfs/"), "srv-nfs");
    EXPECT_EQ(systemdEscapePath("/.hidden/x"), "\\x2ehidden-x");
    EXPECT_EQ(systemdEscapePath("/"), "-");
}

OverlayMount sample() {
    return {"1234abcd", "/var/lib/pinetboot/images/os/root",
            "/var/lib/pinetboot/roots/1234abcd/upper", "/var/lib/pinetboot/roots/1234abcd/work",
            "/var/lib/pinetboot/roots/1234abcd/merged"};
}

TEST(MountUnit, RendersTheOverlayItMountsAndNothingBootCritical) {
    const auto m = sample();
    EXPECT_EQ(mountUnitName(m), "var-lib-pinetboot-roots-1234abcd-merged.mount");
    auto u = renderOverlayMountUnit(m);
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u->rfind(kMountUnitMarker, 0), 0u);
    EXPECT_NE(u->find("\nWhere=/var/lib/pinetboot/roots/1234abcd/merged\n"), std::string::npos);
    EXPECT_NE(u->find("\nType=overlay\n"), std::string::npos);
    EXPECT_NE(u->find("\nOptions=lowerdir=/var/lib/pinetboot/images/os/root,upperdir=/var/lib/"
                      "pinetboot/roots/1234abcd/upper,workdir=/var/lib/pinetboot/roots/1234abcd/"
                      "work,index=on,nfs_export=on,nofail\n"),
              std::string::npos)
        << *u;
    EXPECT_NE(u->find("\nWantedBy=multi-user.target\n"), std::string::npos);
    EXPECT_EQ(u->find("local-fs.target"), std::string::npos);
    EXPECT_NE(u->find("Before=nfs-server.service"), std::string::npos);
}

TEST(MountUnit, RefusesPathsAMountOptionOrUnitFileWouldMisread) {
    for (const char* bad : {"/srv/a,b", "/srv/a:b", "/srv/a b", "/srv/100%", "/srv/a\\b",
                            "/srv/a\nb", "srv/relative", ""}) {
        auto m = sample();
        m.upper = bad;
        auto u = renderOverlayMountUnit(m);
        EXPECT_FALSE(u) << bad;
    }
}

}  // namespace
}  // namespace pinet::proto::netboot
