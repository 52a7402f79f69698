#include "io/sandbox/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/file.h"

// The confined child of issue #13 item 2. Forks, so it needs root (the
// namespaces, chroot and capabilities) but no sockets. The deadline tests
// wait about a second each: a child that loops is what they prove killed.

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

class Sandbox : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root";
        }
    }
    TempDir tmp_{"sandbox"};
};

// Inside, the child writes its directory with owners and device nodes, and
// cannot see or touch anything else.
TEST_F(Sandbox, ChildIsConfinedToItsDirectory) {
    std::vector<std::string> lines;
    // A directory descriptor of the parent's would lead out of the chroot.
    Fd root(::open("/", O_RDONLY | O_DIRECTORY));
    Fd outside(::fcntl(root.get(), F_DUPFD, 50));  // above the pipe's fd 3
    ASSERT_TRUE(outside);
    int leaked = outside.get();
    auto r = runSandboxed(
        tmp_.path(),
        [leaked](SandboxChild& c) -> Result<void> {
            if (auto k = c.confine(); !k) {
                return k;
            }
            auto say = [&](const char* what, bool ok) {
                c.send(fmt::format("{} {}", what, ok ? "yes" : "no"));
            };
            Fd f(::open("/file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            say("write", f && ::write(f.get(), "x", 1) == 1);
            say("chown", ::chown("/file", 1000, 1000) == 0);
            say("setuid", ::chmod("/file", 04755) == 0);
            say("mknod", ::mknod("/null", S_IFCHR | 0666, makedev(1, 3)) == 0);
            Fd dev(::open("/null", O_RDWR | O_CLOEXEC));
            say("open-device", static_cast<bool>(dev));
            say("see-etc", ::access("/etc/passwd", F_OK) == 0);
            say("socket", ::socket(AF_INET, SOCK_DGRAM, 0) >= 0);
            say("kill", ::kill(1, 0) == 0);
            say("chroot-again", ::chroot("/") == 0);
            say("fork", ::fork() >= 0);
            say("inherited-fd", ::fcntl(leaked, F_GETFD) != -1);
            return {};
        },
        [&](std::string_view l) { lines.emplace_back(l); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(lines,
              (std::vector<std::string>{"write yes", "chown yes", "setuid yes", "mknod yes",
                                        "open-device no", "see-etc no", "socket no", "kill no",
                                        "chroot-again no", "fork no", "inherited-fd no"}));
    struct stat st {};
    ASSERT_EQ(::lstat((tmp_.path() / "file").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    ASSERT_EQ(::lstat((tmp_.path() / "null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(Sandbox, ChildErrorReachesTheParent) {
    auto r = runSandboxed(
        tmp_.path(), [](SandboxChild&) -> Result<void> { return fail("inode 12: bad extent"); },
        nullptr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "inode 12: bad extent");
}

// A child that dies (a libext2fs crash, or killed) is reported with the
// signal; what it wrote stays for the caller to remove.
TEST_F(Sandbox, KilledChildIsReportedWithItsSignal) {
    auto r = runSandboxed(
        tmp_.path(),
        [](SandboxChild& c) -> Result<void> {
            if (auto k = c.confine(); !k) {
                return k;
            }
            Fd f(::open("/partial", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
            ::raise(SIGKILL);  // uncatchable, also under ASan (which handles SIGSEGV)
            return {};
        },
        nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("killed by SIGKILL"), std::string::npos) << r.error().message;
    EXPECT_TRUE(fs::exists(tmp_.path() / "partial"));
}

/// Spins, as a libext2fs loop on a crafted image would (volatile: the loop
/// is not optimised away).
[[noreturn]] void spinForEver() {
    volatile std::uint64_t i = 0;
    while (true) {
        i = i + 1;
    }
}

/// The PID the child reports in its first line ("pid N").
pid_t reportedPid(const std::vector<std::string>& lines) {
    return lines.empty() ? 0 : std::stoi(lines.front().substr(4));
}

/// Whether @p pid still exists (a zombie counts: it was not reaped).
bool exists(pid_t pid) {
    return fs::exists("/proc/" + std::to_string(pid));
}

// A child stuck in a loop (what a crafted image can do to libext2fs) is
// killed at the deadline and reaped; the parent does not wait for ever.
TEST_F(Sandbox, ChildLoopingPastTheDeadlineIsKilled) {
    std::vector<std::string> lines;
    bool timedOut = false;
    const auto start = std::chrono::steady_clock::now();
    auto r = runSandboxed(
        tmp_.path(),
        [](SandboxChild& c) -> Result<void> {
            if (auto k = c.confine(); !k) {
                return k;
            }
            c.send(fmt::format("pid {}", ::getpid()));
            spinForEver();
        },
        [&](std::string_view l) { lines.emplace_back(l); }, std::chrono::milliseconds(800),
        &timedOut);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_TRUE(timedOut);
    EXPECT_EQ(r.error().message, "the reader did not finish within 0.8 s");
    EXPECT_GE(took, std::chrono::milliseconds(800));
    EXPECT_LT(took, std::chrono::seconds(10));
    pid_t pid = reportedPid(lines);
    ASSERT_GT(pid, 0);
    EXPECT_FALSE(exists(pid)) << "the child was not killed and reaped";
}

// The same when it closes its end of the pipe first: the parent then waits
// for its exit, within the same deadline.
TEST_F(Sandbox, ChildThatClosesThePipeAndLoopsIsKilledToo) {
    std::vector<std::string> lines;
    bool timedOut = false;
    auto r = runSandboxed(
        tmp_.path(),
        [](SandboxChild& c) -> Result<void> {
            if (auto k = c.confine(); !k) {
                return k;
            }
            c.send(fmt::format("pid {}", ::getpid()));
            ::close(3);
            spinForEver();
        },
        [&](std::string_view l) { lines.emplace_back(l); }, std::chrono::milliseconds(800),
        &timedOut);
    ASSERT_FALSE(r);
    EXPECT_TRUE(timedOut) << r.error().message;
    pid_t pid = reportedPid(lines);
    ASSERT_GT(pid, 0);
    EXPECT_FALSE(exists(pid));
}

// A child that finishes in time is not affected by its deadline.
TEST_F(Sandbox, ChildWithinItsDeadlineSucceeds) {
    bool timedOut = true;
    auto r = runSandboxed(
        tmp_.path(), [](SandboxChild& c) -> Result<void> { return c.confine(); }, nullptr,
        std::chrono::seconds(30), &timedOut);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(timedOut);
}

// The parent buffers at most 64 KiB of one line: a child that sends more
// without a newline is killed rather than allowed to fill its memory.
TEST_F(Sandbox, EndlessLineKillsTheChild) {
    bool timedOut = true;
    auto r = runSandboxed(
        tmp_.path(),
        [](SandboxChild& c) -> Result<void> {
            if (auto k = c.confine(); !k) {
                return k;
            }
            std::string chunk(4096, 'x');
            for (;;) {
                if (::write(3, chunk.data(), chunk.size()) < 0) {
                    return fail("write");
                }
            }
        },
        nullptr, std::chrono::seconds(30), &timedOut);
    ASSERT_FALSE(r);
    EXPECT_FALSE(timedOut);
    EXPECT_NE(r.error().message.find("longer than 65536 bytes"), std::string::npos)
        << r.error().message;
}

}  // namespace
}  // namespace pinet::io
