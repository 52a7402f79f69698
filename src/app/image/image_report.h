#pragma once
// What `pinetboot image list` and GET /api/v1/images show of each imported image:
// its size on disk, its layout (partition table, the two partitions) and which
// registry clients use it. One function for both, so the CLI and the browser never
// disagree.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/image/image_store.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

struct ImageReport {
    ImageInfo info;
    std::uint64_t bootBytes = 0;  ///< regular files under images/NAME/boot (counted now)
    /// bootBytes + the root's bytes recorded at import (counting the root again would
    /// walk tens of thousands of files on every page load).
    std::uint64_t sizeBytes = 0;
    std::vector<std::string> clients;  ///< serials of the registry clients using it, sorted
};

/// Serials of the enrolled clients among @p clients whose image is @p name, sorted:
/// the Images view's "clients" and what `image remove` refuses to remove under.
std::vector<std::string> clientsOfImage(const std::string& name,
                                        const std::vector<io::ClientRecord>& clients);

/// Every image under @p stateDir with its size and its users among @p clients.
Result<std::vector<ImageReport>> imageReports(const std::filesystem::path& stateDir,
                                              const std::vector<io::ClientRecord>& clients);

/// One image as JSON: the `image list --json` fields (name, path, source, imported_at,
/// table, boot_partuuid, root_partuuid, root_bytes, models) and boot_bytes, size_bytes,
/// layout {table, disk_id, boot {fs, partuuid, files}, root {fs, partuuid, files, bytes}}
/// and clients [serial...].
nlohmann::json imageReportJson(const ImageReport& report);

}  // namespace pinet::app
