#include "io/net/neighbour_limits.h"

#include <gtest/gtest.h>

#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::io {
namespace {

TEST(NeighbourLimits, ReadsDefaultAndInterfaceValues) {
    TempDir dir("pnb-neigh");
    std::filesystem::create_directories(dir.path() / "default");
    std::filesystem::create_directories(dir.path() / "eth1");
    test::writeText(dir.path() / "default" / "gc_thresh1", "128\n");
    test::writeText(dir.path() / "default" / "gc_thresh2", "512\n");
    test::writeText(dir.path() / "default" / "gc_thresh3", "1024\n");
    test::writeText(dir.path() / "eth1" / "gc_thresh3", "300\n");
    const auto l = readNeighbourLimits("eth1", dir.path());
    EXPECT_EQ(l.gcThresh1, 128u);
    EXPECT_EQ(l.gcThresh2, 512u);
    EXPECT_EQ(l.gcThresh3, 1024u);
    EXPECT_EQ(l.interfaceThresh3, 300u);
    EXPECT_EQ(l.directory, dir.path().string());
}

TEST(NeighbourLimits, MissingOrGarbledValuesStayUnset) {
    TempDir dir("pnb-neigh");
    std::filesystem::create_directories(dir.path() / "default");
    test::writeText(dir.path() / "default" / "gc_thresh3", "lots\n");
    test::writeText(dir.path() / "default" / "gc_thresh2", "12x\n");
    const auto l = readNeighbourLimits("eth0", dir.path());
    EXPECT_FALSE(l.gcThresh1);
    EXPECT_FALSE(l.gcThresh2);
    EXPECT_FALSE(l.gcThresh3);
    EXPECT_FALSE(l.interfaceThresh3);
}

TEST(NeighbourLimits, InterfaceNamesThatAreNotNamesAreNotLookedUp) {
    TempDir dir("pnb-neigh");
    std::filesystem::create_directories(dir.path() / "default");
    test::writeText(dir.path() / "default" / "gc_thresh3", "1024\n");
    // "../<dir>/default" would reach default/gc_thresh3 again through the parent.
    const std::string sneaky = "../" + dir.path().filename().string() + "/default";
    for (const std::string& name :
         {std::string(".."), std::string("."), sneaky, std::string("a-name-too-long-for-linux")}) {
        EXPECT_FALSE(readNeighbourLimits(name, dir.path()).interfaceThresh3) << name;
    }
}

}  // namespace
}  // namespace pinet::io
