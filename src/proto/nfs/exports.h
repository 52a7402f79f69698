#pragma once
// NFS export descriptions and their two renderings: a kernel exports(5) file
// for /etc/exports.d/ and an nfs-ganesha configuration (EXPORT blocks with
// per-client CLIENT blocks, ganesha-export-config(8)). Pure text generation;
// the io layer writes the files and runs the servers.

#include <cstdint>
#include <string>
#include <vector>

#include "proto/error.h"

namespace pinet::proto::nfs {

struct Export {
    std::string path;                  ///< absolute directory on the server
    std::vector<std::string> clients;  ///< IPv4 addresses or IPv4/prefix subnets, never "*"
    bool readOnly = false;
    bool noRootSquash = false;   ///< only for root file systems, which need uid 0 to work
    std::uint32_t exportId = 1;  ///< ganesha Export_Id and kernel fsid= (unique per export)
    std::string comment;         ///< who uses it ("client 9ffefdef"); one line
};

/// Rejects what the renderings cannot express safely: relative paths, quotes
/// or newlines in paths, wildcard or malformed clients, no clients at all.
Result<void> validateExport(const Export& e);

/// "10.0.0.5" or "10.0.0.0/24" (prefix 0..32); anything else is refused.
bool isIpv4OrSubnet(const std::string& s);

/// exports(5) text; each export on one line:
///   "/path" 10.0.0.5(rw,sync,no_subtree_check,no_root_squash,fsid=7)
Result<std::string> renderKernelExports(const std::vector<Export>& exports);

struct GaneshaParams {
    std::string recoveryRoot;  ///< NFSv4 client recovery state (default /var/lib/nfs/ganesha)
    int port = 2049;           ///< RFC 7530 section 3.1: NFS well-known port
};

/// ganesha.conf text. Each export's Pseudo path equals its real path, so the
/// same nfsroot= path works for NFSv3 and NFSv4.1.
Result<std::string> renderGaneshaConfig(const std::vector<Export>& exports,
                                        const GaneshaParams& params);

}  // namespace pinet::proto::nfs
