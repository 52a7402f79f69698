#include "app/client/root_edit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

using test::writeText;

std::string slurp(const fs::path& p) {
    return test::readText(p);
}

class RootEdit : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = tmp_.path() / "root";
        tmpl_ = tmp_.path() / "template";
        outside_ = tmp_.path() / "outside";
        fs::create_directories(root_);
        fs::create_directories(tmpl_);
        fs::create_directories(outside_);
    }
    io::TempDir tmp_{"root-edit"};
    fs::path root_, tmpl_, outside_;
};

// A client's tree with "etc -> <outside>": writes are refused, nothing lands
// outside, and reads through it see nothing.
TEST_F(RootEdit, SymlinkedDirectoryIsNeverFollowed) {
    fs::create_directory_symlink(outside_, root_ / "etc");
    writeText(outside_ / "hostname", "host's");
    auto w = writeRootFile(root_, tmpl_, "etc/hostname", "pi\n");
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message.find("refusing to write through it"), std::string::npos)
        << w.error().message;
    EXPECT_EQ(slurp(outside_ / "hostname"), "host's");
    EXPECT_FALSE(writeRootSymlink(root_, tmpl_, "etc/x", "y"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(outside_ / "x")));
    auto r = readRootFile(root_, "etc/hostname");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
    EXPECT_FALSE(rootPathExists(root_, "etc/hostname"));
    EXPECT_TRUE(rootPathExists(root_, "etc"));  // the link itself exists
}

// The seed's fstab -> /boot/fstab trick: the symlink is replaced by a file.
TEST_F(RootEdit, SymlinkedFileIsReplacedNotFollowed) {
    fs::create_directories(root_ / "etc");
    writeText(outside_ / "fstab", "host's");
    fs::create_symlink(outside_ / "fstab", root_ / "etc" / "fstab");
    auto r0 = readRootFile(root_, "etc/fstab");
    ASSERT_TRUE(r0);
    EXPECT_FALSE(r0->has_value());
    ASSERT_TRUE(writeRootFile(root_, tmpl_, "etc/fstab", "proc /proc proc defaults 0 0\n"));
    EXPECT_EQ(fs::symlink_status(root_ / "etc" / "fstab").type(), fs::file_type::regular);
    EXPECT_EQ(slurp(outside_ / "fstab"), "host's");
    auto r = readRootFile(root_, "etc/fstab");
    ASSERT_TRUE(r && r->has_value());
    EXPECT_EQ(**r, "proc /proc proc defaults 0 0\n");
}

// Missing parents take the template's owner and mode, the file the
// template file's.
TEST_F(RootEdit, NewParentsAndFilesTakeTheTemplatesMetadata) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root (owners)";
    }
    fs::create_directories(tmpl_ / "home" / "pi");
    ASSERT_EQ(::chown((tmpl_ / "home" / "pi").c_str(), 1000, 1000), 0);
    ASSERT_EQ(::chmod((tmpl_ / "home" / "pi").c_str(), 0700), 0);
    writeText(tmpl_ / "home" / "pi" / "notes", "old");
    ASSERT_EQ(::chown((tmpl_ / "home" / "pi" / "notes").c_str(), 1000, 1000), 0);
    ASSERT_EQ(::chmod((tmpl_ / "home" / "pi" / "notes").c_str(), 0600), 0);
    ASSERT_TRUE(writeRootFile(root_, tmpl_, "home/pi/notes", "new"));
    struct stat st {};
    ASSERT_EQ(::lstat((root_ / "home" / "pi").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_EQ(::lstat((root_ / "home" / "pi" / "notes").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(slurp(root_ / "home" / "pi" / "notes"), "new");
    ASSERT_TRUE(writeRootSymlink(root_, tmpl_, "home/pi/link", "notes"));
    EXPECT_EQ(fs::read_symlink(root_ / "home" / "pi" / "link"), "notes");
}

TEST_F(RootEdit, PathsWithDotDotAreRefused) {
    EXPECT_FALSE(writeRootFile(root_, tmpl_, "../escape", "x"));
    EXPECT_FALSE(readRootFile(root_, "etc/../../x"));
    EXPECT_FALSE(rootPathExists(root_, "/etc"));
    EXPECT_FALSE(fs::exists(tmp_.path() / "escape"));
}

}  // namespace
}  // namespace pinet::app
