#pragma once
// core::usbboot::FsView over a boot directory on disk (rpiboot's -d DIR).

#include <filesystem>

#include "core/usbboot/session.h"

namespace pinet::io {

class DiskFsView : public core::usbboot::FsView {
public:
    explicit DiskFsView(std::filesystem::path root) : root_(std::move(root)) {}
    /// Reads ROOT/relPath if it is a regular file (symlinks followed).
    std::optional<core::usbboot::ServedFile> read(const std::string& relPath) override;
    [[nodiscard]] const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
};

}  // namespace pinet::io
