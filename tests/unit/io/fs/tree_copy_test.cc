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

void writeText(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
}

std::string slurp(const fs::path& p) {
    auto d = test::readAll(p);
    return {d.begin(), d.end()};
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

}  // namespace
}  // namespace pinet::io
