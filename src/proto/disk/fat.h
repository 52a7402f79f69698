#pragma once
// Read-only FAT12/16/32 reader for the Raspberry Pi boot partition: the BIOS
// parameter block, the FAT (cluster chains), directory entries including
// VFAT long file names. Every read goes through a bounds-checked ReadAt, and
// chains and directory trees are bounded so that a crafted image cannot make
// the reader loop or read outside the partition.
// Reference: Microsoft "FAT: General Overview of On-Disk Format" (fatgen103),
// sections 3 (BPB), 4 (FAT type determination, FAT entries), 6 (directory
// entries), 7 (long names).

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "proto/disk/read_at.h"
#include "proto/error.h"

namespace pinet::proto::disk {

enum class FatType { Fat12, Fat16, Fat32 };

struct FatEntry {
    std::string name;  ///< long name if present (UTF-8), else the 8.3 name
    bool directory = false;
    std::uint8_t attributes = 0;
    std::uint32_t firstCluster = 0;
    std::uint32_t size = 0;
    std::int64_t mtime = 0;  ///< seconds since the epoch (FAT stores local time; taken as UTC)
};

/// A run of a file's bytes inside the volume: @p length bytes at @p offset from the
/// volume's first byte.
struct FatExtent {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    friend bool operator==(const FatExtent&, const FatExtent&) = default;
};

class FatVolume {
public:
    /// Reads and checks the boot sector and loads the first FAT.
    static Result<FatVolume> open(ReadAt read, std::uint64_t volumeSize);

    [[nodiscard]] FatType type() const { return type_; }
    [[nodiscard]] std::uint32_t clusterCount() const { return clusters_; }
    [[nodiscard]] std::uint32_t clusterBytes() const { return clusterBytes_; }

    Result<std::vector<FatEntry>> listRoot() const;
    Result<std::vector<FatEntry>> listDir(const FatEntry& dir) const;

    /// Streams a file's contents to @p sink, one cluster at a time.
    Result<void> readFile(
        const FatEntry& file,
        const std::function<Result<void>(std::span<const std::uint8_t>)>& sink) const;
    Result<std::vector<std::uint8_t>> readFile(const FatEntry& file) const;
    /// Where @p file's bytes lie in the volume, in file order, adjacent clusters merged
    /// into one extent; the lengths add up to the file's size (images served in place,
    /// issue #18: read with pread, no FAT parsing where they are served). The same
    /// checks as readFile: a chain too short, looping or out of the volume is an error.
    Result<std::vector<FatExtent>> extents(const FatEntry& file) const;

    /// Depth-first walk; @p visit gets the '/'-separated path relative to the
    /// root ("overlays/foo.dtbo"). Directories are visited before their contents.
    /// Every cluster belongs to at most one entry: a volume whose chains cross
    /// (one cluster shared by two files, a directory reached twice) is refused
    /// before the second entry is visited, so a walk copies at most the volume.
    Result<void> walk(const std::function<Result<void>(const std::string& path,
                                                       const FatEntry& entry)>& visit) const;

private:
    FatVolume() = default;
    Result<std::uint32_t> next(std::uint32_t cluster) const;
    Result<std::vector<std::uint32_t>> chain(std::uint32_t first) const;
    Result<std::vector<FatEntry>> parseDir(std::span<const std::uint8_t> raw) const;
    /// Marks the clusters of the chain at @p first as used; a cluster used
    /// twice (two entries sharing data) is an error.
    Result<void> claim(std::uint32_t first, std::vector<bool>& claimed) const;
    Result<void> walkDir(
        const std::vector<FatEntry>& entries, const std::string& prefix, int depth,
        std::vector<std::uint32_t>& open, std::vector<bool>& claimed,
        const std::function<Result<void>(const std::string&, const FatEntry&)>& visit) const;

    ReadAt read_;
    FatType type_ = FatType::Fat32;
    std::uint32_t bytesPerSector_ = 512;
    std::uint32_t clusterBytes_ = 0;
    std::uint32_t clusters_ = 0;
    std::uint64_t rootDirOffset_ = 0;  // FAT12/16 fixed root directory
    std::uint32_t rootDirBytes_ = 0;
    std::uint32_t rootCluster_ = 0;  // FAT32
    std::uint64_t dataOffset_ = 0;
    std::vector<std::uint8_t> fat_;
};

std::string_view fatTypeName(FatType t);

/// Days-from-civil: FAT date/time fields to seconds since 1970 (UTC).
std::int64_t fatTimeToUnix(std::uint16_t date, std::uint16_t time);

}  // namespace pinet::proto::disk
