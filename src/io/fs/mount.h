#pragma once
// Mounts the client roots need: overlay roots are mounted by `nfs apply` and
// detached when a client is removed or reset.

#include <filesystem>
#include <string>

#include "proto/error.h"

namespace pinet::io {

/// True if @p p (made canonical) is a mount point in /proc/self/mountinfo.
bool isMountPoint(const std::filesystem::path& p);

/// mount -t overlay overlay @p target -o @p options. Errors name the target and options.
Result<void> mountOverlay(const std::filesystem::path& target, const std::string& options);

/// umount2(MNT_DETACH): lazy, so open files (an NFS server's) do not block it.
Result<void> unmountDetach(const std::filesystem::path& target);

}  // namespace pinet::io
