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

    int killed = 0;
    auto r = importImage(state, w.path() / "pi.img", "victim", 0,
                         [&](const std::string& phase, std::uint64_t, std::uint64_t) {
                             if (phase != "root" || killed != 0) {
                                 return;
                             }
                             for (pid_t p : children()) {
                                 if (::kill(p, SIGKILL) == 0) {
                                     killed++;
                                 }
                             }
                         });
    ASSERT_EQ(killed, 1);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("killed by SIGKILL"), std::string::npos) << r.error().message;
    fs::path images = StatePaths{state}.images();
    EXPECT_TRUE(fs::is_empty(images)) << fs::directory_iterator(images)->path();

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
