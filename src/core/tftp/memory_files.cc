#include "core/tftp/memory_files.h"

namespace pinet::core::tftp {

namespace {

class OwnedContent final : public FileContent {
public:
    explicit OwnedContent(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
    [[nodiscard]] std::span<const std::uint8_t> bytes() const override { return bytes_; }

private:
    std::vector<std::uint8_t> bytes_;
};

}  // namespace

void MemoryFiles::add(const std::string& path, std::vector<std::uint8_t> content) {
    errors_.erase(path);
    files_[path] = std::make_shared<OwnedContent>(std::move(content));
}

void MemoryFiles::setError(const std::string& path, FileError error) {
    files_.erase(path);
    errors_[path] = error;
}

tl::expected<std::shared_ptr<const FileContent>, FileError> MemoryFiles::open(
    const std::string& relPath, bool /*netascii*/) {
    if (auto e = errors_.find(relPath); e != errors_.end()) {
        return tl::unexpected(e->second);
    }
    if (auto f = files_.find(relPath); f != files_.end()) {
        return f->second;
    }
    return tl::unexpected(FileError::NotFound);
}

long MemoryFiles::holders(const std::string& path) const {
    auto f = files_.find(path);
    return f == files_.end() ? 0 : f->second.use_count() - 1;
}

}  // namespace pinet::core::tftp
