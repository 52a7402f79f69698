#pragma once
// A proto::disk::ReadAt over a file (pread), for the partition and FAT parsers.

#include <cstdint>
#include <filesystem>

#include "proto/disk/read_at.h"
#include "proto/error.h"

namespace pinet::io {

struct FileReadAt {
    proto::disk::ReadAt read;
    std::uint64_t size = 0;
};

Result<FileReadAt> openReadAt(const std::filesystem::path& path);

}  // namespace pinet::io
