// The image import's confined extraction child (issue #13 items 2 and 5):
// killed half-way, the import fails with the signal and leaves nothing in
// images/; stuck, it is killed at the import's deadline and leaves nothing
// either; the extended attributes it may not set (security.*, trusted.*)
// come back to the parent, which applies security.* and drops trusted.*.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <fmt/format.h>

#include "app/image/image_store.h"
#include "app/settings.h"
#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

/// The PIDs of this thread's children (/proc/thread-self/children).
std::vector<pid_t> children() {
    std::ifstream in("/proc/thread-self/children");
    std::vector<pid_t> out;
    pid_t p = 0;
    while (in >> p) {
        out.push_back(p);
    }
    return out;
}

/// Whether @p pid is alive and not a zombie (/proc/PID/stat state).
bool runningProcess(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

TEST(ImageSandbox, KilledExtractionChildFailsTheImportAndLeavesNothing) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root";
    }
    io::TempDir w("image-sandbox");
    auto made =
        test::run({"bash", (test::sourceDir() / "tests/integration/lib/make_pi_image.sh").string(),
                   (w.path() / "pi.img").string(), w.path().string(), "mbr"});
    ASSERT_EQ(made.exitCode, 0) << made.err;
    fs::path state = w.path() / "state";

    // Kill the child at its first progress report from the root partition. The report
    // is read while the child goes on, so on a fast run the child may already have
    // finished (a zombie, which kill() still "succeeds" on): then try again, counting
    // only kills of a child that was still running.
    int killed = 0;
    Result<ImageInfo> r = fail("not run");
    for (int attempt = 0; attempt < 10 && killed == 0; ++attempt) {
        const fs::path attemptState = w.path() / ("state" + std::to_string(attempt));
        r = importImage(attemptState, w.path() / "pi.img", "victim", 0,
                        [&](const std::string& phase, std::uint64_t, std::uint64_t) {
                            if (phase != "root" || killed != 0) {
                                return;
                            }
                            for (pid_t p : children()) {
                                if (runningProcess(p) && ::kill(p, SIGKILL) == 0) {
                                    killed++;
                                }
                            }
                        });
        state = attemptState;
    }
    ASSERT_EQ(killed, 1);
    // The same image imports when nobody interferes, owners and all.
    auto ok = importImage(state, w.path() / "pi.img", "fine", 0, nullptr);
    ASSERT_TRUE(ok) << ok.error().message;
    struct stat st {};
    ASSERT_EQ(::lstat((ok->dir / "root/home/pi/notes.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    ASSERT_EQ(::lstat((ok->dir / "root/usr/bin/sudo").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
}

/// Entries of @p state's images/ that an import in progress leaves
/// (".import-*"), joined by spaces.
std::string importLeftovers(const fs::path& state) {
    std::string out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(state / "images", ec)) {
        if (e.path().filename().string().rfind(".import-", 0) == 0) {
            out += e.path().filename().string() + " ";
        }
    }
    return out;
}

// Issue #13 item 2, the deadline: a reader that stops making progress (here
// stopped with SIGSTOP at its first report from the root partition: to the
// parent it is a child stuck in a libext2fs loop) is killed when the
// import's timeout expires, the import fails saying so, and the temporary
// images/.import-* directory is removed.
TEST(ImageSandbox, ReaderPastTheDeadlineIsKilledAndLeavesNothing) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root";
    }
    io::TempDir w("image-timeout");
    auto made =
        test::run({"bash", (test::sourceDir() / "tests/integration/lib/make_pi_image.sh").string(),
                   (w.path() / "pi.img").string(), w.path().string(), "mbr"});
    ASSERT_EQ(made.exitCode, 0) << made.err;

    // As in the crash test, a fast child may finish before it is stopped:
    // then the import succeeds and is tried again. A slow one (ASan, a busy
    // machine) may meet the deadline before its first root report: tried
    // again with a longer one.
    pid_t stopped = 0;
    Result<ImageInfo> r = fail("not run");
    fs::path state;
    std::chrono::steady_clock::duration took{};
    ImportOptions opts;
    int seconds = 3;
    // A child stopped after it had sent its whole result (the image is small) leaves a
    // successful import behind: that attempt did not test the deadline, so it is tried
    // again too.
    for (int attempt = 0; attempt < 10 && (stopped == 0 || r); ++attempt) {
        if (attempt > 0 && !r) {
            seconds *= 2;
        }
        stopped = 0;
        opts.timeout = std::chrono::seconds(seconds);
        state = w.path() / ("state" + std::to_string(attempt));
        const auto start = std::chrono::steady_clock::now();
        r = importImage(
            state, w.path() / "pi.img", "stuck", 0,
            [&](const std::string& phase, std::uint64_t, std::uint64_t) {
                if (phase != "root" || stopped != 0) {
                    return;
                }
                for (pid_t p : children()) {
                    if (runningProcess(p) && ::kill(p, SIGSTOP) == 0) {
                        stopped = p;
                    }
                }
            },
            opts);
        took = std::chrono::steady_clock::now() - start;
    }
    ASSERT_NE(stopped, 0) << "the reader always finished before it could be stopped";
    ASSERT_FALSE(r) << "the import of a stopped reader succeeded";
    EXPECT_NE(r.error().message.find(
                  fmt::format("image import: the reader did not finish within {} s", seconds)),
              std::string::npos)
        << r.error().message;
    EXPECT_GE(took, std::chrono::seconds(seconds));
    EXPECT_LT(took, std::chrono::seconds(seconds + 30));
    EXPECT_FALSE(fs::exists("/proc/" + std::to_string(stopped))) << "the reader was not reaped";
    EXPECT_EQ(importLeftovers(state), "");
    EXPECT_FALSE(fs::exists(state / "images/stuck"));
}

