#pragma once
// Brings the NFS server in line with the registry: one export per client
// root (shared roots: one read-only export listing all their clients), and
// with the boot export setting one read-only export per boot directory.
// Root exports need no_root_squash (a root file system is owned by uid 0);
// boot exports keep root squashing.

#include <filesystem>
#include <string>
#include <vector>

#include "app/settings.h"
#include "io/registry/registry.h"
#include "proto/error.h"
#include "proto/nfs/exports.h"

namespace pinet::app {

Result<std::vector<proto::nfs::Export>> buildExports(const std::vector<io::ClientRecord>& clients,
                                                     const ServerSettings& s);

struct NfsApplyReport {
    std::vector<std::string> lines;  ///< what happened, for the user
    std::string exportsText;         ///< "none" backend: the exports(5) lines to install by hand
};

Result<NfsApplyReport> applyNfs(const std::filesystem::path& stateDir, io::Registry& reg,
                                const ServerSettings& s);

struct NfsStatus {
    std::string backend;
    std::vector<proto::nfs::Export> exports;
    std::string server;      ///< "running (pid N)", "exportfs -v output", ...
    bool answers = false;    ///< NFS NULL call succeeded
    std::string answerText;  ///< what the ping said
};

Result<NfsStatus> nfsStatus(const std::filesystem::path& stateDir, io::Registry& reg,
                            const ServerSettings& s);

}  // namespace pinet::app
