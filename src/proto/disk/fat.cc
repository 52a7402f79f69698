#include "proto/disk/fat.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "proto/byte_reader.h"

namespace pinet::proto::disk {

namespace {

// fatgen103 section 3: BPB field offsets.
constexpr std::size_t kBpbBytesPerSector = 11;
constexpr std::size_t kBpbSectorsPerCluster = 13;
constexpr std::size_t kBpbReservedSectors = 14;
constexpr std::size_t kBpbNumFats = 16;
constexpr std::size_t kBpbRootEntries = 17;
constexpr std::size_t kBpbTotalSectors16 = 19;
constexpr std::size_t kBpbFatSize16 = 22;
constexpr std::size_t kBpbTotalSectors32 = 32;
constexpr std::size_t kBpbFatSize32 = 36;
constexpr std::size_t kBpbRootCluster = 44;
// fatgen103 section 4: the cluster count alone decides the FAT type.
constexpr std::uint32_t kFat12MaxClusters = 4084;
constexpr std::uint32_t kFat16MaxClusters = 65524;
// fatgen103 section 6: directory entries.
constexpr std::size_t kDirEntrySize = 32;
constexpr std::uint8_t kAttrVolumeId = 0x08;
constexpr std::uint8_t kAttrDirectory = 0x10;
constexpr std::uint8_t kAttrLongName = 0x0F;
constexpr std::uint8_t kDeleted = 0xE5;
constexpr std::uint8_t kNtLowerBase = 0x08;  // Windows NT case bits (byte 12)
constexpr std::uint8_t kNtLowerExt = 0x10;
// A boot partition is at most a few GiB; a FAT bigger than this is not one
// and would only make us allocate.
constexpr std::uint64_t kMaxFatBytes = 64ULL << 20;
// Directory nesting limit: the Pi boot partition has two levels (overlays/).
constexpr int kMaxDepth = 32;
// A directory can hold at most 65536 entries (fatgen103 section 6).
constexpr std::size_t kMaxDirBytes = 65536 * kDirEntrySize;

std::uint16_t le16(std::span<const std::uint8_t> b, std::size_t off) {
    return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}
std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t off) {
    return std::uint32_t{b[off]} | (std::uint32_t{b[off + 1]} << 8) |
           (std::uint32_t{b[off + 2]} << 16) | (std::uint32_t{b[off + 3]} << 24);
}
bool isPowerOfTwo(std::uint32_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string utf16ToUtf8(const std::vector<std::uint16_t>& units) {
    std::string out;
    for (std::size_t i = 0; i < units.size(); ++i) {
        std::uint32_t u = units[i];
        if (u >= 0xD800 && u < 0xDC00 && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
            units[i + 1] < 0xE000) {
            u = 0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00);
            ++i;
        } else if (u >= 0xD800 && u < 0xE000) {
            u = 0xFFFD;  // lone surrogate
        }
        appendUtf8(out, u);
    }
    return out;
}

std::uint8_t shortNameChecksum(std::span<const std::uint8_t> name11) {
    std::uint8_t sum = 0;
    for (std::uint8_t c : name11) {
        sum = static_cast<std::uint8_t>(((sum & 1) << 7) + (sum >> 1) + c);
    }
    return sum;
}

bool nameIsSafe(const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
           n.find('\0') == std::string::npos;
}

}  // namespace

std::string_view fatTypeName(FatType t) {
    switch (t) {
        case FatType::Fat12: return "FAT12";
        case FatType::Fat16: return "FAT16";
        case FatType::Fat32: break;
    }
    return "FAT32";
}

std::int64_t fatTimeToUnix(std::uint16_t date, std::uint16_t time) {
    std::int64_t y = 1980 + (date >> 9);
    unsigned m = std::clamp<unsigned>((date >> 5) & 0x0F, 1, 12);
    unsigned d = std::clamp<unsigned>(date & 0x1F, 1, 31);
    // Howard Hinnant's days_from_civil.
    y -= m <= 2 ? 1 : 0;
    std::int64_t era = y / 400;
    auto yoe = static_cast<unsigned>(y - era * 400);
    // m > 2 ? m - 3 : m + 9, without a negative unsigned (m is 1..12).
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    std::int64_t days = era * 146097 + static_cast<std::int64_t>(doe) - 719468;
    std::int64_t secs =
        std::int64_t{(time >> 11) & 0x1F} * 3600 + ((time >> 5) & 0x3F) * 60 + (time & 0x1F) * 2;
    return days * 86400 + secs;
}

