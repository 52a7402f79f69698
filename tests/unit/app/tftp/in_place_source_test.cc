#include "app/tftp/in_place_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "io/file.h"
#include "lib/test_env.h"
#include "proto/disk/boot_map.h"

namespace pinet::app {
namespace {

namespace disk = proto::disk;
using core::tftp::FileContent;
using core::tftp::FileError;

/// The TFTP root's own files, in memory: "SERIAL/cmdline.txt" only.
class FolderStub final : public core::tftp::FileSource {
public:
    class Bytes final : public FileContent {
    public:
        explicit Bytes(std::string s) : s_(std::move(s)) {}
        [[nodiscard]] std::span<const std::uint8_t> bytes() const override {
            return {reinterpret_cast<const std::uint8_t*>(s_.data()), s_.size()};
        }

    private:
        std::string s_;
    };
    tl::expected<std::shared_ptr<const FileContent>, FileError> open(const std::string& relPath,
                                                                     bool) override {
        ++opens;
        if (relPath == "aaaa0001/cmdline.txt") {
            return std::make_shared<Bytes>("root=/dev/nbd0p2 own");
        }
        if (relPath == "aaaa0001/secret") {
            return tl::unexpected(FileError::AccessDenied);
        }
        return tl::unexpected(FileError::NotFound);
    }
    int opens = 0;
};

std::string text(const std::shared_ptr<const FileContent>& c) {
    auto b = c->bytes();
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class InPlaceSourceTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937 rng(7);
        image_.resize(256 * 1024);
        for (auto& b : image_) {
            b = static_cast<std::uint8_t>(rng());
        }
        // A text file with line ends for netascii, at an odd offset.
        const std::string config = "arm_64bit=1\nkernel=kernel8.img\n";
        std::copy(config.begin(), config.end(), image_.begin() + 70001);
        writeImage();
        files_ = {
            // Contiguous, starting off a page boundary: served as a mapping.
            {"START4.elf", 50000, 0, {{1000, 20000}, {21000, 30000}}},
            {"config.txt", config.size(), 0, {{70001, config.size()}}},
            // Fragmented, the second piece before the first in the image.
            {"kernel8.img", 12000, 0, {{200000, 8000}, {100000, 4000}}},
            {"overlays/x.dtbo", 10, 0, {{150000, 10}}},
            {"empty", 0, 0, {}},
        };
        std::sort(files_.begin(), files_.end(),
                  [](const auto& a, const auto& b) { return a.path < b.path; });
        writeMap();
    }
    void writeImage() {
        std::ofstream(path_, std::ios::binary)
            .write(reinterpret_cast<const char*>(image_.data()),
                   static_cast<std::streamsize>(image_.size()));
    }
    void writeMap() {
        auto map = disk::encodeBootMap(files_, image_.size());
        ASSERT_TRUE(map) << map.error().message;
        test::writeText(dir_.path() / "boot-map", *map);
    }
    ImageInfo info() {
        ImageInfo i;
        i.name = "os";
        i.dir = dir_.path();
        i.source = path_.string();
        i.inPlace = true;
        auto id = io::fileIdentity(path_);
        EXPECT_TRUE(id);
        i.sourceSize = id->size;
        i.sourceMtime = id->mtimeNs;
        return i;
    }
    std::string bytesAt(std::vector<std::pair<std::size_t, std::size_t>> runs) {
        std::string out;
        for (auto [off, len] : runs) {
            out.append(reinterpret_cast<const char*>(image_.data() + off), len);
        }
        return out;
    }
    std::shared_ptr<const InPlaceViews> viewsFor(const std::string& dir) {
        auto v = InPlaceView::open(info());
        EXPECT_TRUE(v) << v.error().message;
        auto views = std::make_shared<InPlaceViews>();
        views->emplace(dir, *v);
        return views;
    }

    io::TempDir dir_{"in-place-test"};
    std::filesystem::path path_ = dir_.path() / "pi.img";
    std::vector<std::uint8_t> image_;
    std::vector<disk::BootMapFile> files_;
    FolderStub folder_;
};

TEST_F(InPlaceSourceTest, ServesEveryFileAtItsExtents) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    auto start = src.open("aaaa0001/START4.elf", false);
    ASSERT_TRUE(start);
    EXPECT_EQ(text(*start), bytesAt({{1000, 50000}}));
    auto kernel = src.open("aaaa0001/kernel8.img", false);
    ASSERT_TRUE(kernel);
    EXPECT_EQ(text(*kernel), bytesAt({{200000, 8000}, {100000, 4000}}));
    auto dtbo = src.open("aaaa0001/overlays/x.dtbo", false);
    ASSERT_TRUE(dtbo);
    EXPECT_EQ(text(*dtbo), bytesAt({{150000, 10}}));
    auto empty = src.open("aaaa0001/empty", false);
    ASSERT_TRUE(empty);
    EXPECT_TRUE((*empty)->bytes().empty());
}

