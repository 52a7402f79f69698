#pragma once
// The file system calls app code needs, as Result values with messages that
// name the path, the operation and the system's reason ("<path>: mkdir: File
// exists"). App code calls these instead of the raw syscalls (docs/architecture.md:
// io is the only layer touching the OS); anything that walks or copies whole
// trees lives in tree_copy.h.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

enum class EntryKind { Directory, Regular, Symlink, Other };

/// What lstat() says about an entry (never follows a final symlink).
struct EntryStat {
    EntryKind kind = EntryKind::Other;
    unsigned mode = 0;  ///< permission bits (07777)
    uid_t uid = 0;
    gid_t gid = 0;
    std::uint64_t size = 0;
};

/// lstat(): nullopt when the entry does not exist (ENOENT); other failures are errors.
Result<std::optional<EntryStat>> statNoFollow(const std::filesystem::path& p);

/// mkdir() of one directory (its parent must exist; an existing entry is an error).
Result<void> makeDirectory(const std::filesystem::path& p, unsigned mode);

/// chmod() (follows symlinks, as chmod(1)).
Result<void> setMode(const std::filesystem::path& p, unsigned mode);

/// lchown(): changes the entry itself, never a symlink's target.
Result<void> setOwnerNoFollow(const std::filesystem::path& p, uid_t uid, gid_t gid);

/// rename(): atomic within one file system; replaces a file or an empty directory at @p to.
Result<void> renamePath(const std::filesystem::path& from, const std::filesystem::path& to);

/// unlink() of a file or symlink; a missing entry is not an error.
Result<void> removeLink(const std::filesystem::path& p);

/// symlink(): creates @p link pointing at @p target (not resolved; may dangle).
Result<void> makeSymlink(const std::string& target, const std::filesystem::path& link);

/// Points @p link at @p target atomically: a symlink under a temporary name in the same
/// directory renamed over @p link, so readers see the old or the new link, never none.
Result<void> replaceWithSymlink(const std::string& target, const std::filesystem::path& link);

/// Opens an existing file for reading (O_CLOEXEC).
Result<Fd> openForReading(const std::filesystem::path& p);

/// Creates a new regular file for writing (O_EXCL: an existing entry is an error).
Result<Fd> createExclusive(const std::filesystem::path& p, unsigned mode);

/// Writes all of @p data to @p fd; errors say "write: <reason>" (the caller names the file).
Result<void> writeAll(int fd, std::span<const std::uint8_t> data);

/// Sets access and modification time (whole seconds since the epoch). Best effort for
/// callers that copy times; errors name the path.
Result<void> setTimes(int fd, std::int64_t seconds);
Result<void> setTimes(const std::filesystem::path& p, std::int64_t seconds);

/// An O_PATH handle on a directory: the root fd for openBeneath (io/file_cache.h).
Result<Fd> openDirectory(const std::filesystem::path& p);

/// Creates @p p (O_EXCL, @p mode) as a sparse file of @p size bytes.
Result<void> createSparseFile(const std::filesystem::path& p, std::uint64_t size, unsigned mode);

/// Opens @p p read-only (O_CLOEXEC).
Result<Fd> openReadOnly(const std::filesystem::path& p);

/// Bytes of disk blocks allocated to @p p (st_blocks x 512); 0 if it cannot be read.
std::uint64_t allocatedBytes(const std::filesystem::path& p);

/// Size of the open file behind @p fd (fstat).
Result<std::uint64_t> fileSize(int fd);

/// pread(): up to @p buf.size() bytes at @p offset; 0 at end of file.
Result<std::size_t> readAt(int fd, std::span<std::uint8_t> buf, std::uint64_t offset);

/// How cloneOrCopyData gave the new file its bytes.
struct DataCopy {
    bool reflinked = false;         ///< FICLONE: blocks shared until written, own inode
    std::uint64_t bytesCopied = 0;  ///< bytes written by the copy (0 when reflinked; holes skipped)
};

/// Gives the empty file @p outFd the contents of @p inFd: a FICLONE reflink where the file
/// system can (btrfs, XFS) and @p tryReflink is set, else a copy of the data regions only
/// (SEEK_DATA/SEEK_HOLE), so holes stay holes. Either way @p outFd stays its own inode: a
/// write to one file never shows in the other. Errors say "clone/copy: <reason>".
Result<DataCopy> cloneOrCopyData(int inFd, int outFd, bool tryReflink);

}  // namespace pinet::io
