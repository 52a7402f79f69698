#pragma once
// cmdline.txt rewriting for an NFS root (netboot-protocol.md section 8 and the
// official network-boot tutorial): the SD-card root is replaced by
//   root=/dev/nfs nfsroot=SERVER:EXPORT,vers=V,tcp ip=dhcp rw rootwait
// (`ro` for a read-only export)
// and every other kernel argument is kept in order.

#include <cstdint>
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

/// An NBD root as the Debian/Ubuntu nbd-client initramfs hook reads it
/// (nbd-client 3.24, /usr/share/initramfs-tools/scripts/local-top/nbd): its
/// "ipv4:port/path" form, nbdroot=SERVER:PORT/NAME, with the device from
/// root=/dev/nbd0. The hook's three-field form SERVER,NAME,DEV has no port,
/// and its two-field form SERVER,PORT gives no export name, which the hook
/// then refuses ("Insufficient information"); each board has a port of its
/// own (app/nbd), so only the first form fits.
struct NbdRoot {
    std::string server;      ///< IPv4 address
    std::uint16_t port = 0;  ///< the board's own listening port
    std::string exportName;  ///< the export the engine serves (the serial)
    /// The root: the export itself, or its partition N (/dev/nbd0pN) when the export is
    /// a whole disk (an image served in place, app/nbd).
    std::string device = "/dev/nbd0";
};

/// The SD-card root replaced by
///   root=DEVICE nbdroot=SERVER:PORT/NAME rootfstype=ext4 ip=dhcp rw rootwait
/// (pinetboot builds the root as ext4, app/nbd),
/// every other argument kept in order (an earlier NFS or NBD root is replaced too).
Result<std::string> rewriteCmdlineNbd(std::string_view original, const NbdRoot& nbd);

/// The nfsroot= argument of a cmdline ("" if none), for doctor checks.
struct ParsedNfsRoot {
    std::string server;
    std::string exportPath;
    std::string options;
};
Result<ParsedNfsRoot> nfsRootOf(std::string_view cmdline);

}  // namespace pinet::proto::netboot
