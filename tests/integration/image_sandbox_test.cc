// The image import's confined extraction child (issue #13 item 2): killed
// half-way, the import fails with the signal and leaves nothing in images/.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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

}  // namespace
}  // namespace pinet::app
