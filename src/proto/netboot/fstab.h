#pragma once
// /etc/fstab rewriting for an NFS-rooted client: the SD-card lines
// (PARTUUID=..., /dev/mmcblk0pN, and the LABEL=/UUID= lines mounting / or
// /boot*) are commented out, everything else is kept byte for byte, and an
// optional NFS line mounts the boot directory from the server at
// /boot/firmware (netboot-protocol.md section 8).

#include <optional>
#include <string>
#include <string_view>

namespace pinet::proto::netboot {

struct FstabOptions {
    /// "SERVER:/path" to mount at /boot/firmware; nullopt = no boot mount.
    std::optional<std::string> bootSource;
    std::string nfsVersion = "3";
};

struct FstabResult {
    std::string text;
    int commented = 0;  ///< SD-card lines disabled
};

/// Idempotent: lines already disabled by pinetboot and a boot line it added
/// before are recognised, so rewriting twice gives the same text.
FstabResult rewriteFstab(std::string_view original, const FstabOptions& opts);

}  // namespace pinet::proto::netboot
