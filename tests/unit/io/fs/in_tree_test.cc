#include "io/fs/in_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "io/file.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

TEST(InTree, OpensPlainPathsAndNoSymlinkAnywhere) {
    TempDir t("in-tree");
    fs::create_directories(t.path() / "a" / "b");
    std::ofstream(t.path() / "a" / "b" / "f") << "x";
    fs::create_directory_symlink(t.path() / "a", t.path() / "link");
    fs::create_symlink("f", t.path() / "a" / "b" / "flink");
    Fd root(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root);

    EXPECT_TRUE(openInTree(root.get(), "a/b/f", O_RDONLY));
    auto mid = openInTree(root.get(), "link/b/f", O_RDONLY);  // symlink inside the tree
    ASSERT_FALSE(mid);
    EXPECT_NE(mid.error().message.find("symlink"), std::string::npos) << mid.error().message;
    EXPECT_LT(openInTreeRaw(root.get(), "a/b/flink", O_RDONLY), 0);  // last component too
    EXPECT_TRUE(errno == ELOOP || errno == EXDEV) << errno;
    EXPECT_LT(openInTreeRaw(root.get(), "a/../a/b/f", O_RDONLY), 0);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_LT(openInTreeRaw(root.get(), "/etc/passwd", O_RDONLY), 0);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_LT(openInTreeRaw(root.get(), "a/missing", O_RDONLY), 0);
    EXPECT_EQ(errno, ENOENT);
}

std::string lget(const fs::path& p, const char* name) {
    std::array<char, 256> v{};
    ssize_t n = ::lgetxattr(p.c_str(), name, v.data(), v.size());
    return n < 0 ? "<none>" : std::string(v.data(), static_cast<std::size_t>(n));
}

// What the import applies from the reader's manifest: on the entry itself
// (a symlink gets it, its target does not), the top too, never through a
// symlinked directory. user.* stands in where root's security.* is not
// available; the path handling is the same.
TEST(InTree, SetsAttributesWithoutFollowingSymlinks) {
    TempDir t("in-tree-xattr");
    fs::create_directories(t.path() / "a" / "b");
    std::ofstream(t.path() / "a" / "b" / "f") << "x";
    std::ofstream(t.path() / "outside") << "o";
    fs::create_symlink("f", t.path() / "a" / "b" / "flink");
    fs::create_directory_symlink(t.path() / "a", t.path() / "dlink");
    Fd root(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root);
    const bool privileged = ::geteuid() == 0;
    const std::string name = privileged ? "security.test" : "user.test";
    auto set = [&](const std::string& rel, const std::string& v) {
        return setXattrInTree(root.get(), rel, name,
                              std::span(reinterpret_cast<const std::uint8_t*>(v.data()), v.size()));
    };

    ASSERT_TRUE(set("a/b/f", "file"));
    EXPECT_EQ(lget(t.path() / "a/b/f", name.c_str()), "file");
    ASSERT_TRUE(set("", "top"));
    EXPECT_EQ(lget(t.path(), name.c_str()), "top");
    if (privileged) {  // the kernel takes user.* on regular files and directories only
        ASSERT_TRUE(set("a/b/flink", "link"));
        EXPECT_EQ(lget(t.path() / "a/b/flink", name.c_str()), "link");
        EXPECT_EQ(lget(t.path() / "a/b/f", name.c_str()), "file");  // target untouched
    }
    auto through = set("dlink/b/f", "via");
    ASSERT_FALSE(through);
    EXPECT_TRUE(errno == ELOOP || errno == EXDEV) << errno;
    EXPECT_NE(through.error().message.find("symlink"), std::string::npos);
    EXPECT_EQ(lget(t.path() / "a/b/f", name.c_str()), "file");
    EXPECT_FALSE(set("../outside", "up"));
    EXPECT_FALSE(set("a/..", "up"));
    EXPECT_FALSE(set("a/missing", "none"));
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(lget(t.path() / "outside", name.c_str()), "<none>");
}

}  // namespace
}  // namespace pinet::io
