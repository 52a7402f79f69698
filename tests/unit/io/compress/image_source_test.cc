#include "io/compress/image_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::io {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMiB = 1 << 20;

std::string pattern(std::size_t bytes, char base) {
    std::string data(bytes, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(base + (i * 7 + i / 4093) % 26);
    }
    return data;
}

class ImageSource : public ::testing::Test {
protected:
    fs::path write(const std::string& name, const std::string& data) {
        fs::path p = tmp_.path() / name;
        std::ofstream(p, std::ios::binary) << data;
        return p;
    }
    /// gzip -1 of @p data, as FILE.gz next to it.
    fs::path gzip(const std::string& name, const std::string& data) {
        fs::path raw = write(name, data);
        auto r = test::run({"gzip", "-1", "-f", raw.string()});
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return raw.string() + ".gz";
    }
    fs::path out(const std::string& name = "out") { return tmp_.path() / name; }

    TempDir tmp_{"image-source"};
};

TEST(ImageFormat, DetectedFromTheFirstBytes) {
    auto of = [](std::initializer_list<std::uint8_t> b) {
        std::vector<std::uint8_t> v(b);
        return detectImageFormat(v);
    };
    EXPECT_EQ(of({0xFD, '7', 'z', 'X', 'Z', 0, 1}), ImageFormat::Xz);
    EXPECT_EQ(of({0x1F, 0x8B, 8, 0}), ImageFormat::Gzip);
    EXPECT_EQ(of({'P', 'K', 3, 4, 20}), ImageFormat::Zip);
    EXPECT_EQ(of({'P', 'K', 5, 6, 0}), ImageFormat::Zip);
    EXPECT_EQ(of({'B', 'Z', 'h', '9'}), ImageFormat::Bzip2);
    EXPECT_EQ(of({0x28, 0xB5, 0x2F, 0xFD}), ImageFormat::Zstd);
    EXPECT_EQ(of({0xFA, 0xB8, 0, 0x10}), ImageFormat::Raw);  // an MBR's boot code
    EXPECT_EQ(of({0x1F}), ImageFormat::Raw);                 // too short for gzip
    EXPECT_EQ(of({}), ImageFormat::Raw);
}

TEST_F(ImageSource, GzipDecompressesMultipleMembers) {
    const std::string a = pattern(3 * kMiB, 'a');
    const std::string b = pattern(kMiB + 17, 'A');
    auto ga = test::readAll(gzip("a", a));
    auto gb = test::readAll(gzip("b", b));
    ga.insert(ga.end(), gb.begin(), gb.end());  // cat a.gz b.gz
    fs::path both = tmp_.path() / "both.gz";
    std::ofstream(both, std::ios::binary)
        .write(reinterpret_cast<const char*>(ga.data()), static_cast<std::streamsize>(ga.size()));
    auto n = decompressGzip(both, out(), 1ULL << 40, nullptr, nullptr);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, a.size() + b.size());
    EXPECT_EQ(test::readText(out()), a + b);
}

// The bound from the head: bytes past it are not written, but they are still
// decoded, so a corrupt byte there (the CRC32 covers it) fails the import.
TEST_F(ImageSource, GzipOutputStopsAtTheBoundFromTheHead) {
    const std::string data = pattern(6 * kMiB, 'a');
    fs::path gz = gzip("img", data);
    std::size_t seen = 0;
    OutputBound bound = [&](std::span<const std::uint8_t> head) -> Result<std::uint64_t> {
        seen = head.size();
        return 2 * kMiB;
    };
    auto n = decompressGzip(gz, out(), 1ULL << 40, bound, nullptr);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(seen, kBoundHeadBytes);
    EXPECT_EQ(*n, 2 * kMiB);
    EXPECT_EQ(fs::file_size(out()), 2 * kMiB);
    EXPECT_EQ(test::readText(out()), data.substr(0, 2 * kMiB));

    // The gzip trailer: CRC32 then ISIZE (RFC 1952 2.3.1); flip a CRC bit.
    auto bytes = test::readAll(gz);
    bytes[bytes.size() - 8] ^= 1;
    fs::path bad = tmp_.path() / "bad.gz";
    std::ofstream(bad, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    n = decompressGzip(bad, out("out2"), 1ULL << 40, bound, nullptr);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("corrupt"), std::string::npos) << n.error().message;
}

TEST_F(ImageSource, GzipBoundRefusalAndLimitAndTruncation) {
    fs::path gz = gzip("img", pattern(3 * kMiB, 'a'));
    OutputBound refuse = [](std::span<const std::uint8_t>) -> Result<std::uint64_t> {
        return fail("no partition table");
    };
    auto n = decompressGzip(gz, out("o1"), 1ULL << 40, refuse, nullptr);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("no partition table"), std::string::npos);

    bool hit = false;
    n = decompressGzip(gz, out("o2"), 2 * kMiB, nullptr, nullptr, &hit);
    ASSERT_FALSE(n);
    EXPECT_TRUE(hit);
    EXPECT_NE(n.error().message.find("limit of 2097152"), std::string::npos);

    auto bytes = test::readAll(gz);
    bytes.resize(bytes.size() / 2);
    fs::path cut = tmp_.path() / "cut.gz";
    std::ofstream(cut, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    hit = false;
    n = decompressGzip(cut, out("o3"), 1ULL << 40, nullptr, nullptr, &hit);
    ASSERT_FALSE(n);
    EXPECT_FALSE(hit);
    EXPECT_NE(n.error().message.find("ends early"), std::string::npos) << n.error().message;
}

