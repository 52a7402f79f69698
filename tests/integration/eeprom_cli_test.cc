// Runs the real `pinetboot eeprom ...` on every vector of
// shared/testdata/eeprom/README.md and compares outputs by sha256 / bytes.

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/file.h"
#include "lib/eeprom_synth.h"
#include "lib/test_env.h"

namespace pinet {
namespace {

namespace fs = std::filesystem;
using test::eepromTestData;
using test::readAll;
using test::sha256Hex;

struct Img {
    const char* name;
    const char* confSha;
    const char* netbootSha;
    std::size_t patchOffset;
    const char* tsSha;
    const char* confTsSha;
    const char* soc;
};

// README sections 1, 2, 4, 5.
const Img kImages[] = {
    {"pieeprom-2711-2021-07-06", "81dd11165298a8d700d9595a0229493b95466cbaca93bbb8b0e9e865b6225dc3",
     "cd9aa514b1dff0f486c08ef1e26b1f8e5aee00380f596dfe0bf9b7dd64deac70", 0x55000,
     "1d2a50d7c39b8698485e5410a04a7cbc493d752b82162db238e113ee8e40bff2",
     "9ec97b8af421555f21cff920b184489e00845ad65f00b22b3b5e2c4a27bf8d54", "2711"},
    {"pieeprom-2711-2026-05-17", "43fe5e1d2f4eede670c36d41ca3c706a35d4c0a449cc323e74dcbc878a5e06ba",
     "48285fc5369cf52b0e194a21f68f6c1ce4011aede67bf47e30c7d197af9dd769", 0x72e00,
     "7dee678645caa3cf5de2c68c7b86769f66fd942da839ea3d94817c33c88b1e1b",
     "e9ff738d87b010985663d7d71322c871d4b625eeedbe6a39165c1dae67e6fe38", "2711"},
    {"pieeprom-2712-2023-12-06", "dc558983e302e49714c090c43a4f414874aab8a4b28e9d90990e2d664d2d199b",
     "9a631c8e90ad10e77ccf6f5e80c7c44fece66a39b329016d52bcb28dd2f27d1f", 0x98000,
     "7c37f1b90452c99ecd2cab9f52df4e0009fc5332fc76aa8f7c421c85853184c3",
     "35095b6635a48ae2d3a6a285b4d1be627d8bcf769737040c465eb933918314d9", "2712"},
    {"pieeprom-2712-2026-05-26", "545d607b2fd905e3916ab9be0363ebd5a23cd7f0c162c0e03f90e2176a98b480",
     "4ca8b757d4d298881c4b291ab57cdee9ca8e2bcb25da0842c85c308fa8ed2c5f", 0xa3000,
     "4647e7b1c6917e17c5dcb01dde8f86bf979f528b568d5d7d5d8987c4bd468125",
     "f8b6c03e0e4d8b667ac25526cbb07592c04eb0dfdfc5d12404daa71281b3fe51", "2712"},
};

std::string td(const std::string& f) {
    return (eepromTestData() / f).string();
}
std::string exe() {
    return test::pinetbootExe().string();
}

test::ProcessResult eeprom(std::vector<std::string> args, const fs::path& cwd = {}) {
    args.insert(args.begin(), {exe(), "eeprom"});
    return test::run(args, cwd);
}

std::string textOf(const fs::path& p) {
    auto b = readAll(p);
    return {b.begin(), b.end()};
}

void writeBytes(const fs::path& p, const std::vector<std::uint8_t>& b) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class EepromCli : public ::testing::Test {
protected:
    io::TempDir tmp_{"pinet-eeprom-cli"};
    fs::path out(const std::string& n) const { return tmp_.path() / n; }
    /// Expects failure: rc 1, @p needle on stderr, @p output absent, input untouched.
    void expectFailure(const test::ProcessResult& r, const std::string& needle,
                       const fs::path& output) {
        EXPECT_EQ(r.exitCode, 1) << r.err;
        EXPECT_NE(r.err.find("pinetboot: error: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(output)) << output;
        // Nothing half-written either (no temp files left in the output directory).
        for (const auto& e : fs::directory_iterator(output.parent_path())) {
            EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
        }
    }
};

// 1. show = rpi-eeprom-config IMAGE --out NAME.conf; loopback apply of NAME.conf.
TEST_F(EepromCli, ShowPrintsEmbeddedConfigAndLoopbackIsIdentity) {
    for (const auto& img : kImages) {
        const std::string bin = td(std::string(img.name) + ".bin");
        auto r = eeprom({"show", bin});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        EXPECT_EQ(sha256Hex({r.out.begin(), r.out.end()}), img.confSha) << img.name;
        auto r2 = eeprom({"show", bin, "-o", out("c.conf").string()});
        ASSERT_EQ(r2.exitCode, 0) << r2.err;
        EXPECT_EQ(sha256Hex(readAll(out("c.conf"))), img.confSha);
        auto r3 = eeprom(
            {"apply", bin, "--config", out("c.conf").string(), "-o", out("loop.bin").string()});
        ASSERT_EQ(r3.exitCode, 0) << r3.err;
        EXPECT_EQ(readAll(out("loop.bin")), readAll(bin)) << img.name;
    }
}

// 2. apply --config boot.conf (sha256 and the .patch rebuild), reading back gives boot.conf.
TEST_F(EepromCli, ApplyConfigMatchesUpstream) {
    for (const auto& img : kImages) {
        const std::string bin = td(std::string(img.name) + ".bin");
        const std::string before = sha256Hex(readAll(bin));
        const auto o = out(std::string(img.name) + ".netboot.bin");
        auto r = eeprom({"apply", bin, "--config", td("boot.conf"), "-o", o.string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        auto got = readAll(o);
        EXPECT_EQ(sha256Hex(got), img.netbootSha) << img.name;
        auto expected = readAll(bin);
        auto patch = readAll(td(std::string(img.name) + ".netboot.patch"));
        std::copy(patch.begin(), patch.end(),
                  expected.begin() + static_cast<std::ptrdiff_t>(img.patchOffset));
        EXPECT_EQ(got, expected) << img.name;
        auto back = eeprom({"show", o.string()});
        EXPECT_EQ(back.out, textOf(td("boot.conf")));
        EXPECT_EQ(sha256Hex(readAll(bin)), before) << "input modified";
    }
}

// 3. digest with and without target-soc (SOURCE_DATE_EPOCH and --timestamp).
TEST_F(EepromCli, DigestMatchesUpstream) {
    for (const auto& img : kImages) {
        const auto nb = out("nb.bin");
        ASSERT_EQ(eeprom({"apply", td(std::string(img.name) + ".bin"), "--config", td("boot.conf"),
                          "-o", nb.string()})
                      .exitCode,
                  0);
        auto r = test::run({"/usr/bin/env", "SOURCE_DATE_EPOCH=1700000000", exe(), "eeprom",
                            "digest", nb.string(), "-o", out("a.sig").string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        EXPECT_EQ(readAll(out("a.sig")), readAll(td(std::string(img.name) + ".netboot.sig")));
        auto r2 = eeprom({"digest", nb.string(), "--timestamp", "1700000000", "--soc", img.soc,
                          "-o", out("b.sig").string()});
        ASSERT_EQ(r2.exitCode, 0) << r2.err;
        // Issue #15: digest says what it wrote.
        EXPECT_NE(r2.out.find(out("b.sig").string() + ": wrote ts 1700000000, target-soc " +
                              std::string(img.soc) + ", sha256 "),
                  std::string::npos)
            << r2.out;
        EXPECT_EQ(readAll(out("b.sig")), readAll(td(std::string(img.name) + ".netboot.soc.sig")));
        auto v = eeprom({"verify", nb.string(), out("b.sig").string()});
        EXPECT_EQ(v.exitCode, 0) << v.err;
        EXPECT_NE(v.out.find("sha256 OK"), std::string::npos);
    }
}

// 4. timestamp only, 5. config + timestamp.
TEST_F(EepromCli, TimestampAndConfigPlusTimestamp) {
    for (const auto& img : kImages) {
        const std::string bin = td(std::string(img.name) + ".bin");
        auto r = eeprom({"apply", bin, "--timestamp", "1700000000", "-o", out("ts.bin").string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        EXPECT_EQ(sha256Hex(readAll(out("ts.bin"))), img.tsSha) << img.name;
        auto r2 = eeprom({"apply", bin, "--config", td("boot.conf"), "--timestamp", "1700000000",
                          "-o", out("cts.bin").string()});
        ASSERT_EQ(r2.exitCode, 0) << r2.err;
        EXPECT_EQ(sha256Hex(readAll(out("cts.bin"))), img.confTsSha) << img.name;
    }
    auto bad = eeprom({"apply", td("pieeprom-2711-2021-07-06.bin"), "--timestamp", "4294967296",
                       "-o", out("bad.bin").string()});
    expectFailure(bad, "not an unsigned 32-bit", out("bad.bin"));
}

// 6. extract all files (names, sizes, sha256 prefixes from the README).
TEST_F(EepromCli, ExtractAll) {
    struct F {
        const char* name;
        std::size_t size;
        const char* shaPrefix;  // "" = not given in the README
    };
    struct Case {
        const char* image;
        std::vector<F> files;
    };
    const std::string zeros1024 = "5f70bf18a086";
    const std::vector<Case> cases = {
        {"pieeprom-2711-2021-07-06",
         {{"bootcode.bin", 122500, "b84adfc8a03d"},
          {"bootconf.sig", 1024, "5f70bf18a086"},
          {"bootconf.txt", 54, "81dd11165298"},
          {"pubkey.bin", 1024, "5f70bf18a086"}}},
        {"pieeprom-2711-2026-05-17",
         {{"bootcode.bin", 73120, "a7f55570"},
          {"bootconf.sig", 1024, "5f70bf18a086"},
          {"bootconf.txt", 79, "43fe5e1d"},
          {"cacert.der", 2048, "e5a00aa9"},
          {"pubkey.bin", 512, "076a27c7"},
          {"updatetime", 8, "5981693c"}}},
        {"pieeprom-2712-2023-12-06",
         {{"bootcode.bin", 68288, "e6e6a234"},
          {"bootconf.sig", 1024, "5f70bf18a086"},
          {"bootconf.txt", 56, "dc558983"},
          {"pubkey.bin", 1024, "5f70bf18a086"}}},
        {"pieeprom-2712-2026-05-26",
         {{"bootcode.bin", 25984, "78c1035a"},
          {"bootconf.sig", 1024, ""},
          {"bootconf.txt", 62, "545d607b"},
          {"bootsys", 78332, "cb726811"},
          {"cacert.der", 2048, ""},
          {"pubkey.bin", 512, "076a27c7"},
          {"updatetime", 8, ""}}},
    };
    for (const auto& c : cases) {
        const auto dir = out(c.image);
        auto r = eeprom({"extract", td(std::string(c.image) + ".bin"), "-o", dir.string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        std::size_t count = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) {
            ++count;
        }
        EXPECT_EQ(count, c.files.size()) << c.image;
        for (const auto& f : c.files) {
            auto b = readAll(dir / f.name);
            EXPECT_EQ(b.size(), f.size) << c.image << "/" << f.name;
            EXPECT_EQ(sha256Hex(b).rfind(f.shaPrefix, 0), 0u) << c.image << "/" << f.name;
        }
    }
    EXPECT_EQ(textOf(out("pieeprom-2711-2026-05-17") / "updatetime").size(), 8u);
}

// 7. RSA-signed config: digest -k reproduces boot.rsa.sig; verify ok / fails.
TEST_F(EepromCli, RsaSignedDigestAndVerify) {
    auto r = eeprom({"digest", td("boot.conf"), "--timestamp", "1700000000", "--key",
                     td("test-key-shared.private.pem"), "-o", out("boot.rsa.sig").string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(readAll(out("boot.rsa.sig")), readAll(td("boot.rsa.sig")));
    auto v = eeprom({"verify", td("boot.conf"), td("boot.rsa.sig"), "--pubkey",
                     td("test-key-shared.public.pem")});
    EXPECT_EQ(v.exitCode, 0) << v.err;
    EXPECT_NE(v.out.find("RSA signature OK"), std::string::npos);
    // pubkey.bin form of the key works too.
    v = eeprom({"verify", td("boot.conf"), td("boot.rsa.sig"), "--pubkey",
                td("test-key-shared.pubkey.bin")});
    EXPECT_EQ(v.exitCode, 0) << v.err;

    auto conf = readAll(td("boot.conf"));
    conf[20] ^= 1;
    writeBytes(out("flipped.conf"), conf);
    auto bad = eeprom({"verify", out("flipped.conf").string(), td("boot.rsa.sig"), "--pubkey",
                       td("test-key-shared.public.pem")});
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("sha256 mismatch"), std::string::npos) << bad.err;
    // Public key cannot sign; missing key file is named.
    auto noPriv = eeprom({"digest", td("boot.conf"), "--key", td("test-key-shared.public.pem"),
                          "-o", out("x.sig").string()});
    expectFailure(noPriv, "not a private key", out("x.sig"));
}

// 8. Signed image (--digest + --pubkey), stored as a patch.
TEST_F(EepromCli, SignedImage) {
    const std::string bin = td("pieeprom-2711-2026-05-17.bin");
    auto r =
        eeprom({"apply", bin, "--config", td("boot.conf"), "--digest", td("boot.rsa.sig"),
                "--pubkey", td("test-key-shared.public.pem"), "-o", out("signed.bin").string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto got = readAll(out("signed.bin"));
    EXPECT_EQ(sha256Hex(got), "23837b43b3c83306624f18bb6497a2ccd878268708c7bb636bb7c45a63c07199");
    auto expected = readAll(bin);
    auto patch = readAll(td("pieeprom-2711-2026-05-17.signed.patch"));
    std::copy(patch.begin(), patch.end(), expected.begin() + 0x71d00);
    EXPECT_EQ(got, expected);
    ASSERT_EQ(eeprom({"extract", out("signed.bin").string(), "-o", out("x").string()}).exitCode, 0);
    EXPECT_EQ(readAll(out("x") / "pubkey.bin"), readAll(td("test-key-shared.pubkey.bin")));
    EXPECT_EQ(readAll(out("x") / "bootconf.sig"), readAll(td("boot.rsa.sig")));
    auto info = eeprom({"info", out("signed.bin").string(), "--json"});
    ASSERT_EQ(info.exitCode, 0);
    EXPECT_TRUE(nlohmann::json::parse(info.out)["pubkey_present"].get<bool>());
}

// 9. Edge and error cases.
TEST_F(EepromCli, MaxSizeConfigEdge) {
    struct {
        const char* image;
        const char* sha;
    } cases[] = {{"pieeprom-2711-2021-07-06.bin",
                  "71ed50bd746784579afb8562b048f04e2d78ad4b8b8aafc38e722a7dc82b679d"},
                 {"pieeprom-2712-2026-05-26.bin",
                  "5ef89d0440ab7ce4bc87a5e4e7a14b90e0048af5354a224146bf2694ae877a05"}};
    for (const auto& c : cases) {
        auto r = eeprom(
            {"apply", td(c.image), "--config", td("max-4076.conf"), "-o", out("max.bin").string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        EXPECT_EQ(sha256Hex(readAll(out("max.bin"))), c.sha);
        EXPECT_EQ(eeprom({"show", out("max.bin").string()}).out, textOf(td("max-4076.conf")));
    }
}

TEST_F(EepromCli, TooLargeConfigIsRefused) {
    for (const auto& img : kImages) {
        const std::string bin = td(std::string(img.name) + ".bin");
        auto r =
            eeprom({"apply", bin, "--config", "toolarge-4077.conf", "-o", out("big.bin").string()},
                   eepromTestData());
        expectFailure(r,
                      "src file toolarge-4077.conf is too large (4077 bytes). The maximum size "
                      "is 4076 bytes.",
                      out("big.bin"));
    }
    auto lint = eeprom({"lint", td("toolarge-4077.conf")});
    EXPECT_EQ(lint.exitCode, 1);
    EXPECT_NE(lint.out.find("4077 bytes"), std::string::npos);
}

TEST_F(EepromCli, WrongImageSize) {
    auto b = readAll(td("pieeprom-2711-2021-07-06.bin"));
    b.pop_back();
    const auto small = out("short.bin");
    writeBytes(small, b);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"apply", small.string(), "--config", td("boot.conf"), "-o",
                                   out("o.bin").string()},
          std::vector<std::string>{"show", small.string(), "-o", out("o.bin").string()},
          std::vector<std::string>{"set", small.string(), "BOOT_ORDER=0xf21", "-o",
                                   out("o.bin").string()}}) {
        auto r = eeprom(args);
        expectFailure(r,
                      small.string() +
                          ": Expected sizes [524288, 2097152] bytes, got actual size 524287 bytes",
                      out("o.bin"));
    }
    EXPECT_EQ(readAll(small), b);
}

TEST_F(EepromCli, MissingConfigAndUnreadableFiles) {
    auto r = eeprom({"apply", td("pieeprom-2711-2021-07-06.bin"), "--config", "/nonexistent.conf",
                     "-o", out("o.bin").string()});
    expectFailure(r, "config file '/nonexistent.conf' not found", out("o.bin"));
    r = eeprom({"show", "/nonexistent/img.bin"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("/nonexistent/img.bin"), std::string::npos) << r.err;
    // A directory is not a readable image.
    r = eeprom({"info", tmp_.path().string()});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find(tmp_.path().string()), std::string::npos) << r.err;
}

TEST_F(EepromCli, PubkeyTargetMissingOnImageWithoutPubkeyBin) {
    const auto img = out("nopubkey.bin");
    writeBytes(img, test::minimalImage());
    auto r = eeprom({"apply", img.string(), "--config", td("boot.conf"), "--pubkey",
                     td("test-key-shared.public.pem"), "-o", out("o.bin").string()});
    expectFailure(r, "Update target pubkey.bin not found", out("o.bin"));
    r = eeprom({"apply", img.string(), "--config", td("boot.conf"), "--digest", td("boot.rsa.sig"),
                "--pubkey", td("test-key-shared.public.pem"), "-o", out("o.bin").string()});
    expectFailure(r, "Update target bootconf.sig not found", out("o.bin"));
    // Without --pubkey the synthetic image takes a config fine.
    r = eeprom({"apply", img.string(), "--config", td("boot.conf"), "-o", out("o.bin").string()});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(eeprom({"show", out("o.bin").string()}).out, textOf(td("boot.conf")));
}

TEST_F(EepromCli, WrongKeySizeIsRefused) {
    // 1024-bit key generated by the openssl CLI (a test-only throw-away key).
    const auto key = out("small.pem");
    auto gen = test::run({"openssl", "genrsa", "-out", key.string(), "1024"});
    ASSERT_EQ(gen.exitCode, 0) << gen.err;
    auto r = eeprom({"apply", td("pieeprom-2711-2026-05-17.bin"), "--config", td("boot.conf"),
                     "--pubkey", key.string(), "-o", out("o.bin").string()});
    expectFailure(r, "RSA key size must be 2048", out("o.bin"));
}

TEST_F(EepromCli, BrokenSectionChainAndNoConfig) {
    auto b = readAll(td("pieeprom-2711-2026-05-17.bin"));
    b[0x72e00] = 0x12;  // bootconf.txt header magic
    writeBytes(out("broken.bin"), b);
    auto r = eeprom({"apply", out("broken.bin").string(), "--config", td("boot.conf"), "-o",
                     out("o.bin").string()});
    expectFailure(r, "EEPROM is corrupted", out("o.bin"));
    // Chain ends before any bootconf.txt.
    writeBytes(out("noconf.bin"), test::buildSyntheticImage(524288, 64, {}));
    r = eeprom(
        {"set", out("noconf.bin").string(), "BOOT_ORDER=0xf21", "-o", out("o.bin").string()});
    expectFailure(r, "no bootconf.txt in the image", out("o.bin"));
}

TEST_F(EepromCli, OutputMayReplaceInputWhenNamed) {
    const auto copy = out("copy.bin");
    fs::copy_file(td("pieeprom-2711-2021-07-06.bin"), copy);
    auto r = eeprom({"apply", copy.string(), "--config", td("boot.conf"), "-o", copy.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(sha256Hex(readAll(copy)), kImages[0].netbootSha);
}

// eeprom set: the seed's edit, and everything else kept.
TEST_F(EepromCli, SetBootOrder) {
    for (const auto& img : kImages) {
        const std::string bin = td(std::string(img.name) + ".bin");
        auto r = eeprom({"set", bin, "BOOT_ORDER=0xf21", "-o", out("set.bin").string()});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        auto conf = eeprom({"show", out("set.bin").string()}).out;
        const std::string orig = textOf(td(std::string(img.name) + ".conf"));
        EXPECT_NE(conf.find("BOOT_ORDER=0xf21\n"), std::string::npos) << conf;
        EXPECT_EQ(conf.find("0xf461"), std::string::npos);
        // Every original line except BOOT_ORDER is still there, in order.
        std::string withoutOrder;
        for (std::size_t p = 0; p < orig.size();) {
            auto nl = orig.find('\n', p);
            std::string line = orig.substr(p, nl - p + 1);
            if (line.rfind("BOOT_ORDER=", 0) != 0) {
                withoutOrder += line;
            }
            p = nl + 1;
        }
        std::string confWithout;
        for (std::size_t p = 0; p < conf.size();) {
            auto nl = conf.find('\n', p);
            std::string line = conf.substr(p, nl - p + 1);
            if (line.rfind("BOOT_ORDER=", 0) != 0) {
                confWithout += line;
            }
            p = nl + 1;
        }
        EXPECT_EQ(confWithout, withoutOrder) << img.name;
        // Same image as applying the edited text with apply.
        std::ofstream(out("edited.conf"), std::ios::binary) << conf;
        ASSERT_EQ(eeprom({"apply", bin, "--config", out("edited.conf").string(), "-o",
                          out("applied.bin").string()})
                      .exitCode,
                  0);
        EXPECT_EQ(readAll(out("set.bin")), readAll(out("applied.bin")));
    }
    // A bad value is refused by lint, no output.
    auto bad = eeprom({"set", td("pieeprom-2711-2021-07-06.bin"), "BOOT_ORDER=0xf91", "-o",
                       out("bad.bin").string()});
    expectFailure(bad, "config has errors", out("bad.bin"));
    EXPECT_NE(bad.err.find("unknown boot mode 0x9"), std::string::npos);
    // --force writes it anyway; a typo only warns.
    auto typo = eeprom({"set", td("pieeprom-2711-2021-07-06.bin"), "BOOT_ODER=0xf21", "--section",
                        "pi4", "-o", out("typo.bin").string()});
    EXPECT_EQ(typo.exitCode, 0) << typo.err;
    EXPECT_NE(typo.err.find("did you mean BOOT_ORDER?"), std::string::npos) << typo.err;
    EXPECT_NE(eeprom({"show", out("typo.bin").string()}).out.find("[pi4]\nBOOT_ODER=0xf21\n"),
              std::string::npos);
}

TEST_F(EepromCli, LintBootOrderInfo) {
    auto ok = eeprom({"lint", td("boot.conf")});
    EXPECT_EQ(ok.exitCode, 0) << ok.out;
    EXPECT_NE(ok.out.find("OK"), std::string::npos);
    std::ofstream(out("dup.conf")) << "[all]\nBOOT_UART=1\nBOOT_UART=0\nBOOT_ORDER=0xfq1\n";
    auto bad = eeprom({"lint", out("dup.conf").string()});
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.out.find(out("dup.conf").string() + ":3: warning: BOOT_UART is set again"),
              std::string::npos)
        << bad.out;
    EXPECT_NE(bad.out.find(":4: error: BOOT_ORDER '0xfq1' is not a hex number"), std::string::npos);

    auto bo = eeprom({"boot-order", "0xf21"});
    EXPECT_EQ(bo.exitCode, 0);
    EXPECT_NE(bo.out.find("SD card, then network, then restart"), std::string::npos) << bo.out;
    // Issue #15: on a CM4 with eMMC the SD nibble is the eMMC; SD before network never netboots.
    EXPECT_NE(bo.out.find("warning: on a CM4/CM5 with eMMC, 0x1 (SD card) means the eMMC"),
              std::string::npos)
        << bo.out;
    auto netFirst = eeprom({"boot-order", "0xf12"});
    EXPECT_EQ(netFirst.out.find("warning:"), std::string::npos) << netFirst.out;
    EXPECT_NE(netFirst.out.find("note: on a CM4/CM5 with eMMC"), std::string::npos);
    EXPECT_EQ(eeprom({"boot-order", "0xf2"}).out.find("eMMC"), std::string::npos);
    EXPECT_EQ(eeprom({"boot-order", "0xf81"}).exitCode, 1);

    auto info = eeprom({"info", td("pieeprom-2712-2026-05-26.bin"), "--json"});
    ASSERT_EQ(info.exitCode, 0) << info.err;
    auto j = nlohmann::json::parse(info.out);
    EXPECT_EQ(j["chip"], "2712");
    EXPECT_EQ(j["layout"], "ab");
    EXPECT_FALSE(j["pubkey_present"].get<bool>());
    EXPECT_EQ(j["boot_order"]["value"], "0xf461");
    EXPECT_EQ(j["boot_order"]["words"], "SD card, then NVMe, then USB mass storage, then restart");
    EXPECT_EQ(j["sections"][4]["name"], "bootsys");
    EXPECT_EQ(j["sections"][4]["offset"], 0x10000);
    EXPECT_EQ(j["files"].size(), 7u);
    auto text = eeprom({"info", td("pieeprom-2711-2021-07-06.bin")});
    EXPECT_NE(text.out.find("chip:       BCM2711"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("layout:     classic"), std::string::npos);
    EXPECT_NE(text.out.find("not set (default 0xf41"), std::string::npos);
}

}  // namespace
}  // namespace pinet
