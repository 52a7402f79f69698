#include "proto/disk/partition_table.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/disk/crc32.h"

namespace pinet::proto::disk {

namespace {

// MBR: partition entries at byte 446, 4 x 16 bytes; signature 0x55 0xAA at 510;
// disk signature (the PARTUUID prefix Linux uses) at 440.
constexpr std::size_t kMbrEntries = 446;
constexpr std::size_t kMbrDiskSig = 440;
constexpr std::uint8_t kMbrTypeGptProtective = 0xEE;
// GPT header "EFI PART" at LBA 1 (UEFI 2.10 table 5.5).
constexpr std::array<std::uint8_t, 8> kGptSignature = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr std::uint32_t kGptMinHeaderSize = 92;
// Entry sizes are 128 * 2^n (UEFI 2.10 5.3.2); a bigger one is not a real table.
constexpr std::uint32_t kGptMaxEntrySize = 4096;
// The spec requires room for at least 128 entries; more than this many is
// not a disk image anyone makes and would only make us read megabytes.
constexpr std::uint32_t kGptMaxEntries = 1024;

PartitionKind mbrKind(std::uint8_t type) {
    switch (type) {
        case 0x01:  // FAT12
        case 0x04:  // FAT16 < 32 MiB
        case 0x06:  // FAT16
        case 0x0B:  // FAT32 CHS
        case 0x0C:  // FAT32 LBA (Raspberry Pi OS bootfs)
        case 0x0E:  // FAT16 LBA
            return PartitionKind::Fat;
        case 0x83:  // Linux native
            return PartitionKind::Linux;
        case 0xEF:  // EFI system partition
            return PartitionKind::Efi;
        default: return PartitionKind::Other;
    }
}

PartitionKind gptKind(const std::string& guid) {
    if (guid == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7") {  // Microsoft basic data
        return PartitionKind::Fat;
    }
    if (guid == "0FC63DAF-8483-4772-8E79-3D69D8477DE4" ||  // Linux filesystem
        guid == "B921B045-1DF0-41C3-AF44-4C6F280D3FAE" ||  // Linux root (ARM64)
        guid == "69DAD710-2CE4-4E3C-B16C-21A1D49ABED3") {  // Linux root (ARM32)
        return PartitionKind::Linux;
    }
    if (guid == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B") {  // EFI system
        return PartitionKind::Efi;
    }
    return PartitionKind::Other;
}

Result<void> checkExtent(const Partition& p, std::uint64_t imageSize) {
    if (p.offset > imageSize || p.size > imageSize - p.offset) {
        return fail(fmt::format(
            "partition {} ({} bytes at offset {}) extends past the end of the {}-byte image "
            "(truncated image?)",
            p.number, p.size, p.offset, imageSize));
    }
    return {};
}

Result<PartitionTable> parseGpt(const ReadAt& read, std::uint64_t imageSize) {
    std::array<std::uint8_t, kSectorSize> hdr{};
    if (auto r = read(kSectorSize, hdr); !r) {
        return fail("GPT header: " + r.error().message);
    }
    if (!std::equal(kGptSignature.begin(), kGptSignature.end(), hdr.begin())) {
        return fail("protective MBR but no \"EFI PART\" GPT header at LBA 1");
    }
    ByteReader br(hdr);
    br.skip(8);
    br.skip(4);  // revision
    std::uint32_t headerSize = *br.u32le();
    std::uint32_t headerCrc = *br.u32le();
    if (headerSize < kGptMinHeaderSize || headerSize > kSectorSize) {
        return fail(fmt::format("GPT header size {} is not in [92, 512]", headerSize));
    }
    std::array<std::uint8_t, kSectorSize> copy = hdr;
    putU32le(copy.data() + 16, 0);  // the CRC is computed with its own field zeroed
    std::uint32_t crc = crc32(std::span<const std::uint8_t>(copy.data(), headerSize));
    if (crc != headerCrc) {
        return fail(fmt::format("GPT header CRC32 mismatch (stored {:08x}, computed {:08x})",
                                headerCrc, crc));
    }
    br.skip(4);      // reserved
    br.skip(8 * 4);  // my LBA, alternate LBA, first/last usable
    auto diskGuid = *br.bytes(16);
    std::uint64_t entriesLba = *br.u64le();
    std::uint32_t numEntries = *br.u32le();
    std::uint32_t entrySize = *br.u32le();
    std::uint32_t entriesCrc = *br.u32le();
    if (entrySize < 128 || entrySize > kGptMaxEntrySize || entrySize % 8 != 0) {
        return fail(fmt::format("GPT partition entry size {} is invalid", entrySize));
    }
    if (numEntries > kGptMaxEntries) {
        return fail(
            fmt::format("GPT claims {} partition entries (limit {})", numEntries, kGptMaxEntries));
    }
    std::uint64_t arrayBytes = std::uint64_t{numEntries} * entrySize;
    if (entriesLba > imageSize / kSectorSize || arrayBytes > imageSize - entriesLba * kSectorSize) {
        return fail("GPT partition entry array lies past the end of the image (truncated image?)");
    }
    std::vector<std::uint8_t> entries(static_cast<std::size_t>(arrayBytes));
    if (auto r = read(entriesLba * kSectorSize, entries); !r) {
        return fail("GPT partition entries: " + r.error().message);
    }
    if (std::uint32_t c = crc32(entries); c != entriesCrc) {
        return fail(
            fmt::format("GPT partition entry array CRC32 mismatch (stored {:08x}, "
                        "computed {:08x})",
                        entriesCrc, c));
    }
    PartitionTable table;
    table.kind = TableKind::Gpt;
    table.diskId = formatGuid(std::span<const std::uint8_t, 16>(diskGuid.data(), 16));
    for (std::uint32_t i = 0; i < numEntries; ++i) {
        ByteReader er(
            std::span<const std::uint8_t>(entries).subspan(std::size_t{i} * entrySize, entrySize));
        auto typeGuid = *er.bytes(16);
        if (std::all_of(typeGuid.begin(), typeGuid.end(), [](std::uint8_t b) { return b == 0; })) {
            continue;  // unused entry
        }
        auto uniq = *er.bytes(16);
        std::uint64_t first = *er.u64le();
        std::uint64_t last = *er.u64le();
        er.skip(8);  // attributes
        auto nameBytes = *er.bytes(72);
        if (last < first) {
            return fail(fmt::format("GPT partition {} ends (LBA {}) before it starts (LBA {})",
                                    i + 1, last, first));
        }
        if (first > imageSize / kSectorSize || last - first >= imageSize / kSectorSize) {
            return fail(
                fmt::format("partition {} (LBA {}..{}) extends past the end of the {}-byte image "
                            "(truncated image?)",
                            i + 1, first, last, imageSize));
        }
        Partition p;
        p.number = static_cast<int>(i + 1);
        p.offset = first * kSectorSize;
        p.size = (last - first + 1) * kSectorSize;
        p.type = formatGuid(std::span<const std::uint8_t, 16>(typeGuid.data(), 16));
        p.kind = gptKind(p.type);
        p.partuuid = formatGuid(std::span<const std::uint8_t, 16>(uniq.data(), 16));
        for (std::size_t k = 0; k + 1 < nameBytes.size(); k += 2) {
            std::uint16_t ch = static_cast<std::uint16_t>(nameBytes[k] | (nameBytes[k + 1] << 8));
            if (ch == 0) {
                break;
            }
            p.name.push_back(ch < 0x80 && ch >= 0x20 ? static_cast<char>(ch) : '?');
        }
        for (char& c : p.partuuid) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (auto r = checkExtent(p, imageSize); !r) {
            return tl::unexpected(r.error());
        }
        table.partitions.push_back(std::move(p));
    }
    return table;
}

}  // namespace

std::string formatGuid(std::span<const std::uint8_t, 16> g) {
    return fmt::format(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-"
        "{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13],
        g[14], g[15]);
}

std::string_view partitionKindName(PartitionKind k) {
    switch (k) {
        case PartitionKind::Fat: return "fat";
        case PartitionKind::Linux: return "linux";
        case PartitionKind::Efi: return "efi";
        case PartitionKind::Other: break;
    }
    return "other";
}

Result<PartitionTable> parsePartitionTable(const ReadAt& read, std::uint64_t imageSize) {
    if (imageSize < kSectorSize) {
        return fail(fmt::format("only {} bytes: too small to hold a partition table", imageSize));
    }
    std::array<std::uint8_t, kSectorSize> mbr{};
    if (auto r = read(0, mbr); !r) {
        return fail("MBR: " + r.error().message);
    }
    if (mbr[510] != 0x55 || mbr[511] != 0xAA) {
        return fail("no partition table (no 55 AA boot signature in the first sector)");
    }
    ByteReader sig(std::span<const std::uint8_t>(mbr).subspan(kMbrDiskSig, 4));
    std::uint32_t diskSig = *sig.u32le();
    PartitionTable table;
    table.diskId = fmt::format("{:08x}", diskSig);
    for (std::size_t i = 0; i < 4; ++i) {
        ByteReader er(std::span<const std::uint8_t>(mbr).subspan(kMbrEntries + 16 * i, 16));
        std::uint8_t status = *er.u8();
        er.skip(3);  // CHS first
        std::uint8_t type = *er.u8();
        er.skip(3);  // CHS last
        std::uint32_t lba = *er.u32le();
        std::uint32_t count = *er.u32le();
        if (type == kMbrTypeGptProtective) {
            return parseGpt(read, imageSize);
        }
        if (type == 0 || count == 0) {
            continue;
        }
        if (status != 0x00 && status != 0x80) {
            return fail(
                fmt::format("MBR entry {} has invalid status byte 0x{:02x}", i + 1, status));
        }
        Partition p;
        p.number = static_cast<int>(i) + 1;
        p.offset = std::uint64_t{lba} * kSectorSize;
        p.size = std::uint64_t{count} * kSectorSize;
        p.type = fmt::format("0x{:02x}", type);
        p.kind = mbrKind(type);
        // Linux names MBR partitions "<disk signature>-<2-digit number>".
        p.partuuid = fmt::format("{:08x}-{:02d}", diskSig, i + 1);
        if (auto r = checkExtent(p, imageSize); !r) {
            return tl::unexpected(r.error());
        }
        table.partitions.push_back(std::move(p));
    }
    if (table.partitions.empty()) {
        return fail("the MBR partition table is empty");
    }
    return table;
}

Result<std::uint64_t> diskExtent(std::span<const std::uint8_t> head) {
    // The table's checks against the image size must not fire on a head:
    // any size is possible behind it. 2^62 keeps offset + size from overflowing.
    constexpr std::uint64_t kAnySize = 1ULL << 62;
    const ReadAt inner = spanReader(head);
    auto table = parsePartitionTable(
        [&](std::uint64_t off, std::span<std::uint8_t> out) -> Result<void> {
            if (auto r = inner(off, out); !r) {
                return fail(fmt::format(
                    "the partition table reaches past the first {} bytes (at offset {})",
                    head.size(), off));
            }
            return {};
        },
        head.size() < kSectorSize ? head.size() : kAnySize);
    if (!table) {
        return tl::unexpected(table.error());
    }
    std::uint64_t end = 0;
    for (const auto& p : table->partitions) {
        end = std::max(end, p.offset + p.size);
    }
    return end;
}

}  // namespace pinet::proto::disk