TEST_F(ImageSource, GzipZerosBecomeHoles) {
    std::string data(8 * kMiB, '\0');
    data.replace(0, 4096, pattern(4096, 'a'));
    fs::path gz = gzip("img", data);
    auto n = decompressGzip(gz, out(), 1ULL << 40, nullptr, nullptr);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(fs::file_size(out()), 8 * kMiB);
    struct stat st {};
    ASSERT_EQ(::stat(out().c_str(), &st), 0);
    EXPECT_LT(st.st_blocks * 512, 1 * static_cast<long>(kMiB));
}

class ZipArchive : public ImageSource {
protected:
    /// zip ARCHIVE FILE... in the temporary directory (extra arguments first).
    fs::path zip(const std::string& archive, std::vector<std::string> args) {
        args.insert(args.begin(), {"zip", "-q", archive});
        auto r = test::run(args, tmp_.path());
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return tmp_.path() / archive;
    }
};

TEST_F(ZipArchive, TakesTheOneImage) {
    const std::string data = pattern(3 * kMiB + 5, 'a');
    write("disk.img", data);
    write("README.txt", "how to flash it\n");
    fs::path z = zip("one.zip", {"disk.img", "README.txt"});
    auto r = extractZipImage(z, out(), 1ULL << 40, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->entry, "disk.img");
    EXPECT_EQ(r->bytes, data.size());
    EXPECT_EQ(test::readText(out()), data);

    // A single file need not be called .img.
    fs::path single = zip("single.zip", {"README.txt"});
    r = extractZipImage(single, out("o2"), 1ULL << 40, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->entry, "README.txt");
}

TEST_F(ZipArchive, RefusesSeveralImagesEncryptionAndOversize) {
    write("a.img", pattern(kMiB, 'a'));
    write("b.img", pattern(kMiB, 'b'));
    write("x.txt", "x");
    write("y.txt", "y");
    auto r = extractZipImage(zip("two.zip", {"a.img", "b.img"}), out("o1"), 1ULL << 40, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("holds 2 images (a.img, b.img)"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(out("o1")));

    r = extractZipImage(zip("none.zip", {"x.txt", "y.txt"}), out("o2"), 1ULL << 40, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no .img"), std::string::npos) << r.error().message;

    r = extractZipImage(zip("enc.zip", {"-P", "secret", "a.img"}), out("o3"), 1ULL << 40, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("encrypted"), std::string::npos) << r.error().message;

    bool hit = false;
    r = extractZipImage(zip("big.zip", {"a.img"}), out("o4"), kMiB - 1, nullptr, &hit);
    ASSERT_FALSE(r);
    EXPECT_TRUE(hit);

    fs::path notZip = write("not.zip", "PK\x03\x04 but nothing else");
    r = extractZipImage(notZip, out("o5"), 1ULL << 40, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not a readable zip"), std::string::npos);
}

// A size in the central directory that is smaller than the data: the output
// stops at the declared size (the entry is stored, so its bytes are the data).
TEST_F(ZipArchive, OutputIsCappedAtTheDeclaredSize) {
    const std::string data = pattern(2 * kMiB, 'a');
    write("disk.img", data);
    fs::path z = zip("stored.zip", {"-0", "disk.img"});
    auto bytes = test::readAll(z);
    // End of central directory (APPNOTE 4.3.16): "PK\5\6", the directory's offset at +16.
    std::size_t eocd = bytes.size() - 22;
    ASSERT_EQ(bytes[eocd], 'P');
    ASSERT_EQ(bytes[eocd + 3], 6);
    std::size_t cd = bytes[eocd + 16] | (bytes[eocd + 17] << 8) | (bytes[eocd + 18] << 16) |
                     (static_cast<std::size_t>(bytes[eocd + 19]) << 24);
    // Central file header: uncompressed size at +24; local header: at +22.
    auto put = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
        }
    };
    put(cd + 24, kMiB);
    put(22, kMiB);
    fs::path crafted = tmp_.path() / "crafted.zip";
    std::ofstream(crafted, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    auto r = extractZipImage(crafted, out(), 1ULL << 40, nullptr);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than the 1048576 bytes the archive declares"),
              std::string::npos)
        << r.error().message;
    EXPECT_LE(fs::exists(out()) ? fs::file_size(out()) : 0, kMiB);
}

TEST_F(ImageSource, StreamCopyIsBounded) {
    // The writer may find the read end closed once the limit is hit: EPIPE, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    const std::string data = pattern(3 * kMiB, 'a');
    auto feed = [&](std::uint64_t limit, const fs::path& dest, bool* hit) {
        int p[2];
        EXPECT_EQ(::pipe(p), 0);
        std::thread writer([&, w = p[1]] {
            std::size_t done = 0;
            while (done < data.size()) {
                ssize_t n = ::write(w, data.data() + done, data.size() - done);
                if (n <= 0) {
                    break;  // the reader gave up
                }
                done += static_cast<std::size_t>(n);
            }
            ::close(w);
        });
        auto r = copyStreamToFile(p[0], dest, limit, nullptr, hit);
        ::close(p[0]);
        writer.join();
        return r;
    };
    auto n = feed(1ULL << 40, out(), nullptr);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(test::readText(out()), data);
    bool hit = false;
    n = feed(kMiB, out("o2"), &hit);
    ASSERT_FALSE(n);
    EXPECT_TRUE(hit);
}

}  // namespace
}  // namespace pinet::io
