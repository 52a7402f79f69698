#pragma once
// Brings the NFS server in line with the registry: one export per client
// root (shared roots: one read-only export listing all their clients), and
// with the boot export setting one read-only export per boot directory.
// Root exports need no_root_squash (a root file system is owned by uid 0);
// boot exports keep root squashing.
//
// `nfs apply` runs as root but the rows come from registry.db: every row is
// screened first (screenClients), so a row edit cannot export "/" or any
// path outside the state directory's roots/ and images/.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/settings.h"
#include "io/registry/registry.h"
#include "proto/error.h"
#include "proto/nfs/exports.h"

namespace pinet::app {

/// The enrolled rows a root command may export, and a line for each row it may not.
struct ScreenedClients {
    std::vector<io::ClientRecord> kept;  ///< rows that pass, and every row not enrolled
    std::vector<std::string> refused;    ///< "client S: why; not exported"
};

/// Checks every enrolled row with a root export against the state directory, with all
/// symlinks resolved: the serial is 8 lower-case hex digits, a copy or overlay root lies
/// at or beneath roots/SERIAL, a shared root beneath images/, and (with @p s.bootExport) the boot
/// dir beneath tftp/. A row that fails is left out, so the others are still exported.
ScreenedClients screenClients(const std::filesystem::path& stateDir,
                              const std::vector<io::ClientRecord>& clients,
                              const ServerSettings& s);

Result<std::vector<proto::nfs::Export>> buildExports(const std::vector<io::ClientRecord>& clients,
                                                     const ServerSettings& s);

struct NfsApplyReport {
    std::vector<std::string> lines;    ///< what happened, for the user
    std::vector<std::string> refused;  ///< rows screenClients left out (the command fails)
    std::string exportsText;           ///< "none" backend: the exports(5) lines to install by hand
};

Result<NfsApplyReport> applyNfs(const std::filesystem::path& stateDir, io::Registry& reg,
                                const ServerSettings& s);

/// Where the mount unit of an overlay client lives (s.mountUnitDir, else
/// /etc/systemd/system when systemd runs), or nullopt without systemd.
std::optional<std::filesystem::path> mountUnitPath(const std::filesystem::path& stateDir,
                                                   const ServerSettings& s,
                                                   const io::ClientRecord& rec);

/// Removes an overlay client's mount unit (if pinetboot wrote one), so a
/// removed client's overlay is not mounted at the next boot; one line per
/// file removed.
Result<std::vector<std::string>> dropMountUnit(const std::filesystem::path& stateDir,
                                               const ServerSettings& s,
                                               const io::ClientRecord& rec);

struct NfsStatus {
    std::string backend;
    std::vector<proto::nfs::Export> exports;
    std::string server;                ///< "running (pid N)", "exportfs -v output", ...
    bool answers = false;              ///< NFS NULL call succeeded
    std::string answerText;            ///< what the ping said
    std::vector<std::string> refused;  ///< rows screenClients left out
};

Result<NfsStatus> nfsStatus(const std::filesystem::path& stateDir, io::Registry& reg,
                            const ServerSettings& s);

}  // namespace pinet::app
