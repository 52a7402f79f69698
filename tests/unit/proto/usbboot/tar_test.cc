#include "proto/usbboot/tar.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/usbboot/session.h"
#include "io/file.h"
#include "lib/test_env.h"

namespace pinet::proto::usbboot {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> bytesOf(const std::string& s) {
    return {s.begin(), s.end()};
}

/// Builds a bootfiles.bin with GNU tar (the oracle for the ustar layout).
class TarTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto root = dir_.path() / "src";
        put(root / "2711" / "start4.elf", std::string(1500, 'a'));
        put(root / "2712" / "Config.TXT", "x=1\n");
        put(root / "2711" / "empty.dat", "");
        long_ = std::string(60, 'd') + "/" + std::string(60, 'e') + "/f.bin";
        put(root / "2711" / long_, "long path member");
        auto r = test::run({"tar", "--format=ustar", "-C", root.string(), "-cf",
                            (dir_.path() / "bootfiles.bin").string(), "2711", "2712"});
        ASSERT_EQ(r.exitCode, 0) << r.err;
        archive_ = test::readAll(dir_.path() / "bootfiles.bin");
    }
    static void put(const fs::path& p, const std::string& s) {
        fs::create_directories(p.parent_path());
        ASSERT_TRUE(io::writeFileAtomic(p, s).has_value());
    }

    io::TempDir dir_{"pinet-tartest"};
    std::string long_;
    std::vector<std::uint8_t> archive_;
};

TEST_F(TarTest, IndexesRegularFilesWithPrefixAndCaseInsensitiveLookup) {
    auto idx = indexTar(archive_);
    ASSERT_TRUE(idx.has_value()) << idx.error().message;
    EXPECT_EQ(idx->size(), 4u);  // directories are not members
    const auto* m = findTarMember(*idx, "2711/start4.elf");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->size, 1500u);
    EXPECT_EQ(archive_[m->offset], 'a');
    EXPECT_EQ(archive_[m->offset + 1499], 'a');
    EXPECT_NE(findTarMember(*idx, "2712/config.txt"), nullptr);
    EXPECT_NE(findTarMember(*idx, "2711/" + long_), nullptr);  // ustar prefix field
    EXPECT_EQ(findTarMember(*idx, "2711/empty.dat")->size, 0u);
    EXPECT_EQ(findTarMember(*idx, "2711/missing"), nullptr);
}

TEST_F(TarTest, TruncatedOrCorruptArchivesAreErrors) {
    const auto idx = indexTar(archive_);
    ASSERT_TRUE(idx.has_value());
    const auto* m = findTarMember(*idx, "2711/start4.elf");
    ASSERT_NE(m, nullptr);
    auto cut = std::vector<std::uint8_t>(archive_.begin(),
                                         archive_.begin() + static_cast<long>(m->offset + 100));
    auto r = indexTar(cut);
    if (r.has_value()) {
        // Cut inside a later member: earlier ones still listed, never past the end.
        for (const auto& x : *r) {
            EXPECT_LE(x.offset + x.size, cut.size());
        }
    } else {
        EXPECT_NE(r.error().message.find("run past the end"), std::string::npos);
    }
    auto bad = archive_;
    bad[124] = 'z';  // first header's size field
    EXPECT_FALSE(indexTar(bad).has_value());
    EXPECT_TRUE(indexTar({}).value().empty());
}

class MapFs : public core::usbboot::FsView {
public:
    std::map<std::string, std::vector<std::uint8_t>> files;
    std::optional<core::usbboot::ServedFile> read(const std::string& rel) override {
        auto it = files.find(rel);
        if (it == files.end()) {
            return std::nullopt;
        }
        return core::usbboot::ServedFile{
            rel, std::make_shared<const std::vector<std::uint8_t>>(it->second)};
    }
};

TEST_F(TarTest, BootfilesModeLookupOrder) {
    auto archive =
        core::usbboot::loadBootfiles(std::make_shared<const std::vector<std::uint8_t>>(archive_));
    ASSERT_TRUE(archive.has_value());
    MapFs disk;
    disk.files["2712/config.txt"] = bytesOf("disk wins");
    disk.files["root.txt"] = bytesOf("root");
    core::usbboot::LookupFileProvider p2712(disk, "2712", {}, *archive);
    core::usbboot::LookupFileProvider p2711(disk, "2711", {}, *archive);
    EXPECT_EQ(*p2712.open("config.txt")->data, bytesOf("disk wins"));
    EXPECT_EQ(p2711.open("START4.ELF")->data->size(), 1500u);
    EXPECT_EQ(p2711.open("start4.elf")->source, "bootfiles.bin:2711/start4.elf");
    EXPECT_EQ(*p2711.open("root.txt")->data, bytesOf("root"));
    EXPECT_FALSE(p2711.open("../2711/start4.elf").has_value());
    EXPECT_FALSE(p2711.open("nothing").has_value());
}

}  // namespace
}  // namespace pinet::proto::usbboot
