#pragma once
// Opening paths inside a tree that someone else controls (an imported image,
// a client's root exported read-write over NFS) without ever leaving it:
// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from a directory
// descriptor, so a directory swapped for a symlink between a check and a
// use makes the open fail instead of following it (issue #13 item 10).
// (io/file_cache.h has the TFTP/HTTP variant, which allows symlinks that
// stay beneath the root.)

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

/// Opens @p rel ("etc/fstab", no "..", no leading '/') beneath @p dirFd with
/// @p flags (O_CLOEXEC is added) and no symlink anywhere on the way, the
/// last component included. Kernels without openat2 (before 5.6) get the
/// same guarantee from a walk of openat(O_NOFOLLOW) one component at a time.
/// On failure errno stays set for the caller (ENOENT, ELOOP/EXDEV for a
/// symlink on the way, ENOTDIR, EINVAL for a path with "..").
Result<Fd> openInTree(int dirFd, const std::string& rel, int flags, mode_t mode = 0);

/// The same as a raw descriptor: -1 with errno set on failure.
int openInTreeRaw(int dirFd, const std::string& rel, int flags, mode_t mode = 0);

/// "/proc/self/fd/DIRFD/NAME": a path to the entry @p name of an open
/// directory for the calls that only take paths (l*xattr), resolved through
/// the descriptor, not through the tree's names.
std::string fdEntryPath(int dirFd, const std::string& name);

// Single entries of an open directory, by one name (no '/'): what an editor of a
// tree someone else controls needs, without ever resolving a path through it.

/// fstatat(AT_SYMLINK_NOFOLLOW) of @p name in @p dirFd; nullopt if it cannot be stat'ed.
std::optional<struct stat> statAt(int dirFd, const std::string& name);
/// The directory @p name in @p dirFd (no symlink), created with @p mode if missing;
/// @p created tells whether it was.
Result<Fd> openOrMakeDirAt(int dirFd, const std::string& name, mode_t mode, bool& created);
/// Replaces (or creates) the regular file @p name in @p dirFd with @p content, owned by
/// @p uid:@p gid with @p mode: a temp file in the same directory, fsync, renameat, so
/// readers see the old file or the new one, and nothing but that name is replaced.
Result<void> writeFileAt(int dirFd, const std::string& name, std::string_view content, mode_t mode,
                         uid_t uid, gid_t gid);
/// The same for a symlink @p name -> @p target.
Result<void> replaceSymlinkAt(int dirFd, const std::string& name, const std::string& target);
/// Sets the extended attribute @p name of the entry @p rel beneath @p topFd
/// ("" is @p topFd itself, which must then not be an O_PATH descriptor)
/// without following a symlink on the way or at the end: the entry's
/// directory is opened with openInTree and the entry named through
/// fdEntryPath for lsetxattr, so a symlink gets the attribute itself, as
/// lsetxattr gives it. On failure errno stays set (ELOOP/EXDEV: a symlink on
/// the way).
Result<void> setXattrInTree(int topFd, const std::string& rel, const std::string& name,
                            std::span<const std::uint8_t> value);
/// The regular file @p rel beneath @p dirFd read whole; nullopt if it is missing, not a
/// regular file, or reached through a symlink (openInTree's rules).
Result<std::optional<std::string>> readRegularInTree(int dirFd, const std::string& rel);

}  // namespace pinet::io