/// The value of @p name on @p p (not following a symlink), or "<none>".
std::string xattrOf(const fs::path& p, const std::string& name) {
    std::string v(65536, '\0');
    ssize_t n = ::lgetxattr(p.c_str(), name.c_str(), v.data(), v.size());
    if (n < 0) {
        return "<none>";
    }
    v.resize(static_cast<std::size_t>(n));
    return v;
}

class ImageXattrs : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root";
        }
        fs::create_directories(src_ / "etc");
        fs::create_directories(src_ / "usr/bin");
    }
    void run(const std::vector<std::string>& args) {
        auto r = test::run(args);
        ASSERT_EQ(r.exitCode, 0) << args[0] << ": " << r.err << r.out;
    }
    /// Runs debugfs requests (debugfs -f) on the root file system.
    void debugfs(const std::vector<std::string>& requests) {
        std::string text;
        for (const auto& q : requests) {
            text += q + "\n";
        }
        test::writeText(w_.path() / "debugfs.cmd", text);
        run({"debugfs", "-w", "-f", (w_.path() / "debugfs.cmd").string(), root_.string()});
    }
    /// root_ into a whole disk image (lib/make_disk.sh).
    void makeDisk() {
        run({"bash", (test::sourceDir() / "tests/integration/lib/make_disk.sh").string(),
             root_.string(), disk_.string()});
    }
    io::TempDir w_{"image-xattrs"};
    fs::path src_ = w_.path() / "src";
    fs::path root_ = w_.path() / "root.part";
    fs::path disk_ = w_.path() / "disk.img";
    fs::path state_ = w_.path() / "state";
};

