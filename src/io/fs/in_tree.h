#pragma once
// Opening paths inside a tree that someone else controls (an imported image,
// a client's root exported read-write over NFS) without ever leaving it:
// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from a directory
// descriptor, so a directory swapped for a symlink between a check and a
// use makes the open fail instead of following it (issue #13 item 10).
// (io/file_cache.h has the TFTP/HTTP variant, which allows symlinks that
// stay beneath the root.)

#include <sys/types.h>

#include <string>

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

}  // namespace pinet::io