Result<FatVolume> FatVolume::open(ReadAt read, std::uint64_t volumeSize) {
    std::array<std::uint8_t, 512> bs{};
    if (auto r = read(0, bs); !r) {
        return fail("FAT boot sector: " + r.error().message);
    }
    std::span<const std::uint8_t> b(bs);
    if (bs[510] != 0x55 || bs[511] != 0xAA) {
        return fail("not a FAT file system (no 55 AA signature in the boot sector)");
    }
    std::uint32_t bps = le16(b, kBpbBytesPerSector);
    std::uint32_t spc = bs[kBpbSectorsPerCluster];
    std::uint32_t reserved = le16(b, kBpbReservedSectors);
    std::uint32_t nfats = bs[kBpbNumFats];
    std::uint32_t rootEntries = le16(b, kBpbRootEntries);
    std::uint32_t total = le16(b, kBpbTotalSectors16);
    if (total == 0) {
        total = le32(b, kBpbTotalSectors32);
    }
    std::uint32_t fatSize = le16(b, kBpbFatSize16);
    if (fatSize == 0) {
        fatSize = le32(b, kBpbFatSize32);
    }
    if (bps < 512 || bps > 4096 || !isPowerOfTwo(bps)) {
        return fail(fmt::format("not a FAT file system (bytes per sector {})", bps));
    }
    if (!isPowerOfTwo(spc) || spc > 128) {
        return fail(fmt::format("not a FAT file system (sectors per cluster {})", spc));
    }
    if (reserved == 0 || nfats == 0 || fatSize == 0 || total == 0) {
        return fail("not a FAT file system (zero reserved sectors, FATs, FAT size or total size)");
    }
    std::uint64_t rootDirSectors = (std::uint64_t{rootEntries} * kDirEntrySize + bps - 1) / bps;
    std::uint64_t meta = reserved + std::uint64_t{nfats} * fatSize + rootDirSectors;
    if (meta >= total) {
        return fail("FAT layout is inconsistent (metadata larger than the volume)");
    }
    if (std::uint64_t{total} * bps > volumeSize) {
        return fail(fmt::format("FAT volume claims {} bytes but the partition has {} (truncated?)",
                                std::uint64_t{total} * bps, volumeSize));
    }
    FatVolume v;
    v.read_ = std::move(read);
    v.bytesPerSector_ = bps;
    v.clusterBytes_ = bps * spc;
    v.clusters_ = static_cast<std::uint32_t>((total - meta) / spc);
    v.type_ = v.clusters_ <= kFat12MaxClusters   ? FatType::Fat12
              : v.clusters_ <= kFat16MaxClusters ? FatType::Fat16
                                                 : FatType::Fat32;
    v.rootDirOffset_ = (reserved + std::uint64_t{nfats} * fatSize) * bps;
    v.rootDirBytes_ = static_cast<std::uint32_t>(rootDirSectors * bps);
    v.dataOffset_ = meta * bps;
    if (v.type_ == FatType::Fat32) {
        v.rootCluster_ = le32(b, kBpbRootCluster);
        if (v.rootCluster_ < 2 || v.rootCluster_ >= v.clusters_ + 2) {
            return fail(fmt::format("FAT32 root cluster {} is out of range", v.rootCluster_));
        }
    } else if (rootEntries == 0) {
        return fail("FAT12/16 volume with no root directory entries");
    }
    // Only the entries for existing clusters matter.
    std::uint64_t fatBytes = v.type_ == FatType::Fat12
                                 ? (std::uint64_t{v.clusters_} + 2) * 3 / 2 + 1
                             : v.type_ == FatType::Fat16 ? (std::uint64_t{v.clusters_} + 2) * 2
                                                         : (std::uint64_t{v.clusters_} + 2) * 4;
    fatBytes = std::min<std::uint64_t>(fatBytes, std::uint64_t{fatSize} * bps);
    if (fatBytes > kMaxFatBytes) {
        return fail(fmt::format("FAT of {} bytes is too large for a boot partition", fatBytes));
    }
    v.fat_.resize(static_cast<std::size_t>(fatBytes));
    if (auto r = v.read_(std::uint64_t{reserved} * bps, v.fat_); !r) {
        return fail("reading the FAT: " + r.error().message);
    }
    return v;
}

