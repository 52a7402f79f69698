#include "io/fs/tree_copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/fd.h"
#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

using test::writeText;

std::string slurp(const fs::path& p) {
    return test::readText(p);
}

// Issue #13 item 5: a 2 GiB sparse file stays sparse in a copy, with its
// data where it was.
TEST(TreeCopy, CopyKeepsHoles) {
    TempDir t("tree-copy");
    fs::path src = t.path() / "src";
    fs::create_directories(src);
    {
        Fd f(::open((src / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        ASSERT_TRUE(f);
        ASSERT_EQ(::pwrite(f.get(), "head", 4, 0), 4);
        ASSERT_EQ(::pwrite(f.get(), "middle", 6, off_t{1} << 30), 6);
        ASSERT_EQ(::ftruncate(f.get(), off_t{2} << 30), 0);
    }
    auto r = copyTree(src, t.path() / "dst", [](const std::string&) { return FileShare::Copy; });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->copied, 1u);
    fs::path d = t.path() / "dst" / "sparse";
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, off_t{2} << 30);
    EXPECT_LT(st.st_blocks * 512, 4 << 20) << "the holes were written";
    EXPECT_LT(r->bytesCopied, std::uint64_t{4} << 20);
    Fd f(::open(d.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f);
    char buf[6] = {};
    ASSERT_EQ(::pread(f.get(), buf, 4, 0), 4);
    EXPECT_EQ(std::string(buf, 4), "head");
    ASSERT_EQ(::pread(f.get(), buf, 6, off_t{1} << 30), 6);
    EXPECT_EQ(std::string(buf, 6), "middle");
    ASSERT_EQ(::pread(f.get(), buf, 6, (off_t{1} << 30) - 6), 6);
    EXPECT_EQ(std::string(buf, 6), std::string(6, '\0'));
}

TEST(TreeCopy, CopiesFilesLinksAndDirectories) {
    TempDir t("tree-copy");
    fs::path src = t.path() / "src";
    fs::create_directories(src / "etc" / "sub");
    writeText(src / "etc" / "hostname", "pi\n");
    ASSERT_EQ(::chmod((src / "etc" / "hostname").c_str(), 0640), 0);
    ASSERT_EQ(::link((src / "etc/hostname").c_str(), (src / "etc/sub/again").c_str()), 0);
    ASSERT_EQ(::symlink("../etc/hostname", (src / "etc" / "sub" / "link").c_str()), 0);
    auto r = copyTree(src, t.path() / "dst", nullptr);
    ASSERT_TRUE(r) << r.error().message;
    fs::path d = t.path() / "dst";
    EXPECT_EQ(slurp(d / "etc" / "hostname"), "pi\n");
    EXPECT_EQ(fs::read_symlink(d / "etc" / "sub" / "link"), "../etc/hostname");
    EXPECT_EQ(fs::hard_link_count(d / "etc" / "hostname"), 2u);
    struct stat st {};
    ASSERT_EQ(::stat((d / "etc" / "hostname").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
}

// Issue #13 item 10: the walk holds each directory open. A directory swapped
// for a symlink to somewhere else half-way through its copy (here from the
// share policy, which runs per file during the walk) is not followed: the
// rest of it is read from the directory that was opened, never from outside.
TEST(TreeCopy, DirectorySwappedForASymlinkDuringTheWalkIsNotFollowed) {
    TempDir t("tree-copy");
    fs::path src = t.path() / "src";
    fs::path outside = t.path() / "outside";
    fs::create_directories(src / "a");
    fs::create_directories(outside);
    writeText(src / "a" / "f1", "one");
    writeText(src / "a" / "f2", "orig");
    writeText(outside / "f1", "SECRET");
    writeText(outside / "f2", "SECRET");
    bool swapped = false;
    auto r = copyTree(src, t.path() / "dst", [&](const std::string&) {
        if (!swapped) {  // during the first file of a/
            fs::rename(src / "a", src / "a.moved");
            fs::create_directory_symlink(outside, src / "a");
            swapped = true;
        }
        return FileShare::Copy;
    });
    ASSERT_TRUE(swapped);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(slurp(t.path() / "dst" / "a" / "f1"), "one");
    EXPECT_EQ(slurp(t.path() / "dst" / "a" / "f2"), "orig");
}

// A regular file swapped for a symlink after it was opened: its bytes are
// the opened file's.
TEST(TreeCopy, FileSwappedForASymlinkAfterItWasOpenedIsNotFollowed) {
    TempDir t("tree-copy");
    fs::path src = t.path() / "src";
    fs::create_directories(src);
    writeText(src / "f", "mine");
    writeText(t.path() / "secret", "SECRET");
    auto r = copyTree(src, t.path() / "dst", [&](const std::string&) {
        fs::rename(src / "f", t.path() / "f.moved");
        fs::create_symlink(t.path() / "secret", src / "f");
        return FileShare::Copy;
    });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(fs::symlink_status(t.path() / "dst" / "f").type(), fs::file_type::regular);
    EXPECT_EQ(slurp(t.path() / "dst" / "f"), "mine");
}

TEST(TreeCopy, HardlinkPolicySharesTheSourceInode) {
    TempDir t("tree-copy");
    fs::path src = t.path() / "src";
    fs::create_directories(src / "usr");
    writeText(src / "usr" / "big", "shared");
    auto r =
        copyTree(src, t.path() / "dst", [](const std::string&) { return FileShare::Hardlink; });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->hardlinked, 1u);
    struct stat a {};
    struct stat b {};
    ASSERT_EQ(::stat((src / "usr" / "big").c_str(), &a), 0);
    ASSERT_EQ(::stat((t.path() / "dst" / "usr" / "big").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
}

}  // namespace
}  // namespace pinet::io
