#pragma once
// Doctor's comparison of the boot trees of the nodes that share a PostgreSQL store
// (issue #19): every node's serve publishes a manifest of each tree of its TFTP root
// (app/serve/node_service.h, io/fs/tree_hash.h); doctor hashes this node's trees afresh
// and compares them, and every other recent node's, by SHA-256, naming the files that
// differ. It reads the store and the TFTP root and writes nothing.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "app/config/config.h"
#include "app/doctor/doctor.h"
#include "io/registry/registry.h"

namespace pinet::app {

/// Nodes whose heartbeat is older than this are left out: a node restarted or down for
/// a while still counts, one taken out of service drops out of the comparison.
inline constexpr std::chrono::minutes kTreeNodeRecent{10};
/// Trees named one by one; the rest are counted (a state directory of thousands of
/// clients copied wrongly would otherwise print thousands of findings).
inline constexpr std::size_t kTreeFindings = 20;
/// Files named per differing tree.
inline constexpr std::size_t kTreeFilesNamed = 8;

/// Fills @p opts' store, nodeId and tftpRoot from a config @p c ([store], [tftp] root,
/// else STATE/tftp) and the store @p where it resolves to.
void setTreeOptions(DoctorOptions& opts, const config::Config& c, const io::StoreLocation& where);

/// The findings for node @p self (its TFTP root @p tftpRoot) in the store @p where.
std::vector<Finding> checkNodeTrees(const std::filesystem::path& stateDir,
                                    const io::StoreLocation& where, const std::string& self,
                                    const std::filesystem::path& tftpRoot);

}  // namespace pinet::app
