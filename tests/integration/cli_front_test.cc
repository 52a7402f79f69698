// The two programs behind `pinetboot` (src/CMakeLists.txt): the front runs the
// eeprom commands itself with a short list of shared libraries, and hands
// every other command line to pinetboot-full.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/test_env.h"

namespace pinet {
namespace {

namespace fs = std::filesystem;

std::string exe() {
    return test::pinetbootExe().string();
}

/// The DT_NEEDED entries of an ELF file, as readelf prints them.
std::vector<std::string> neededLibraries(const fs::path& elf) {
    const auto r = test::run({"readelf", "-d", elf.string()});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    std::vector<std::string> libs;
    std::size_t pos = 0;
    while ((pos = r.out.find("Shared library: [", pos)) != std::string::npos) {
        pos += 17;
        libs.push_back(r.out.substr(pos, r.out.find(']', pos) - pos));
    }
    return libs;
}

bool mentions(const std::vector<std::string>& libs, const std::string& stem) {
    for (const auto& lib : libs) {
        if (lib.starts_with(stem)) {
            return true;
        }
    }
    return false;
}

TEST(CliFront, LoadsNoneOfTheServerLibraries) {
    const auto front = neededLibraries(exe());
    ASSERT_FALSE(front.empty());
    EXPECT_TRUE(mentions(front, "libcrypto.so")) << "eeprom digests need libcrypto";
    for (const char* heavy : {"libssl.so", "libcpp-httplib.so", "libsqlite3.so", "libusb-1.0.so",
                              "libext2fs.so", "liblzma.so", "libtomlplusplus.so"}) {
        EXPECT_FALSE(mentions(front, heavy)) << heavy << " is loaded by the front";
    }
    // The full program does link them: the test would pass vacuously otherwise.
    const auto full = neededLibraries(test::pinetbootExe().parent_path() / "pinetboot-full");
    EXPECT_TRUE(mentions(full, "libsqlite3.so"));
    EXPECT_TRUE(mentions(full, "libcpp-httplib.so"));
}

TEST(CliFront, HandsOtherCommandsToTheFullProgram) {
    // tftp lives only in pinetboot-full; its help still says `pinetboot tftp`.
    auto r = test::run({exe(), "tftp", "--help"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("Usage: pinetboot tftp"), std::string::npos) << r.out;
    // Global options before the command are skipped when looking for it.
    r = test::run({exe(), "-v", "check-config", "--help"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("check-config"), std::string::npos) << r.out;
    // Bare --help lists every command, not only the front's.
    r = test::run({exe(), "--help"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    for (const char* cmd : {"eeprom", "tftp", "serve", "probe", "image", "client", "doctor"}) {
        EXPECT_NE(r.out.find(std::string("  ") + cmd + " "), std::string::npos) << cmd;
    }
    // Unknown commands get the full program's usage error.
    r = test::run({exe(), "no-such-command"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("no-such-command"), std::string::npos) << r.err;
}

// Issue #17: the front builds `eeprom` itself, without the rollout extension (it needs
// SQLite); its help must still list `rollout`, and a mistyped one is still suggested.
TEST(CliFront, EepromHelpListsRollout) {
    auto r = test::run({exe(), "eeprom", "--help"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("  rollout "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  apply "), std::string::npos) << r.out;
    r = test::run({exe(), "eeprom", "rolout"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("did you mean 'rollout'?"), std::string::npos) << r.err;
    // The rollout itself runs in pinetboot-full, with its own subcommands.
    r = test::run({exe(), "eeprom", "rollout", "--help"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("create"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("status"), std::string::npos) << r.out;
}

// Issue #15: a mistyped word gets a suggestion, in the front's own command
// (eeprom), in a handed-over one (client) and at the top (serve); CLI11 alone
// said "A subcommand is required" or nothing useful.
TEST(CliFront, MistypedCommandsGetASuggestion) {
    struct Case {
        std::vector<std::string> args;
        std::string want;
    };
    const Case cases[] = {
        {{"eeprom", "inf"}, "unknown command 'inf'; did you mean 'info'?"},
        {{"client", "ad", "--serial", "1234abcd"}, "unknown command 'ad'; did you mean 'add'?"},
        {{"serv"}, "unknown command 'serv'; did you mean 'serve'?"},
        {{"-v", "nfs", "stat"}, "unknown command 'stat'; did you mean 'status'?"},
        {{"image", "lst"}, "unknown command 'lst'; did you mean 'list'?"},
        {{"no-such-command"}, "unknown command 'no-such-command' (pinetboot --help lists them)"},
        {{"client"}, "pinetboot client needs a command: list, show, add"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> argv = {exe()};
        argv.insert(argv.end(), c.args.begin(), c.args.end());
        const auto r = test::run(argv);
        EXPECT_EQ(r.exitCode, 2) << c.want;
        EXPECT_NE(r.err.find(c.want), std::string::npos) << "got: " << r.err;
    }
    // A word that is close to nothing gets no guess.
    const auto r = test::run({exe(), "eeprom", "zzzzzz"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_EQ(r.err.find("did you mean"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown command 'zzzzzz'"), std::string::npos) << r.err;
}

TEST(CliFront, RunsEepromItselfAndSaysSoWhenTheFullProgramIsMissing) {
    char tmpl[] = "/tmp/pinet-front.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const fs::path dir = tmpl;
    fs::copy_file(exe(), dir / "pinetboot");
    // Without pinetboot-full beside it, eeprom still works...
    auto r = test::run({(dir / "pinetboot").string(), "eeprom", "boot-order", "0xf21"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("SD card, then network, then restart"), std::string::npos) << r.out;
    // ...and a command that needs it fails with one line naming what is missing.
    r = test::run({(dir / "pinetboot").string(), "serve", "--help"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("cannot find pinetboot-full"), std::string::npos) << r.err;
    fs::remove_all(dir);
}

}  // namespace
}  // namespace pinet
