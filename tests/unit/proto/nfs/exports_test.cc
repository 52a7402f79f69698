#include "proto/nfs/exports.h"

#include <gtest/gtest.h>

namespace pinet::proto::nfs {
namespace {

TEST(ExportsTest, KernelLines) {
    Export root{
        "/var/lib/pinetboot/roots/9ffefdef", {"10.0.0.5"}, false, true, 7, "client 9ffefdef"};
    Export shared{"/var/lib/pinetboot/images/os/root", {"10.0.0.5", "10.0.0.6"}, true, true, 3, ""};
    Export boot{"/srv/tftp/9ffefdef", {"10.0.0.0/24"}, true, false, 8, ""};
    auto r = renderKernelExports({root, shared, boot});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->find("# client 9ffefdef\n\"/var/lib/pinetboot/roots/9ffefdef\" "
                      "10.0.0.5(rw,sync,no_subtree_check,no_root_squash,fsid=7)\n"),
              std::string::npos);
    EXPECT_NE(r->find("\"/var/lib/pinetboot/images/os/root\" "
                      "10.0.0.5(ro,sync,no_subtree_check,no_root_squash,fsid=3) "
                      "10.0.0.6(ro,sync,no_subtree_check,no_root_squash,fsid=3)\n"),
              std::string::npos);
    EXPECT_NE(
        r->find("\"/srv/tftp/9ffefdef\" 10.0.0.0/24(ro,sync,no_subtree_check,root_squash,fsid=8)"),
        std::string::npos);
    EXPECT_EQ(r->find('*'), std::string::npos);
}

TEST(ExportsTest, RefusesUnsafeExports) {
    EXPECT_FALSE(renderKernelExports({Export{"/a", {}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"/a", {"*"}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"/a", {"10.0.0.0/33"}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"/a", {"10.0.0.256"}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"relative", {"10.0.0.1"}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"/a\"b", {"10.0.0.1"}, false, true, 1, ""}}));
    EXPECT_FALSE(renderKernelExports({Export{"/a\nb", {"10.0.0.1"}, false, true, 1, ""}}));
    EXPECT_FALSE(
        renderGaneshaConfig({Export{"/a", {"host.example"}, false, true, 1, ""}}, {"/r", 2049}));
    EXPECT_TRUE(isIpv4OrSubnet("192.168.1.0/24"));
    EXPECT_FALSE(isIpv4OrSubnet("192.168.1"));
    EXPECT_FALSE(isIpv4OrSubnet("1.2.3.4/"));
}

TEST(ExportsTest, GaneshaConfig) {
    Export root{"/s/roots/9ffefdef", {"10.99.0.2"}, false, true, 5, "client 9ffefdef"};
    Export boot{"/s/tftp/9ffefdef", {"10.99.0.0/24"}, true, false, 6, ""};
    auto r = renderGaneshaConfig({root, boot}, {"/s/nfs/recovery", 2049});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->find("RecoveryRoot = \"/s/nfs/recovery\";"), std::string::npos);
    EXPECT_NE(r->find("Graceless = true;"), std::string::npos);
    EXPECT_NE(r->find("Export_Id = 5;\n    Path = \"/s/roots/9ffefdef\";\n"
                      "    Pseudo = \"/s/roots/9ffefdef\";"),
              std::string::npos);
    // default deny, then the one client with the right access and squash
    EXPECT_NE(r->find("Access_Type = None;"), std::string::npos);
    EXPECT_NE(r->find("Clients = 10.99.0.2;\n        Access_Type = RW;\n        "
                      "Squash = No_Root_Squash;"),
              std::string::npos);
    EXPECT_NE(r->find("Clients = 10.99.0.0/24;\n        Access_Type = RO;\n        "
                      "Squash = Root_Squash;"),
              std::string::npos);
}

}  // namespace
}  // namespace pinet::proto::nfs
