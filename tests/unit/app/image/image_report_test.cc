#include "app/image/image_report.h"

#include <gtest/gtest.h>

#include <fstream>

#include "io/file.h"

namespace pinet::app {
namespace {

namespace fs = std::filesystem;

void writeText(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

io::ClientRecord client(std::string serial, std::string image, io::ClientState state) {
    io::ClientRecord c;
    c.serial = std::move(serial);
    c.image = std::move(image);
    c.state = state;
    return c;
}

TEST(ImageReport, SizeLayoutAndTheClientsThatUseIt) {
    io::TempDir state;
    const auto img = state.path() / "images" / "os";
    writeText(img / "image.json",
              R"({"name":"os","table":"mbr","disk_id":"0x1234abcd","boot_fs":"FAT32",)"
              R"("boot_partuuid":"1234abcd-01","root_partuuid":"1234abcd-02","boot_files":3,)"
              R"("root_files":10,"root_bytes":5000,"models":"pi4 cm4","source":"/tmp/os.img"})");
    writeText(img / "boot" / "start4.elf", std::string(1000, 'x'));
    writeText(img / "boot" / "overlays" / "a.dtbo", std::string(24, 'y'));
    fs::create_symlink("/etc/passwd", img / "boot" / "link");  // not followed, not counted
    fs::create_directories(img / "root");
    writeText(state.path() / "images" / ".import-x.123" / "image.json", "{}");  // in progress

    const std::vector<io::ClientRecord> clients = {
        client("bbbb0002", "os", io::ClientState::Enrolled),
        client("aaaa0001", "os", io::ClientState::Enrolled),
        client("cccc0003", "other", io::ClientState::Enrolled),
        client("dddd0004", "", io::ClientState::Discovered),
    };
    auto r = imageReports(state.path(), clients);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 1u);
    const auto& rep = (*r)[0];
    EXPECT_EQ(rep.bootBytes, 1024u);
    EXPECT_EQ(rep.sizeBytes, 1024u + 5000u);
    EXPECT_EQ(rep.clients, (std::vector<std::string>{"aaaa0001", "bbbb0002"}));

    const auto j = imageReportJson(rep);
    EXPECT_EQ(j["name"], "os");
    EXPECT_EQ(j["size_bytes"], 6024);
    EXPECT_EQ(j["root_bytes"], 5000);  // the `image list --json` fields stay
    EXPECT_EQ(j["layout"]["table"], "mbr");
    EXPECT_EQ(j["layout"]["boot"]["fs"], "FAT32");
    EXPECT_EQ(j["layout"]["boot"]["partuuid"], "1234abcd-01");
    EXPECT_EQ(j["layout"]["root"]["files"], 10);
    EXPECT_EQ(j["clients"], nlohmann::json({"aaaa0001", "bbbb0002"}));
}

TEST(ImageReport, NoImagesDirectoryIsNoImages) {
    io::TempDir state;
    auto r = imageReports(state.path() / "nothing-here", {});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace pinet::app