Result<std::uint32_t> FatVolume::next(std::uint32_t c) const {
    std::span<const std::uint8_t> f(fat_);
    std::uint32_t v = 0;
    switch (type_) {
        case FatType::Fat12: {
            std::size_t off = c + c / 2;
            if (off + 1 >= f.size()) {
                return fail(fmt::format("cluster {} has no FAT entry", c));
            }
            std::uint16_t raw = le16(f, off);
            v = (c & 1U) != 0 ? raw >> 4 : raw & 0x0FFFU;
            return v >= 0xFF8 ? 0xFFFFFFFFU : v;
        }
        case FatType::Fat16:
            if (std::size_t{c} * 2 + 1 >= f.size()) {
                return fail(fmt::format("cluster {} has no FAT entry", c));
            }
            v = le16(f, std::size_t{c} * 2);
            return v >= 0xFFF8 ? 0xFFFFFFFFU : v;
        case FatType::Fat32:
            if (std::size_t{c} * 4 + 3 >= f.size()) {
                return fail(fmt::format("cluster {} has no FAT entry", c));
            }
            v = le32(f, std::size_t{c} * 4) & 0x0FFFFFFFU;
            return v >= 0x0FFFFFF8U ? 0xFFFFFFFFU : v;
    }
    return fail("unreachable");
}

Result<std::vector<std::uint32_t>> FatVolume::chain(std::uint32_t first) const {
    std::vector<std::uint32_t> out;
    std::uint32_t c = first;
    while (c != 0xFFFFFFFFU) {
        if (c < 2 || c >= clusters_ + 2) {
            return fail(fmt::format("cluster chain points at invalid cluster {}", c));
        }
        if (out.size() >= clusters_) {
            return fail(fmt::format("cluster chain starting at {} loops", first));
        }
        out.push_back(c);
        auto n = next(c);
        if (!n) {
            return tl::unexpected(n.error());
        }
        c = *n;
    }
    return out;
}

Result<std::vector<FatEntry>> FatVolume::parseDir(std::span<const std::uint8_t> raw) const {
    std::vector<FatEntry> out;
    std::vector<std::uint16_t> lfn;  // accumulated long name (in order)
    int lfnExpect = 0;
    std::uint8_t lfnSum = 0;
    for (std::size_t off = 0; off + kDirEntrySize <= raw.size(); off += kDirEntrySize) {
        auto e = raw.subspan(off, kDirEntrySize);
        if (e[0] == 0x00) {
            break;  // end of directory
        }
        if (e[0] == kDeleted) {
            lfn.clear();
            lfnExpect = 0;
            continue;
        }
        std::uint8_t attr = e[11];
        if ((attr & 0x3F) == kAttrLongName) {
            // fatgen103 section 7: pieces come last-first; 0x40 marks the last piece.
            std::uint8_t ord = e[0];
            int seq = ord & 0x1F;
            if ((ord & 0x40) != 0) {
                lfn.assign(std::size_t(seq) * 13, 0xFFFF);
                lfnExpect = seq;
                lfnSum = e[13];
            } else if (seq != lfnExpect || e[13] != lfnSum) {
                lfn.clear();
                lfnExpect = 0;
                continue;
            }
            if (seq == 0 || lfnExpect == 0 || seq > 20) {
                lfn.clear();
                lfnExpect = 0;
                continue;
            }
            std::size_t base = std::size_t(seq - 1) * 13;
            static constexpr std::array<std::size_t, 13> kPos = {1,  3,  5,  7,  9,  14, 16,
                                                                 18, 20, 22, 24, 28, 30};
            for (std::size_t k = 0; k < kPos.size(); ++k) {
                lfn[base + k] = le16(e, kPos[k]);
            }
            lfnExpect = seq - 1;
            continue;
        }
        if ((attr & kAttrVolumeId) != 0) {
            lfn.clear();
            lfnExpect = 0;
            continue;
        }
        FatEntry fe;
        fe.attributes = attr;
        fe.directory = (attr & kAttrDirectory) != 0;
        fe.firstCluster = (std::uint32_t{le16(e, 20)} << 16) | le16(e, 26);
        if (type_ != FatType::Fat32) {
            fe.firstCluster &= 0xFFFF;
        }
        fe.size = le32(e, 28);
        fe.mtime = fatTimeToUnix(le16(e, 24), le16(e, 22));
        if (!lfn.empty() && lfnExpect == 0 && shortNameChecksum(e.subspan(0, 11)) == lfnSum) {
            std::vector<std::uint16_t> units;
            for (std::uint16_t u : lfn) {
                if (u == 0x0000 || u == 0xFFFF) {
                    break;
                }
                units.push_back(u);
            }
            fe.name = utf16ToUtf8(units);
        } else {
            std::string base;
            std::string ext;
            for (std::size_t k = 0; k < 8; ++k) {
                std::uint8_t ch = (k == 0 && e[0] == 0x05) ? kDeleted : e[k];
                base.push_back(static_cast<char>(ch));
            }
            for (std::size_t k = 8; k < 11; ++k) {
                ext.push_back(static_cast<char>(e[k]));
            }
            auto trim = [](std::string& s) {
                while (!s.empty() && s.back() == ' ') {
                    s.pop_back();
                }
            };
            trim(base);
            trim(ext);
            auto lower = [](std::string& s) {
                for (char& ch : s) {
                    if (ch >= 'A' && ch <= 'Z') {
                        ch = static_cast<char>(ch - 'A' + 'a');
                    }
                }
            };
            if ((e[12] & kNtLowerBase) != 0) {
                lower(base);
            }
            if ((e[12] & kNtLowerExt) != 0) {
                lower(ext);
            }
            fe.name = base;
            if (!ext.empty()) {
                fe.name += '.';
                fe.name += ext;
            }
        }
        lfn.clear();
        lfnExpect = 0;
        if (fe.name == "." || fe.name == "..") {
            continue;
        }
        if (!nameIsSafe(fe.name)) {
            return fail(fmt::format("directory entry with an unusable name \"{}\"", fe.name));
        }
        out.push_back(std::move(fe));
    }
    return out;
}

