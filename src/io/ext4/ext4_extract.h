#pragma once
// Copies an ext2/3/4 file system inside an image file into a directory tree
// without mounting it: libext2fs reads the partition at a byte offset, and
// every inode becomes a file with the same type, contents, owner, mode,
// timestamps (nanoseconds) and extended attributes (including
// security.capability). Hard links stay hard links; device nodes, FIFOs and
// sockets are recreated with mknod. Needs root for owners and device nodes.
// Extended attributes are bounded: no value over the kernel's 64 KiB, and
// all of them together (names, values, entry headers) no more than the file
// system's used blocks and inodes hold, so that an attribute block shared by
// every inode of a crafted image cannot multiply what is written.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "proto/error.h"

namespace pinet::io {

struct Ext4Stats {
    std::uint64_t files = 0;
    std::uint64_t directories = 0;
    std::uint64_t symlinks = 0;
    std::uint64_t hardlinks = 0;       ///< extra names of an already copied inode
    std::uint64_t specials = 0;        ///< device nodes, FIFOs, sockets
    std::uint64_t xattrs = 0;          ///< set on the files
    std::uint64_t deferredXattrs = 0;  ///< handed to the DeferXattrFn instead
    std::uint64_t bytes = 0;           ///< file data copied
    std::uint64_t usedBytes = 0;       ///< used blocks in the file system (progress total)
};

/// done/total in bytes of file data.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Receives an extended attribute that the caller sets itself (or drops)
/// instead of the extractor: those proto::disk::routeXattr() does not give to
/// the child, when a confined caller lacks CAP_SYS_ADMIN. @p rel is the
/// entry's path relative to dest ("" for dest itself), never through a
/// symlink; the entry exists when it is called.
using DeferXattrFn = std::function<Result<void>(const std::string& rel, const std::string& name,
                                                std::span<const std::uint8_t> value)>;

/// Extracts the file system at [@p offset, @p offset + @p size) of @p image
/// into @p dest (which must exist and be empty).
Result<Ext4Stats> extractExt4(const std::filesystem::path& image, std::uint64_t offset,
                              std::uint64_t size, const std::filesystem::path& dest,
                              const ProgressFn& progress, const DeferXattrFn& defer = nullptr);

/// The same from an open descriptor of the image, which it takes over (and
/// closes): what the sandboxed import child uses after its chroot.
Result<Ext4Stats> extractExt4(int imageFd, std::uint64_t offset, std::uint64_t size,
                              const std::filesystem::path& dest, const ProgressFn& progress,
                              const DeferXattrFn& defer = nullptr);

}  // namespace pinet::io
