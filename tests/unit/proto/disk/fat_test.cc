#include "proto/disk/fat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "proto/byte_reader.h"

namespace pinet::proto::disk {
namespace {

// A FAT12 volume: 512-byte sectors, 1 sector per cluster, 1 reserved sector,
// 1 FAT of 1 sector, 16 root entries (1 sector), 64 sectors in all.
// Root dir at 1024, cluster N at 1536 + (N - 2) * 512.
class Fat12Builder {
public:
    Fat12Builder() : img_(64 * 512, 0) {
        std::uint8_t* b = img_.data();
        b[0] = 0xEB;
        b[11] = 0x00;
        b[12] = 0x02;  // 512
        b[13] = 1;
        b[14] = 1;
        b[16] = 1;
        b[17] = 16;
        b[19] = 64;
        b[21] = 0xF8;
        b[22] = 1;
        b[510] = 0x55;
        b[511] = 0xAA;
        setFat(0, 0xFF8);
        setFat(1, 0xFFF);
    }
    void setFat(std::uint32_t n, std::uint32_t v) {
        std::uint8_t* f = img_.data() + 512;
        std::size_t off = n + n / 2;
        if ((n & 1U) != 0) {
            f[off] = static_cast<std::uint8_t>((f[off] & 0x0F) | ((v << 4) & 0xF0));
            f[off + 1] = static_cast<std::uint8_t>(v >> 4);
        } else {
            f[off] = static_cast<std::uint8_t>(v);
            f[off + 1] = static_cast<std::uint8_t>((f[off + 1] & 0xF0) | ((v >> 8) & 0x0F));
        }
    }
    std::uint8_t* cluster(std::uint32_t n) { return img_.data() + 1536 + (n - 2) * 512; }
    std::uint8_t* rootSlot(int i) { return img_.data() + 1024 + i * 32; }
    static void sfn(std::uint8_t* e, const char* name11, std::uint8_t attr, std::uint16_t clus,
                    std::uint32_t size, std::uint8_t ntres = 0) {
        std::memcpy(e, name11, 11);
        e[11] = attr;
        e[12] = ntres;
        e[22] = 0x20;  // 01:01:00 ... time (hour 0, min 1, sec 0)
        e[23] = 0x00;
        e[24] = 0x21;  // 1980-01-01
        e[25] = 0x00;
        e[26] = static_cast<std::uint8_t>(clus);
        e[27] = static_cast<std::uint8_t>(clus >> 8);
        putU32le(e + 28, size);
    }
    static std::uint8_t checksum(const char* name11) {
        std::uint8_t sum = 0;
        for (int i = 0; i < 11; ++i) {
            sum = static_cast<std::uint8_t>(((sum & 1) << 7) + (sum >> 1) +
                                            static_cast<std::uint8_t>(name11[i]));
        }
        return sum;
    }
    // One LFN slot holding up to 13 chars of @p name starting at piece @p seq.
    static void lfn(std::uint8_t* e, int seq, bool last, const std::string& name,
                    std::uint8_t sum) {
        static const int kPos[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
        e[0] = static_cast<std::uint8_t>(seq | (last ? 0x40 : 0));
        e[11] = 0x0F;
        e[13] = sum;
        for (int k = 0; k < 13; ++k) {
            std::size_t idx = std::size_t(seq - 1) * 13 + std::size_t(k);
            std::uint16_t u = idx < name.size()    ? static_cast<std::uint8_t>(name[idx])
                              : idx == name.size() ? 0x0000
                                                   : 0xFFFF;
            e[kPos[k]] = static_cast<std::uint8_t>(u);
            e[kPos[k] + 1] = static_cast<std::uint8_t>(u >> 8);
        }
    }
    std::vector<std::uint8_t>& bytes() { return img_; }

private:
    std::vector<std::uint8_t> img_;
};

Fat12Builder sample() {
    Fat12Builder b;
    // "Hello World.txt" -> HELLOW~1TXT, 600 bytes in clusters 2 -> 3
    const char* sn = "HELLOW~1TXT";
    std::uint8_t sum = Fat12Builder::checksum(sn);
    Fat12Builder::lfn(b.rootSlot(0), 2, true, "Hello World.txt", sum);
    Fat12Builder::lfn(b.rootSlot(1), 1, false, "Hello World.txt", sum);
    Fat12Builder::sfn(b.rootSlot(2), sn, 0x20, 2, 600);
    b.setFat(2, 3);
    b.setFat(3, 0xFFF);
    std::memset(b.cluster(2), 'a', 512);
    std::memset(b.cluster(3), 'b', 88);
    // directory "OVERLAYS" at cluster 4 containing "vc4.dtbo" (lower-case via NT bits)
    Fat12Builder::sfn(b.rootSlot(3), "OVERLAYS   ", 0x10, 4, 0);
    b.setFat(4, 0xFFF);
    Fat12Builder::sfn(b.cluster(4), ".          ", 0x10, 4, 0);
    Fat12Builder::sfn(b.cluster(4) + 32, "..         ", 0x10, 0, 0);
    Fat12Builder::sfn(b.cluster(4) + 64, "VC4     DTB", 0x20, 5, 10, 0x18);
    b.setFat(5, 0xFFF);
    std::memcpy(b.cluster(5), "0123456789", 10);
    // a deleted entry and a volume label are skipped
    Fat12Builder::sfn(b.rootSlot(4), "\xE5OLD    TXT", 0x20, 6, 1);
    Fat12Builder::sfn(b.rootSlot(5), "BOOTFS     ", 0x08, 0, 0);
    return b;
}

TEST(FatTest, ReadsFat12WithLongNamesAndSubdirectories) {
    auto b = sample();
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->type(), FatType::Fat12);
    std::map<std::string, FatEntry> seen;
    auto r = v->walk([&](const std::string& p, const FatEntry& e) -> Result<void> {
        seen[p] = e;
        return {};
    });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(seen.size(), 3u);
    ASSERT_TRUE(seen.count("Hello World.txt"));
    ASSERT_TRUE(seen.count("OVERLAYS"));
    ASSERT_TRUE(seen.count("OVERLAYS/vc4.dtb"));
    EXPECT_TRUE(seen["OVERLAYS"].directory);
    EXPECT_EQ(seen["Hello World.txt"].mtime, 315532860);  // 1980-01-01 00:01:00 UTC
    auto data = v->readFile(seen["Hello World.txt"]);
    ASSERT_TRUE(data);
    ASSERT_EQ(data->size(), 600u);
    EXPECT_EQ((*data)[0], 'a');
    EXPECT_EQ((*data)[511], 'a');
    EXPECT_EQ((*data)[512], 'b');
    EXPECT_EQ((*data)[599], 'b');
    auto small = v->readFile(seen["OVERLAYS/vc4.dtb"]);
    ASSERT_TRUE(small);
    EXPECT_EQ(std::string(small->begin(), small->end()), "0123456789");
}

// Images served in place (issue #18): a file's extents, read straight from the volume,
// give its bytes; adjacent clusters are one extent, a gap starts another.
TEST(FatTest, ExtentsLocateEveryByteOfAFile) {
    auto b = sample();
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v) << v.error().message;
    std::map<std::string, FatEntry> seen;
    ASSERT_TRUE(v->walk([&](const std::string& p, const FatEntry& e) -> Result<void> {
        seen[p] = e;
        return {};
    }));
    auto hello = v->extents(seen["Hello World.txt"]);
    ASSERT_TRUE(hello) << hello.error().message;
    // clusters 2 and 3 are adjacent: one extent of 600 bytes at cluster 2's offset
    ASSERT_EQ(hello->size(), 1u);
    EXPECT_EQ((*hello)[0], (FatExtent{1536, 600}));
    auto small = v->extents(seen["OVERLAYS/vc4.dtb"]);
    ASSERT_TRUE(small);
    ASSERT_EQ(small->size(), 1u);
    EXPECT_EQ((*small)[0], (FatExtent{1536 + 3 * 512, 10}));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.bytes().data()) + (*small)[0].offset, 10),
              "0123456789");
    EXPECT_FALSE(v->extents(seen["OVERLAYS"]));  // a directory has no extents

    // A chain with a gap: cluster 2 then 6.
    b.setFat(2, 6);
    b.setFat(6, 0xFFF);
    std::memset(b.cluster(6), 'c', 88);
    auto v2 = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v2);
    auto gap = v2->extents(seen["Hello World.txt"]);
    ASSERT_TRUE(gap) << gap.error().message;
    ASSERT_EQ(gap->size(), 2u);
    EXPECT_EQ((*gap)[0], (FatExtent{1536, 512}));
    EXPECT_EQ((*gap)[1], (FatExtent{1536 + 4 * 512, 88}));
    // Too short a chain for the size is refused, as readFile refuses it.
    b.setFat(2, 0xFFF);
    auto v3 = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v3);
    EXPECT_FALSE(v3->extents(seen["Hello World.txt"]));
}

