#include "io/systemd/unit_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMarker = "# Written by the test";

UnitFile unit(const std::string& name, const std::string& body) {
    return {name, std::string(kMarker) + "\n" + body};
}

TEST(UnitFiles, WritesLinksReplacesAndRemovesOnlyItsOwn) {
    TempDir dir("unit-files");
    const fs::path d = dir.path();
    test::writeText(d / "admin.mount", "[Mount]\nWhat=/dev/sdb1\n");  // the administrator's

    auto r = syncUnitFiles(d, {unit("a.mount", "A1"), unit("b.mount", "B1")}, kMarker,
                           "multi-user.target");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->written, (std::vector<std::string>{"a.mount", "b.mount"}));
    EXPECT_EQ(fs::read_symlink(d / "multi-user.target.wants/a.mount"), "../a.mount");
    EXPECT_EQ(test::readText(d / "b.mount"), std::string(kMarker) + "\nB1");

    // Unchanged a, changed b, c gone: only b rewritten; nothing removed yet.
    r = syncUnitFiles(d, {unit("a.mount", "A1"), unit("b.mount", "B2")}, kMarker,
                      "multi-user.target");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->written, (std::vector<std::string>{"b.mount"}));
    EXPECT_TRUE(r->removed.empty());

    // b no longer wanted: removed with its link; the administrator's unit stays.
    r = syncUnitFiles(d, {unit("a.mount", "A1")}, kMarker, "multi-user.target");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->removed, (std::vector<std::string>{"b.mount"}));
    EXPECT_FALSE(fs::exists(d / "b.mount"));
    EXPECT_FALSE(fs::is_symlink(d / "multi-user.target.wants/b.mount"));
    EXPECT_TRUE(fs::exists(d / "admin.mount"));

    // A name taken by a file pinetboot did not write is refused, and kept.
    r = syncUnitFiles(d, {unit("admin.mount", "mine")}, kMarker, "multi-user.target");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not written by pinetboot"), std::string::npos);
    EXPECT_EQ(test::readText(d / "admin.mount"), "[Mount]\nWhat=/dev/sdb1\n");

    EXPECT_FALSE(syncUnitFiles(d, {unit("../x.mount", "x")}, kMarker, "multi-user.target"));
    EXPECT_FALSE(syncUnitFiles(d, {{"y.mount", "no marker"}}, kMarker, "multi-user.target"));

    auto gone = removeUnitFile(d / "a.mount", kMarker, "multi-user.target");
    ASSERT_TRUE(gone) << gone.error().message;
    EXPECT_TRUE(*gone);
    EXPECT_FALSE(fs::exists(d / "a.mount"));
    EXPECT_FALSE(fs::is_symlink(d / "multi-user.target.wants/a.mount"));
    EXPECT_FALSE(*removeUnitFile(d / "admin.mount", kMarker, "multi-user.target"));
    EXPECT_TRUE(fs::exists(d / "admin.mount"));
}

}  // namespace
}  // namespace pinet::io
