#pragma once
// The NFS servers pinetboot can drive:
//   kernel   writes an exports(5) file (default /etc/exports.d/pinetboot.exports)
//            and runs `exportfs -ra`
//   ganesha  writes ganesha.conf in the state dir and (re)starts nfs-ganesha
//            in the foreground as its own daemon, tracked by a pid file;
//            rpcbind must already run (ganesha registers with it)
//   none     prints the export lines for an NFS server managed by hand

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "proto/error.h"
#include "proto/nfs/exports.h"
#include "proto/nfs/rpc_ping.h"

namespace pinet::io {

struct KernelNfsConfig {
    std::filesystem::path exportsFile;
    std::string exportfsCommand = "exportfs";
};

/// Writes the exports file atomically and runs `exportfs -ra`; returns its output.
Result<std::string> applyKernelExports(const KernelNfsConfig& cfg,
                                       const std::vector<proto::nfs::Export>& exports);

struct GaneshaConfig {
    std::filesystem::path dir;  ///< state/nfs: ganesha.conf, ganesha.pid, ganesha.log, recovery/
    std::string command = "ganesha.nfsd";
    std::chrono::seconds startTimeout{30};
};

/// Writes the config and restarts ganesha (stop by pid file, start, wait for
/// "NFS SERVER INITIALIZED" in its log). Returns the new PID.
Result<int> applyGanesha(const GaneshaConfig& cfg, const std::vector<proto::nfs::Export>& exports);
/// Stops a ganesha started by applyGanesha (SIGTERM, then SIGKILL after 10 s).
Result<bool> stopGanesha(const GaneshaConfig& cfg);
/// PID from the pid file if that process is alive, else 0.
int ganeshaPid(const GaneshaConfig& cfg);

/// NULL call to the NFS program (v3, then v4) at @p host:2049 over TCP.
Result<std::string> pingNfs(const std::string& host, std::chrono::milliseconds timeout);

}  // namespace pinet::io