TEST(FatTest, LongNameWithWrongChecksumFallsBackToShortName) {
    auto b = sample();
    b.rootSlot(0)[13] ^= 0xFF;
    b.rootSlot(1)[13] ^= 0xFF;
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    auto root = v->listRoot();
    ASSERT_TRUE(root);
    EXPECT_EQ((*root)[0].name, "HELLOW~1.TXT");
}

TEST(FatTest, ClusterLoopIsDetected) {
    auto b = sample();
    b.setFat(3, 2);  // 2 -> 3 -> 2 -> ...
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    auto root = v->listRoot();
    ASSERT_TRUE(root);
    auto data = v->readFile((*root)[0]);
    ASSERT_FALSE(data);
    EXPECT_NE(data.error().message.find("loops"), std::string::npos);
}

TEST(FatTest, ShortChainAndBadClusterAreErrors) {
    auto b = sample();
    b.setFat(2, 0xFFF);  // 600 bytes need 2 clusters, chain has 1
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    auto root = v->listRoot();
    ASSERT_TRUE(root);
    EXPECT_FALSE(v->readFile((*root)[0]));
    b.setFat(2, 0x7F0);  // beyond the 61 clusters
    auto v2 = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    auto root2 = v2->listRoot();
    auto data = v2->readFile((*root2)[0]);
    ASSERT_FALSE(data);
    EXPECT_NE(data.error().message.find("invalid cluster"), std::string::npos);
}

