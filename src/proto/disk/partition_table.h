#pragma once
// MBR and GPT partition tables of a disk image (Raspberry Pi OS images use an
// MBR with a FAT boot partition and an ext4 root; some builds use GPT).
// References: MBR layout (Microsoft "Master Boot Record" / Wikipedia MBR),
// GPT: UEFI 2.10 section 5.3 (header) and 5.3.3 (partition entry).

#include <cstdint>
#include <string>
#include <vector>

#include "proto/disk/read_at.h"
#include "proto/error.h"

namespace pinet::proto::disk {

/// 512-byte logical sectors: every Pi image and every dd'd SD card uses them.
inline constexpr std::uint64_t kSectorSize = 512;

enum class TableKind { Mbr, Gpt };

/// What a partition's type code says it holds.
enum class PartitionKind { Fat, Linux, Efi, Other };

struct Partition {
    int number = 0;            ///< 1-based, as in /dev/mmcblk0pN
    std::uint64_t offset = 0;  ///< first byte in the image
    std::uint64_t size = 0;    ///< bytes
    PartitionKind kind = PartitionKind::Other;
    std::string type;      ///< "0x0c" (MBR) or a type GUID (GPT)
    std::string partuuid;  ///< what PARTUUID= in cmdline.txt/fstab names
    std::string name;      ///< GPT partition name (UTF-16 reduced to ASCII), MBR: empty
};

struct PartitionTable {
    TableKind kind = TableKind::Mbr;
    std::string diskId;  ///< MBR disk signature (8 hex digits) or GPT disk GUID
    std::vector<Partition> partitions;
};

/// Reads the table of an image of @p imageSize bytes. Fails with a reason for
/// a missing boot signature, a GPT whose header CRC or entry-array CRC does
/// not match, or partitions that extend past the end of the image.
Result<PartitionTable> parsePartitionTable(const ReadAt& read, std::uint64_t imageSize);

/// The end of the last partition (its last byte + 1) of a disk whose first
/// bytes are @p head: what an import reads at most, so the bound for an
/// image whose container declares no usable size (gzip's ISIZE is modulo
/// 2^32). The table must lie within @p head (an MBR in sector 0; a GPT
/// header in LBA 1 and, in every image made by the usual tools, its entries
/// from LBA 2); fails as parsePartitionTable does, or if it does not.
Result<std::uint64_t> diskExtent(std::span<const std::uint8_t> head);

/// "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" from the 16 on-disk bytes (the
/// first three fields are little-endian, UEFI 2.10 appendix A).
std::string formatGuid(std::span<const std::uint8_t, 16> raw);

std::string_view partitionKindName(PartitionKind k);

}  // namespace pinet::proto::disk