TEST_F(InPlaceSourceTest, TheClientsOwnFilesComeFirstAndErrorsOtherThanNotFoundStand) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    auto own = src.open("aaaa0001/cmdline.txt", false);
    ASSERT_TRUE(own);
    EXPECT_EQ(text(*own), "root=/dev/nbd0p2 own");
    auto denied = src.open("aaaa0001/secret", false);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error(), FileError::AccessDenied);
}

TEST_F(InPlaceSourceTest, NamesAreFoundAsTheFatFindsThem) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    auto lower = src.open("aaaa0001/start4.elf", false);
    ASSERT_TRUE(lower);
    EXPECT_EQ(text(*lower), bytesAt({{1000, 50000}}));
    auto upper = src.open("aaaa0001/CONFIG.TXT", false);
    ASSERT_TRUE(upper);
}

TEST_F(InPlaceSourceTest, OtherDirectoriesAndAbsentFilesAreNotFound) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    for (const char* p : {"bbbb0002/start4.elf", "start4.elf", "aaaa0001/nope", "aaaa0001",
                          "aaaa0001/overlays", "aaaa00011/start4.elf"}) {
        auto r = src.open(p, false);
        ASSERT_FALSE(r) << p;
        EXPECT_EQ(r.error(), FileError::NotFound) << p;
    }
    InPlaceFileSource none(folder_);
    EXPECT_FALSE(none.open("aaaa0001/start4.elf", false));
}

TEST_F(InPlaceSourceTest, NetasciiIsConvertedFromTheImage) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    auto r = src.open("aaaa0001/config.txt", true);
    ASSERT_TRUE(r);
    EXPECT_EQ(text(*r), "arm_64bit=1\r\nkernel=kernel8.img\r\n");
}

TEST_F(InPlaceSourceTest, ContentIsCachedAndDroppedWithItsView) {
    InPlaceFileSource src(folder_);
    src.setViews(viewsFor("aaaa0001"));
    auto a = src.open("aaaa0001/kernel8.img", false);
    auto b = src.open("aaaa0001/kernel8.img", false);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->get(), b->get());
    EXPECT_EQ(src.stats().hits, 1u);
    EXPECT_EQ(src.stats().misses, 1u);
    a->reset();
    b->reset();
    src.setViews(std::make_shared<InPlaceViews>());
    EXPECT_EQ(src.stats().entries, 0u);
    EXPECT_EQ(src.stats().bytes, 0u);
}

TEST_F(InPlaceSourceTest, IdleBytesStayUnderTheBudget) {
    InPlaceFileSource::Options o;
    o.maxIdleBytes = 55000;  // kernel8.img (12000) and START4.elf (50000) are over it
    InPlaceFileSource src(folder_, o);
    src.setViews(viewsFor("aaaa0001"));
    ASSERT_TRUE(src.open("aaaa0001/kernel8.img", false));
    ASSERT_TRUE(src.open("aaaa0001/START4.elf", false));
    EXPECT_LE(src.stats().bytes, 55000u);
    EXPECT_EQ(src.stats().entries, 1u);  // the least recently used went
}

TEST_F(InPlaceSourceTest, AFragmentedFileOverTheCopyBoundIsRefused) {
    InPlaceFileSource::Options o;
    o.maxCopyBytes = 10000;
    InPlaceFileSource src(folder_, o);
    src.setViews(viewsFor("aaaa0001"));
    auto r = src.open("aaaa0001/kernel8.img", false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), FileError::TooLarge);
    EXPECT_TRUE(src.open("aaaa0001/START4.elf", false));  // mapped: not a copy
}

TEST_F(InPlaceSourceTest, AChangedImageIsNotOpened) {
    auto before = info();
    image_[5] ^= 0xff;
    image_.push_back(0);
    writeImage();
    auto v = InPlaceView::open(before);
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message.find("changed since `image add`"), std::string::npos)
        << v.error().message;
}

TEST_F(InPlaceSourceTest, AViewKnowsWhetherItIsCurrent) {
    auto i = info();
    auto v = InPlaceView::open(i);
    ASSERT_TRUE(v);
    EXPECT_TRUE((*v)->current(i));
    auto other = i;
    other.sourceMtime += 1;
    EXPECT_FALSE((*v)->current(other));
}

}  // namespace
}  // namespace pinet::app