TEST(FatTest, DirectoryCycleIsDetected) {
    auto b = sample();
    // OVERLAYS contains an entry pointing back at itself
    Fat12Builder::sfn(b.cluster(4) + 96, "LOOP       ", 0x10, 4, 0);
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    auto r = v->walk([](const std::string&, const FatEntry&) -> Result<void> { return {}; });
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("loops back"), std::string::npos);
}

// Issue #13 item 5: two entries sharing clusters would be copied once per
// entry (a 32 MiB FAT extracted to 202 MiB). The second claim is refused
// before it is visited.
TEST(FatTest, SharedClustersAreRefused) {
    auto b = sample();
    Fat12Builder::sfn(b.rootSlot(6), "COPY    TXT", 0x20, 3, 512);  // inside Hello's chain
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    std::vector<std::string> seen;
    auto r = v->walk([&](const std::string& p, const FatEntry&) -> Result<void> {
        seen.push_back(p);
        return {};
    });
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("COPY.TXT: cluster 3 belongs to another"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(std::find(seen.begin(), seen.end(), "COPY.TXT"), seen.end());
}

TEST(FatTest, DirectoryReachedTwiceIsRefused) {
    auto b = sample();
    Fat12Builder::sfn(b.rootSlot(6), "AGAIN      ", 0x10, 4, 0);  // OVERLAYS' cluster
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    auto r = v->walk([](const std::string&, const FatEntry&) -> Result<void> { return {}; });
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("AGAIN: cluster 4 belongs to another"), std::string::npos)
        << r.error().message;
}

TEST(FatTest, WalkOfAnIntactVolumeStillVisitsEverything) {
    auto b = sample();
    auto v = FatVolume::open(spanReader(b.bytes()), b.bytes().size());
    ASSERT_TRUE(v);
    std::vector<std::string> seen;
    auto r = v->walk([&](const std::string& p, const FatEntry&) -> Result<void> {
        seen.push_back(p);
        return {};
    });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(seen, (std::vector<std::string>{"Hello World.txt", "OVERLAYS", "OVERLAYS/vc4.dtb"}));
}

TEST(FatTest, RejectsBadBootSectors) {
    auto b = sample();
    b.bytes()[11] = 0x10;  // 528 bytes per sector... not a power of two
    b.bytes()[12] = 0x02;
    EXPECT_FALSE(FatVolume::open(spanReader(b.bytes()), b.bytes().size()));
    auto c = sample();
    c.bytes()[510] = 0;
    EXPECT_FALSE(FatVolume::open(spanReader(c.bytes()), c.bytes().size()));
    auto d = sample();
    auto r = FatVolume::open(spanReader(d.bytes()), 16 * 512);  // partition smaller than the volume
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
    auto e = sample();
    e.bytes()[13] = 3;  // sectors per cluster not a power of two
    EXPECT_FALSE(FatVolume::open(spanReader(e.bytes()), e.bytes().size()));
}

TEST(FatTest, TimeConversion) {
    // 2024-03-15 12:34:56: date = (44 << 9) | (3 << 5) | 15, time = (12 << 11) | (34 << 5) | 28
    EXPECT_EQ(fatTimeToUnix(static_cast<std::uint16_t>((44 << 9) | (3 << 5) | 15),
                            static_cast<std::uint16_t>((12 << 11) | (34 << 5) | 28)),
              1710506096);
}

}  // namespace
}  // namespace pinet::proto::disk
