#include "io/fs/in_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pinet::io
