#include "io/fs/tree_hash.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "io/crypto.h"
#include "proto/netboot/tree_manifest.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

class TreeHashTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pinet-treehash-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const fs::path& rel, const std::string& text) {
        fs::create_directories((root_ / rel).parent_path());
        std::ofstream(root_ / rel, std::ios::binary) << text;
    }
    fs::path root_;
};

std::string hex(const std::string& s) {
    return sha256Hex(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

TEST_F(TreeHashTest, OneTreePerDirectoryAndTheTopAsDot) {
    write("image/kernel8.img", "KERNEL");
    write("image/overlays/a.dtbo", "A");
    write("100000001/config.txt", "arm_64bit=1\n");
    fs::create_hard_link(root_ / "image/kernel8.img", root_ / "100000001/kernel8.img");
    fs::create_directory_symlink("100000001", root_ / "dc-a6-32-01-02-03");
    write("bootcode.bin", "BC");

    TreeHasher h;
    auto trees = h.hashRoot(root_);
    ASSERT_TRUE(trees) << trees.error().message;
    ASSERT_EQ(trees->size(), 3U);
    EXPECT_EQ((*trees)[0].name, ".");
    EXPECT_EQ((*trees)[1].name, "100000001");
    EXPECT_EQ((*trees)[2].name, "image");
    for (const auto& t : *trees) {
        EXPECT_TRUE(t.problem.empty()) << t.name << ": " << t.problem;
        EXPECT_EQ(t.digest, hex(t.manifest));
    }
    auto top = proto::netboot::decodeTreeManifest((*trees)[0].manifest);
    ASSERT_TRUE(top) << top.error().message;
    ASSERT_EQ(top->size(), 2U);
    EXPECT_EQ((*top)[0].path, "bootcode.bin");
    EXPECT_EQ((*top)[0].sha256, hex("BC"));
    EXPECT_EQ((*top)[1].path, "dc-a6-32-01-02-03");
    EXPECT_EQ((*top)[1].kind, proto::netboot::TreeEntry::Kind::Link);
    EXPECT_EQ((*top)[1].sha256, hex("100000001"));  // the target's text, not followed
    auto img = proto::netboot::decodeTreeManifest((*trees)[2].manifest);
    ASSERT_TRUE(img);
    ASSERT_EQ(img->size(), 2U);
    EXPECT_EQ((*img)[0].path, "kernel8.img");
    EXPECT_EQ((*img)[1].path, "overlays/a.dtbo");
    EXPECT_EQ((*trees)[2].files, 2U);
    EXPECT_EQ((*trees)[2].bytes, 7U);
    // The hard link was read once: KERNEL + config.txt + A + BC.
    EXPECT_EQ(h.bytesRead(), 6U + 12U + 1U + 2U);
}

TEST_F(TreeHashTest, SecondWalkReadsOnlyWhatChanged) {
    write("t/kernel8.img", std::string(100000, 'k'));
    write("t/config.txt", "a\n");
    TreeHasher h;
    auto first = h.hashRoot(root_);
    ASSERT_TRUE(first);
    EXPECT_EQ(h.bytesRead(), 100002U);
    auto again = h.hashRoot(root_);
    ASSERT_TRUE(again);
    EXPECT_EQ(h.bytesRead(), 0U);
    EXPECT_EQ((*again)[0].digest, (*first)[0].digest);
    // Same size, new content: the ctime (and mtime) moved, so it is read again.
    ::usleep(20000);
    write("t/config.txt", "b\n");
    auto changed = h.hashRoot(root_);
    ASSERT_TRUE(changed);
    EXPECT_EQ(h.bytesRead(), 2U);
    EXPECT_NE((*changed)[0].digest, (*first)[0].digest);
}

TEST_F(TreeHashTest, OddNamesAreListedSafelyAndAMissingRootFails) {
    write("t/bad\nname", "x");
    TreeHasher h;
    auto trees = h.hashRoot(root_);
    ASSERT_TRUE(trees);
    auto m = proto::netboot::decodeTreeManifest((*trees)[0].manifest);
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_EQ(m->size(), 1U);
    EXPECT_EQ((*m)[0].path, "bad\\x0aname");
    EXPECT_FALSE(h.hashRoot(root_ / "absent"));
}

}  // namespace
}  // namespace pinet::io
