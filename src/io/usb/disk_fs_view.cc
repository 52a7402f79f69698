#include "io/usb/disk_fs_view.h"

#include "io/file.h"

namespace pinet::io {

std::optional<core::usbboot::ServedFile> DiskFsView::read(const std::string& relPath) {
    // Callers pass names from core::usbboot::lookupCandidates(), which has
    // already refused ".." and stripped leading slashes.
    const auto path = root_ / relPath;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return std::nullopt;
    }
    auto data = readFile(path);
    if (!data) {
        return std::nullopt;
    }
    return core::usbboot::ServedFile{
        path.string(), std::make_shared<const std::vector<std::uint8_t>>(std::move(*data))};
}

}  // namespace pinet::io
