#pragma once
// Whole-file reads and crash-safe writes. Outputs are always written to a
// temporary file in the target's directory and renamed into place, so a
// failed run never leaves a half-written or truncated output, and an input is
// never modified unless the caller names it as the output.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::io {

/// Reads a regular file whole. Errors name the file and the reason.
Result<std::vector<std::uint8_t>> readFile(const std::filesystem::path& path);

/// What tells one version of a file from another (stat, symlinks followed): an image
/// served in place is checked against these before its map is trusted.
struct FileIdentity {
    bool regular = false;
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;  ///< nanoseconds since 1970
};
/// @p path's identity; fails naming the file and the reason when it cannot be stat'ed.
Result<FileIdentity> fileIdentity(const std::filesystem::path& path);

/// A regular file mapped copy-on-write and populated up front: no zero-fill, no read
/// copy, no page fault per 4 KiB (they cost more than the work for a 2 MiB EEPROM
/// image on small VMs). Writes to bytes() stay private: the file never changes, and
/// since every page is already a private copy, a later truncation of the file cannot
/// fault us (SIGBUS).
class PrivateFileMap {
public:
    /// Errors name the file and the reason, worded as readFile's.
    static Result<PrivateFileMap> open(const std::filesystem::path& path);
    ~PrivateFileMap();
    PrivateFileMap(PrivateFileMap&& other) noexcept;
    PrivateFileMap& operator=(PrivateFileMap&&) = delete;
    PrivateFileMap(const PrivateFileMap&) = delete;
    PrivateFileMap& operator=(const PrivateFileMap&) = delete;

    [[nodiscard]] std::span<std::uint8_t> bytes() const { return {data_, size_}; }

private:
    PrivateFileMap(std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Writes @p data to @p path atomically (temp file + fsync + rename).
/// @p mode is applied to the new file.
Result<void> writeFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                             unsigned mode = 0644);
Result<void> writeFileAtomic(const std::filesystem::path& path, std::string_view data,
                             unsigned mode = 0644);
/// As writeFileAtomic, but never replaces an existing @p path: the temp file is renamed
/// with RENAME_NOREPLACE, so a file that appears meanwhile is kept too (the error then
/// says that it exists). For outputs a user may have edited (`pinetboot init`'s config).
Result<void> writeFileAtomicNew(const std::filesystem::path& path, std::string_view data,
                                unsigned mode = 0644);

/// Creates a fresh, empty temporary directory under @p parent (default: the
/// system temp dir) and removes it with everything inside on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "pinetboot",
                     const std::filesystem::path& parent = std::filesystem::temp_directory_path());
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    /// Keeps the directory on destruction (it was renamed into place, say).
    void release() { path_.clear(); }

private:
    std::filesystem::path path_;
};

}  // namespace pinet::io