Result<std::vector<FatEntry>> FatVolume::listRoot() const {
    if (type_ == FatType::Fat32) {
        FatEntry root;
        root.directory = true;
        root.firstCluster = rootCluster_;
        return listDir(root);
    }
    std::vector<std::uint8_t> raw(rootDirBytes_);
    if (auto r = read_(rootDirOffset_, raw); !r) {
        return fail("root directory: " + r.error().message);
    }
    return parseDir(raw);
}

Result<std::vector<FatEntry>> FatVolume::listDir(const FatEntry& dir) const {
    if (!dir.directory) {
        return fail(fmt::format("{} is not a directory", dir.name));
    }
    if (dir.firstCluster == 0) {
        return listRoot();  // ".." of a first-level directory; not followed by walk()
    }
    auto clusters = chain(dir.firstCluster);
    if (!clusters) {
        return fail(fmt::format("directory {}: {}", dir.name, clusters.error().message));
    }
    if (clusters->size() * std::size_t{clusterBytes_} > kMaxDirBytes) {
        return fail(fmt::format("directory {} is larger than FAT allows", dir.name));
    }
    std::vector<std::uint8_t> raw(clusters->size() * std::size_t{clusterBytes_});
    for (std::size_t i = 0; i < clusters->size(); ++i) {
        std::span<std::uint8_t> dst(raw.data() + i * clusterBytes_, clusterBytes_);
        if (auto r = read_(dataOffset_ + std::uint64_t{(*clusters)[i] - 2} * clusterBytes_, dst);
            !r) {
            return fail(fmt::format("directory {}: {}", dir.name, r.error().message));
        }
    }
    return parseDir(raw);
}

Result<void> FatVolume::readFile(
    const FatEntry& file,
    const std::function<Result<void>(std::span<const std::uint8_t>)>& sink) const {
    if (file.directory) {
        return fail(fmt::format("{} is a directory", file.name));
    }
    if (file.size == 0) {
        return {};
    }
    auto clusters = chain(file.firstCluster);
    if (!clusters) {
        return fail(fmt::format("{}: {}", file.name, clusters.error().message));
    }
    std::uint64_t need = (std::uint64_t{file.size} + clusterBytes_ - 1) / clusterBytes_;
    if (clusters->size() < need) {
        return fail(fmt::format("{}: size {} needs {} clusters but the chain has {}", file.name,
                                file.size, need, clusters->size()));
    }
    std::vector<std::uint8_t> buf(clusterBytes_);
    std::uint64_t left = file.size;
    for (std::size_t i = 0; i < need; ++i) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, clusterBytes_));
        std::span<std::uint8_t> dst(buf.data(), n);
        if (auto r = read_(dataOffset_ + std::uint64_t{(*clusters)[i] - 2} * clusterBytes_, dst);
            !r) {
            return fail(fmt::format("{}: {}", file.name, r.error().message));
        }
        if (auto r = sink(dst); !r) {
            return r;
        }
        left -= n;
    }
    return {};
}

