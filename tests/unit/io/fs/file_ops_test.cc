#include "io/fs/file_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/file_cache.h"
#include "io/fs/mount.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    auto d = readFile(p);
    return d ? std::string(d->begin(), d->end()) : std::string("<unreadable>");
}

TEST(FileOps, StatNoFollowTellsKindsApartAndMissingIsNotAnError) {
    TempDir t("file-ops");
    ASSERT_TRUE(makeDirectory(t.path() / "d", 0700));
    ASSERT_TRUE(writeFileAtomic(t.path() / "f", std::string_view("abc"), 0640));
    ASSERT_TRUE(makeSymlink("f", t.path() / "l"));

    auto d = statNoFollow(t.path() / "d");
    ASSERT_TRUE(d && *d);
    EXPECT_EQ((*d)->kind, EntryKind::Directory);
    EXPECT_EQ((*d)->mode, 0700u);
    auto f = statNoFollow(t.path() / "f");
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->kind, EntryKind::Regular);
    EXPECT_EQ((*f)->size, 3u);
    EXPECT_EQ((*f)->mode, 0640u);
    auto l = statNoFollow(t.path() / "l");
    ASSERT_TRUE(l && *l);
    EXPECT_EQ((*l)->kind, EntryKind::Symlink);  // not followed to f

    auto none = statNoFollow(t.path() / "missing");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // Through a regular file: ENOTDIR is an error, not "missing".
    auto through = statNoFollow(t.path() / "f" / "x");
    ASSERT_FALSE(through);
    EXPECT_NE(through.error().message.find("/f/x"), std::string::npos);
}

TEST(FileOps, ErrorsNameThePathAndTheOperation) {
    TempDir t("file-ops");
    ASSERT_TRUE(makeDirectory(t.path() / "d", 0755));
    auto again = makeDirectory(t.path() / "d", 0755);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find((t.path() / "d").string() + ": mkdir: "),
              std::string::npos);
    auto ren = renamePath(t.path() / "nope", t.path() / "x");
    ASSERT_FALSE(ren);
    EXPECT_NE(ren.error().message.find("rename " + (t.path() / "nope").string()),
              std::string::npos);
    EXPECT_FALSE(openDirectory(t.path() / "nope"));
}

TEST(FileOps, ReplaceWithSymlinkSwapsAnExistingLinkAndLeavesNoTemporary) {
    TempDir t("file-ops");
    ASSERT_TRUE(replaceWithSymlink("first", t.path() / "link"));
    ASSERT_TRUE(replaceWithSymlink("second", t.path() / "link"));
    EXPECT_EQ(fs::read_symlink(t.path() / "link"), "second");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(t.path())) {
        names.push_back(e.path().filename().string());
    }
    EXPECT_EQ(names, std::vector<std::string>{"link"});
}

TEST(FileOps, RemoveLinkRemovesTheLinkNotTheTargetAndToleratesMissing) {
    TempDir t("file-ops");
    ASSERT_TRUE(writeFileAtomic(t.path() / "f", std::string_view("x")));
    ASSERT_TRUE(makeSymlink("f", t.path() / "l"));
    ASSERT_TRUE(removeLink(t.path() / "l"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(t.path() / "l")));
    EXPECT_TRUE(fs::exists(t.path() / "f"));
    EXPECT_TRUE(removeLink(t.path() / "l"));
}

TEST(FileOps, CreateExclusiveWriteReadAtAndSize) {
    TempDir t("file-ops");
    auto fd = createExclusive(t.path() / "n", 0600);
    ASSERT_TRUE(fd);
    const std::string text = "hello, world";
    ASSERT_TRUE(writeAll(
        fd->get(), std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
    ASSERT_TRUE(setTimes(fd->get(), 1000000000));
    EXPECT_FALSE(createExclusive(t.path() / "n", 0600));  // O_EXCL
    EXPECT_EQ(slurp(t.path() / "n"), text);
    EXPECT_EQ(fs::last_write_time(t.path() / "n").time_since_epoch(),
              (fs::file_time_type::clock::from_sys(
                   std::chrono::sys_seconds{std::chrono::seconds{1000000000}}))
                  .time_since_epoch());

    auto size = fileSize(fd->get());
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, text.size());
    // openDirectory gives the root fd openBeneath needs; readAt reads at an offset.
    auto root = openDirectory(t.path());
    ASSERT_TRUE(root);
    auto in = openBeneath(root->get(), "n");
    ASSERT_TRUE(in);
    std::uint8_t buf[5] = {};
    auto n = readAt(in->get(), buf, 7);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), *n), "world");
    auto end = readAt(in->get(), buf, text.size());
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, 0u);
    EXPECT_FALSE(readAt(fd->get(), buf, 0));  // a write-only fd cannot be read
}

