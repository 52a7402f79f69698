#include "io/ext4/ext4_extract.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/file.h"
#include "lib/test_env.h"

// Hostile ext4 images (issue #13), each made here with mke2fs and debugfs
// from e2fsprogs, then extracted. These tests run as root (owners, mknod).

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

/// Runs a program and fails the test with its stderr if it does not exit 0.
void mustRun(const std::vector<std::string>& args) {
    auto r = test::run(args);
    ASSERT_EQ(r.exitCode, 0) << args[0] << ": " << r.err;
}

void writeText(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
}

class Ext4Hostile : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root (owners, device nodes)";
        }
        src_ = tmp_.path() / "src";
        img_ = tmp_.path() / "fs.img";
        out_ = tmp_.path() / "out";
        fs::create_directories(src_);
        fs::create_directories(out_);
    }
    /// mke2fs -d src_ into img_; @p extra are further mke2fs options.
    void makeFs(const std::string& size, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = {"mke2fs", "-q", "-F", "-t", "ext4", "-d", src_.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(img_.string());
        args.push_back(size);
        mustRun(args);
    }
    void debugfs(const std::string& request) {
        mustRun({"debugfs", "-w", "-R", request, img_.string()});
    }
    Result<Ext4Stats> extract() {
        return extractExt4(img_, 0, fs::file_size(img_), out_, nullptr);
    }

    TempDir tmp_{"ext4-hostile"};
    fs::path src_, img_, out_;
};

// Issue #13 item 2: an inline-data symlink with i_size 1 whose system.data
// attribute holds 640 bytes. ext2fs_inline_data_get() copied all 700 bytes
// (60 in i_block + 640) into a 125-byte buffer (ASan: heap-buffer-overflow).
// The target is what i_size says, as the kernel reads it.
TEST_F(Ext4Hostile, InlineSymlinkWithOversizedSystemDataIsCutAtISize) {
    ASSERT_EQ(::symlink("a", (src_ / "link").c_str()), 0);
    writeText(src_ / "a", "hi\n");
    makeFs("8M", {"-I", "1024", "-O", "inline_data"});
    writeText(tmp_.path() / "v640", std::string(640, 'A'));
    debugfs("sif /link flags 0x10000000");
    debugfs("ea_set -f " + (tmp_.path() / "v640").string() + " /link system.data");

    auto r = extract();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(fs::read_symlink(out_ / "link"), "a");
}

// The same attack on a regular file: ext2fs_file_read() copies inline data
// into a fixed three-block buffer; ours reads at most i_size.
TEST_F(Ext4Hostile, InlineFileWithOversizedSystemDataIsCutAtISize) {
    writeText(src_ / "f", "0123456789");
    makeFs("8M", {"-I", "1024", "-O", "inline_data"});
    writeText(tmp_.path() / "v", std::string(800, 'B'));
    debugfs("ea_set -f " + (tmp_.path() / "v").string() + " /f system.data");
    debugfs("sif /f size 70");

    auto r = extract();
    ASSERT_TRUE(r) << r.error().message;
    auto data = test::readAll(out_ / "f");
    ASSERT_EQ(data.size(), 70u);
    EXPECT_EQ(std::string(data.begin(), data.begin() + 10), "0123456789");
    EXPECT_EQ(std::string(data.begin() + 60, data.end()), std::string(10, 'B'));
}

// An inline symlink whose i_size promises more than the inode holds fails cleanly.
TEST_F(Ext4Hostile, InlineSymlinkLongerThanItsDataIsRefused) {
    ASSERT_EQ(::symlink("a", (src_ / "link").c_str()), 0);
    makeFs("8M", {"-I", "1024", "-O", "inline_data"});
    debugfs("sif /link flags 0x10000000");
    debugfs("sif /link size 200");

    auto r = extract();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("inline data"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace pinet::io
