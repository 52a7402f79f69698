#include "app/image/image_report.h"

#include <algorithm>
#include <system_error>

namespace pinet::app {

namespace fs = std::filesystem;

namespace {

/// Bytes of the regular files beneath @p dir, symlinks not followed. A boot partition
/// holds a few hundred files (firmware, kernels, device trees, overlays): cheap.
std::uint64_t treeBytes(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code sec;
        const auto st = it->symlink_status(sec);
        if (!sec && fs::is_regular_file(st)) {
            const auto n = it->file_size(sec);
            total += sec ? 0 : n;
        }
    }
    return total;
}

}  // namespace

std::vector<std::string> clientsOfImage(const std::string& name,
                                        const std::vector<io::ClientRecord>& clients) {
    std::vector<std::string> out;
    for (const auto& c : clients) {
        if (c.image == name && c.state == io::ClientState::Enrolled) {
            out.push_back(c.serial);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::vector<ImageReport>> imageReports(const fs::path& stateDir,
                                              const std::vector<io::ClientRecord>& clients) {
    auto images = listImages(stateDir);
    if (!images) {
        return tl::unexpected(images.error());
    }
    std::vector<ImageReport> out;
    out.reserve(images->size());
    for (auto& i : *images) {
        ImageReport r;
        r.bootBytes = treeBytes(i.boot());
        r.sizeBytes = r.bootBytes + i.rootBytes;
        r.clients = clientsOfImage(i.name, clients);
        r.info = std::move(i);
        out.push_back(std::move(r));
    }
    return out;
}

nlohmann::json imageReportJson(const ImageReport& r) {
    const auto& i = r.info;
    return {{"name", i.name},
            {"path", i.dir.string()},
            {"source", i.source},
            {"imported_at", i.importedAt},
            {"table", i.table},
            {"boot_partuuid", i.bootPartuuid},
            {"root_partuuid", i.rootPartuuid},
            {"root_bytes", i.rootBytes},
            {"models", i.models},
            {"boot_layout", i.bootLayout},
            {"boot_tryboot", i.bootTryboot},
            {"in_place", i.inPlace},
            {"boot_bytes", r.bootBytes},
            {"size_bytes", r.sizeBytes},
            {"layout",
             {{"table", i.table},
              {"disk_id", i.diskId},
              {"boot", {{"fs", i.bootFs}, {"partuuid", i.bootPartuuid}, {"files", i.bootFiles}}},
              {"root",
               {{"fs", "ext4"},
                {"partuuid", i.rootPartuuid},
                {"files", i.rootFiles},
                {"bytes", i.rootBytes}}}}},
            {"clients", r.clients}};
}

}  // namespace pinet::app
