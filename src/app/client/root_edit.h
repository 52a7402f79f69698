#pragma once
// Safe edits inside a client's root tree (which came from an untrusted
// image, exported read-write to the client): every path is walked on
// directory descriptors with openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
// (io/fs/in_tree.h), so a symlinked directory is never followed, even one
// swapped in during the walk, and an image with "etc -> /etc" cannot make
// pinetboot write outside the tree. Files are replaced
// atomically (temp + rename); a symlinked file (the seed's /etc/fstab ->
// /boot/fstab trick) is replaced by a regular file rather than followed.

#include <filesystem>
#include <optional>
#include <string>

#include "proto/error.h"

namespace pinet::app {

/// Reads @p rel ("etc/fstab") under @p root if it is a regular file reached
/// without symlinks; nullopt if missing or a symlink.
Result<std::optional<std::string>> readRootFile(const std::filesystem::path& root,
                                                const std::string& rel);

/// Writes @p rel under @p writeRoot. Missing parent directories are created
/// with the owner/mode of the same directory under @p templateRoot (the
/// overlay's lower tree) or root:root 0755. The new file takes the owner and
/// mode of the existing file under @p templateRoot, else root:root @p mode.
Result<void> writeRootFile(const std::filesystem::path& writeRoot,
                           const std::filesystem::path& templateRoot, const std::string& rel,
                           const std::string& content, unsigned mode = 0644);

/// Creates (or replaces) symlink @p rel -> @p target under @p writeRoot.
Result<void> writeRootSymlink(const std::filesystem::path& writeRoot,
                              const std::filesystem::path& templateRoot, const std::string& rel,
                              const std::string& target);

/// True if @p rel exists under @p root (lstat, no symlinked directories).
bool rootPathExists(const std::filesystem::path& root, const std::string& rel);

}  // namespace pinet::app