// Issue #13 item 2: security.selinux needs CAP_SYS_ADMIN, which the reader
// lacks, and used to fail the import. Now the reader records it and the
// parent sets it, on files, directories, symlinks (the link itself) and
// the top; user.* and file capabilities stay the reader's; trusted.*
// (trusted.overlay.opaque would steer the server's overlayfs) is dropped and
// reported, on stdout too.
TEST_F(ImageXattrs, SecurityAttributesAreAppliedTrustedOnesDroppedAndReported) {
    test::writeText(src_ / "usr/bin/tool", "#!/bin/sh\n");
    test::writeText(src_ / "etc/hostname", "pi\n");
    ASSERT_EQ(::symlink("../usr/bin/tool", (src_ / "etc/tool-link").c_str()), 0);
    run({"mke2fs", "-q", "-F", "-t", "ext4", "-d", src_.string(), root_.string(), "16M"});
    const std::string binLabel = "system_u:object_r:bin_t:s0";
    debugfs({"ea_set /usr/bin/tool security.selinux " + binLabel,
             "ea_set /usr/bin/tool user.x hello", "ea_set /usr/bin/tool trusted.overlay.metacopy m",
             "ea_set /etc trusted.overlay.opaque y",
             "ea_set /etc security.selinux system_u:object_r:etc_t:s0",
             "ea_set /etc/tool-link security.selinux system_u:object_r:lnk_t:s0",
             "ea_set / security.selinux system_u:object_r:root_t:s0"});
    makeDisk();

    auto r = importImage(state_, disk_, "labelled", 0, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    const fs::path root = r->root();
    EXPECT_EQ(xattrOf(root / "usr/bin/tool", "security.selinux"), binLabel);
    EXPECT_EQ(xattrOf(root / "usr/bin/tool", "user.x"), "hello");
    EXPECT_EQ(xattrOf(root / "etc", "security.selinux"), "system_u:object_r:etc_t:s0");
    EXPECT_EQ(xattrOf(root / "etc/tool-link", "security.selinux"), "system_u:object_r:lnk_t:s0");
    EXPECT_EQ(fs::read_symlink(root / "etc/tool-link"), "../usr/bin/tool");
    EXPECT_EQ(xattrOf(root, "security.selinux"), "system_u:object_r:root_t:s0");
    EXPECT_EQ(xattrOf(root / "etc", "trusted.overlay.opaque"), "<none>");
    EXPECT_EQ(xattrOf(root / "usr/bin/tool", "trusted.overlay.metacopy"), "<none>");
    EXPECT_EQ(r->securityXattrs, 4u);
    EXPECT_EQ(r->droppedXattrs, 2u);
    EXPECT_EQ(r->refusedXattrs, 0u);
    std::string notes;
    for (const auto& n : r->xattrNotes) {
        notes += n + "\n";
    }
    EXPECT_NE(notes.find("dropped trusted.overlay.opaque on etc"), std::string::npos) << notes;
    EXPECT_NE(notes.find("dropped trusted.overlay.metacopy on usr/bin/tool"), std::string::npos)
        << notes;
    EXPECT_FALSE(fs::exists(r->dir / "xattrs.manifest"));
    EXPECT_EQ(importLeftovers(state_), "");

    // The command line says the same (and takes --timeout).
    auto cli =
        test::run({test::pinetbootExe().string(), "image", "import", disk_.string(), "--name",
                   "labelled-cli", "--state-dir", state_.string(), "--timeout", "600"});
    ASSERT_EQ(cli.exitCode, 0) << cli.err;
    EXPECT_NE(cli.out.find("4 security.* set, 0 refused by this host, 2 trusted.* dropped"),
              std::string::npos)
        << cli.out;
    EXPECT_NE(cli.out.find("dropped trusted.overlay.opaque on etc"), std::string::npos) << cli.out;
}

// Issue #13 item 5 for attributes: 2,000 inodes sharing one attribute block
// of 30 security.* attributes (6 MB of attributes from a 16 MiB file system
// whose used blocks hold well under 1 MB) is refused with the reason, and
// the import leaves nothing.
TEST_F(ImageXattrs, AttributeBlockSharedByEveryInodeIsRefused) {
    fs::create_directories(src_ / "d");
    constexpr int kFiles = 2000;
    for (int i = 0; i < kFiles; ++i) {
        test::writeText(src_ / "d" / fmt::format("f{}", i), "");
    }
    run({"mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "128", "-N", "2100", "-O",
         "^has_journal", "-d", src_.string(), root_.string(), "16M"});
    std::vector<std::string> set;
    for (int a = 0; a < 30; ++a) {
        set.push_back(fmt::format("ea_set /d/f0 security.a{:02} {}", a, std::string(80, 'v')));
    }
    debugfs(set);
    auto st = test::run({"debugfs", "-R", "stat /d/f0", root_.string()});
    std::smatch m;
    ASSERT_TRUE(std::regex_search(st.out, m, std::regex("File ACL: ([0-9]+)"))) << st.out;
    std::vector<std::string> share;
    for (int i = 1; i < kFiles; ++i) {
        share.push_back(fmt::format("sif /d/f{} file_acl {}", i, m[1].str()));
    }
    debugfs(share);
    makeDisk();

    auto r = importImage(state_, disk_, "bomb", 0, nullptr);
    ASSERT_FALSE(r) << "accepted with " << r->securityXattrs << " attributes";
    EXPECT_NE(
        r.error().message.find("more extended attributes than the file system's used blocks hold"),
        std::string::npos)
        << r.error().message;
    EXPECT_EQ(importLeftovers(state_), "");
    EXPECT_FALSE(fs::exists(state_ / "images/bomb"));
}

}  // namespace
}  // namespace pinet::app
