#pragma once
// Copies an ext2/3/4 file system inside an image file into a directory tree
// without mounting it: libext2fs reads the partition at a byte offset, and
// every inode becomes a file with the same type, contents, owner, mode,
// timestamps (nanoseconds) and extended attributes (including
// security.capability). Hard links stay hard links; device nodes, FIFOs and
// sockets are recreated with mknod. Needs root for owners and device nodes.

#include <cstdint>
#include <filesystem>
#include <functional>

#include "proto/error.h"

namespace pinet::io {

struct Ext4Stats {
    std::uint64_t files = 0;
    std::uint64_t directories = 0;
    std::uint64_t symlinks = 0;
    std::uint64_t hardlinks = 0;  ///< extra names of an already copied inode
    std::uint64_t specials = 0;   ///< device nodes, FIFOs, sockets
    std::uint64_t xattrs = 0;
    std::uint64_t bytes = 0;      ///< file data copied
    std::uint64_t usedBytes = 0;  ///< used blocks in the file system (progress total)
};

/// done/total in bytes of file data.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Extracts the file system at [@p offset, @p offset + @p size) of @p image
/// into @p dest (which must exist and be empty).
Result<Ext4Stats> extractExt4(const std::filesystem::path& image, std::uint64_t offset,
                              std::uint64_t size, const std::filesystem::path& dest,
                              const ProgressFn& progress);

/// The same from an open descriptor of the image, which it takes over (and
/// closes): what the sandboxed import child uses after its chroot.
Result<Ext4Stats> extractExt4(int imageFd, std::uint64_t offset, std::uint64_t size,
                              const std::filesystem::path& dest, const ProgressFn& progress);

}  // namespace pinet::io