Result<std::vector<FatExtent>> FatVolume::extents(const FatEntry& file) const {
    if (file.directory) {
        return fail(fmt::format("{} is a directory", file.name));
    }
    std::vector<FatExtent> out;
    if (file.size == 0) {
        return out;
    }
    auto clusters = chain(file.firstCluster);
    if (!clusters) {
        return fail(fmt::format("{}: {}", file.name, clusters.error().message));
    }
    const std::uint64_t need = (std::uint64_t{file.size} + clusterBytes_ - 1) / clusterBytes_;
    if (clusters->size() < need) {
        return fail(fmt::format("{}: size {} needs {} clusters but the chain has {}", file.name,
                                file.size, need, clusters->size()));
    }
    std::uint64_t left = file.size;
    for (std::size_t i = 0; i < need; ++i) {
        const std::uint64_t n = std::min<std::uint64_t>(left, clusterBytes_);
        const std::uint64_t at = dataOffset_ + std::uint64_t{(*clusters)[i] - 2} * clusterBytes_;
        if (!out.empty() && out.back().offset + out.back().length == at) {
            out.back().length += n;
        } else {
            out.push_back({at, n});
        }
        left -= n;
    }
    return out;
}

Result<std::vector<std::uint8_t>> FatVolume::readFile(const FatEntry& file) const {
    std::vector<std::uint8_t> out;
    auto r = readFile(file, [&](std::span<const std::uint8_t> d) -> Result<void> {
        out.insert(out.end(), d.begin(), d.end());
        return {};
    });
    if (!r) {
        return tl::unexpected(r.error());
    }
    return out;
}

Result<void> FatVolume::claim(std::uint32_t first, std::vector<bool>& claimed) const {
    auto clusters = chain(first);
    if (!clusters) {
        return tl::unexpected(clusters.error());
    }
    for (std::uint32_t c : *clusters) {
        if (claimed[c]) {
            return fail(
                fmt::format("cluster {} belongs to another file or directory too "
                            "(crossed chains)",
                            c));
        }
        claimed[c] = true;
    }
    return {};
}

Result<void> FatVolume::walkDir(
    const std::vector<FatEntry>& entries, const std::string& prefix, int depth,
    std::vector<std::uint32_t>& open, std::vector<bool>& claimed,
    const std::function<Result<void>(const std::string&, const FatEntry&)>& visit) const {
    for (const auto& e : entries) {
        std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
        if (e.directory) {
            if (depth >= kMaxDepth) {
                return fail(fmt::format("{}: directories nested deeper than {}", path, kMaxDepth));
            }
            if (e.firstCluster == 0 ||
                std::find(open.begin(), open.end(), e.firstCluster) != open.end()) {
                return fail(fmt::format("{}: directory loops back to a parent", path));
            }
        }
        if (e.directory || e.size > 0) {
            if (auto r = claim(e.firstCluster, claimed); !r) {
                return fail(fmt::format("{}: {}", path, r.error().message));
            }
        }
        if (auto r = visit(path, e); !r) {
            return r;
        }
        if (!e.directory) {
            continue;
        }
        auto sub = listDir(e);
        if (!sub) {
            return tl::unexpected(sub.error());
        }
        open.push_back(e.firstCluster);
        if (auto r = walkDir(*sub, path, depth + 1, open, claimed, visit); !r) {
            return r;
        }
        open.pop_back();
    }
    return {};
}

Result<void> FatVolume::walk(
    const std::function<Result<void>(const std::string&, const FatEntry&)>& visit) const {
    auto root = listRoot();
    if (!root) {
        return tl::unexpected(root.error());
    }
    std::vector<std::uint32_t> open;
    std::vector<bool> claimed(std::size_t{clusters_} + 2);
    if (type_ == FatType::Fat32) {
        open.push_back(rootCluster_);
        if (auto r = claim(rootCluster_, claimed); !r) {
            return fail("root directory: " + r.error().message);
        }
    }
    return walkDir(*root, "", 0, open, claimed, visit);
}

}  // namespace pinet::proto::disk
