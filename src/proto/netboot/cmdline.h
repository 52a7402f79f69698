#pragma once
// cmdline.txt rewriting for an NFS root (netboot-protocol.md section 8 and the
// official network-boot tutorial): the SD-card root is replaced by
//   root=/dev/nfs nfsroot=SERVER:EXPORT,vers=V,tcp ip=dhcp rw rootwait
// (`ro` for a read-only export)
// and every other kernel argument is kept in order.

#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::netboot {

struct NfsRoot {
    std::string server;         ///< IPv4 address (nfsroot has no IPv6 support, spec section 8)
    std::string exportPath;     ///< v3: the real path; v4: the pseudo path
    std::string version = "3";  ///< "3" or "4.1" (the kernel's vers= values we support)
    /// The export is read-only (a shared root): the kernel mounts it `ro`, as it is
    /// exported, instead of `rw` (a `rw` mount of an `ro` export fails at the first write).
    bool readOnly = false;
};

/// Splits cmdline.txt into arguments (whitespace separated, one line;
/// double-quoted values keep their spaces).
std::vector<std::string> splitCmdline(std::string_view text);

/// Rewrites @p original; fails if the server or export are unusable
/// (empty, contain spaces or commas).
Result<std::string> rewriteCmdline(std::string_view original, const NfsRoot& nfs);

/// The nfsroot= argument of a cmdline ("" if none), for doctor checks.
struct ParsedNfsRoot {
    std::string server;
    std::string exportPath;
    std::string options;
};
Result<ParsedNfsRoot> nfsRootOf(std::string_view cmdline);

}  // namespace pinet::proto::netboot