/// A file of @p size bytes with @p chunks written at the given offsets; the rest are holes.
void makeSparse(const fs::path& p, off_t size,
                const std::vector<std::pair<off_t, std::string>>& chunks) {
    auto fd = createExclusive(p, 0644);
    ASSERT_TRUE(fd) << fd.error().message;
    ASSERT_EQ(::ftruncate(fd->get(), size), 0);
    for (const auto& [at, text] : chunks) {
        ASSERT_EQ(::pwrite(fd->get(), text.data(), text.size(), at),
                  static_cast<ssize_t>(text.size()));
    }
}

std::uint64_t allocatedBytes(const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : ~0ULL;
}

TEST(CloneOrCopyData, CopyKeepsHolesAndTheSize) {
    TempDir t("file-ops");
    constexpr off_t kMiB = 1 << 20;
    makeSparse(t.path() / "src", 8 * kMiB, {{0, "head"}, {6 * kMiB, "middle"}});
    if (allocatedBytes(t.path() / "src") >= kMiB) {
        GTEST_SKIP() << "this file system stores no holes";
    }
    Fd in(::open((t.path() / "src").c_str(), O_RDONLY | O_CLOEXEC));
    auto out = createExclusive(t.path() / "dst", 0644);
    ASSERT_TRUE(in && out);
    auto r = cloneOrCopyData(in.get(), out->get(), /*tryReflink=*/false);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->reflinked);
    EXPECT_LT(r->bytesCopied, 256u * 1024);  // the data regions, not 8 MiB of zeros
    EXPECT_LT(allocatedBytes(t.path() / "dst"), static_cast<std::uint64_t>(kMiB));
    EXPECT_EQ(fs::file_size(t.path() / "dst"), static_cast<std::uintmax_t>(8 * kMiB));
    EXPECT_TRUE(slurp(t.path() / "dst") == slurp(t.path() / "src"));
}

TEST(CloneOrCopyData, TrailingHoleAndEmptyFileKeepTheirSize) {
    TempDir t("file-ops");
    makeSparse(t.path() / "tail", 3 << 20, {{10, "x"}});
    makeSparse(t.path() / "empty", 0, {});
    for (const char* name : {"tail", "empty"}) {
        Fd in(::open((t.path() / name).c_str(), O_RDONLY | O_CLOEXEC));
        auto out = createExclusive(t.path() / (std::string(name) + ".copy"), 0644);
        ASSERT_TRUE(in && out);
        ASSERT_TRUE(cloneOrCopyData(in.get(), out->get(), false));
        EXPECT_EQ(slurp(t.path() / (std::string(name) + ".copy")), slurp(t.path() / name)) << name;
    }
}

TEST(CloneOrCopyData, TheNewFileIsItsOwnInodeReflinkedOrNot) {
    TempDir t("file-ops");
    ASSERT_TRUE(writeFileAtomic(t.path() / "src", std::string_view("image bytes")));
    Fd in(::open((t.path() / "src").c_str(), O_RDONLY | O_CLOEXEC));
    auto out = createExclusive(t.path() / "dst", 0644);
    ASSERT_TRUE(in && out);
    auto r = cloneOrCopyData(in.get(), out->get(), /*tryReflink=*/true);  // ext4: falls back
    ASSERT_TRUE(r) << r.error().message;
    const std::string_view edit = "CLIENT";
    ASSERT_EQ(::pwrite(out->get(), edit.data(), edit.size(), 0), static_cast<ssize_t>(edit.size()));
    EXPECT_EQ(slurp(t.path() / "src"), "image bytes");  // the source never sees the write
    EXPECT_EQ(slurp(t.path() / "dst"), "CLIENTbytes");
    EXPECT_NE(fs::hard_link_count(t.path() / "src"), 2u);
}

TEST(Mount, RootIsAMountPointAFreshDirectoryIsNot) {
    TempDir t("file-ops");
    EXPECT_TRUE(isMountPoint("/"));
    EXPECT_FALSE(isMountPoint(t.path()));
}

}  // namespace
}  // namespace pinet::io
