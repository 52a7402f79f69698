#pragma once
// Copying directory trees with everything a root file system needs: owners,
// modes, timestamps (ns), symlinks, hard links (within the tree), device
// nodes, FIFOs and extended attributes. Regular files can be copied, cloned
// (FICLONE reflink: shares blocks until written, btrfs/XFS) or hard-linked
// to the source (a "hard-link farm": shares the inode, so only for files a
// client replaces rather than edits in place).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "proto/error.h"

namespace pinet::io {

enum class FileShare {
    Copy,      ///< private bytes
    Reflink,   ///< FICLONE; falls back to Copy where the file system cannot
    Hardlink,  ///< link(2) to the source file; falls back to Copy on EXDEV/EMLINK
};

struct TreeCopyStats {
    std::uint64_t copied = 0;
    std::uint64_t reflinked = 0;
    std::uint64_t hardlinked = 0;  ///< files linked to the source
    std::uint64_t others = 0;      ///< dirs, symlinks, specials, in-tree hard links
    std::uint64_t bytesCopied = 0;
    std::uint64_t fileBytes = 0;  ///< sizes of the regular files done, however shared
};

/// Called after each regular file with TreeCopyStats::fileBytes so far (progress bars).
using TreeCopyProgress = std::function<void(std::uint64_t fileBytes)>;

/// Chooses, per regular file (path relative to the tree root, "usr/bin/ls"),
/// how it is shared.
using SharePolicy = std::function<FileShare(const std::string& relPath)>;

/// Copies @p src into @p dst (created; must not exist). Beneath the two
/// roots every entry is reached through its parent's descriptor (openat2,
/// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): an entry swapped during the copy
/// fails it ("changed while it was being copied") and is never followed.
Result<TreeCopyStats> copyTree(const std::filesystem::path& src, const std::filesystem::path& dst,
                               const SharePolicy& policy, const TreeCopyProgress& progress = {});

/// True if FICLONE works from a file in @p srcDir to a new file in @p dstDir.
bool reflinkSupported(const std::filesystem::path& srcDir, const std::filesystem::path& dstDir);

/// Copies one file's metadata (owner, mode, xattrs, times) from @p src to @p dst
/// (not following a symlink in the last component).
Result<void> copyMetadata(const std::filesystem::path& src, const std::filesystem::path& dst);

/// The same between entries of open directories (see io/fs/in_tree.h).
Result<void> copyMetadataAt(int srcDir, const std::string& srcName, int dstDir,
                            const std::string& dstName);

/// Removes a tree; succeeds if it does not exist.
Result<void> removeTree(const std::filesystem::path& p);

}  // namespace pinet::io
