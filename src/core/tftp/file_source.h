#pragma once
// What the TFTP engine needs from a file system: read-only content by a
// sanitised path beneath the served root, shared between transfers. The
// engine holds the content for as long as a transfer (or a queued datagram)
// refers to it. io::FileCache implements it over openat2 + mmap; tests and
// the fuzzer implement it in memory.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <tl/expected.hpp>

namespace pinet::core::tftp {

/// Immutable bytes (a mapped file or an owned buffer).
class FileContent {
public:
    virtual ~FileContent() = default;
    [[nodiscard]] virtual std::span<const std::uint8_t> bytes() const = 0;
};

/// Why a file could not be served. Each maps to one refusal (tftp_engine.h).
enum class FileError {
    NotFound,      ///< no such file or folder
    Escape,        ///< resolution would leave the root (a symlink out of it)
    NotRegular,    ///< directory, FIFO, device, socket
    AccessDenied,  ///< permission denied on our side
    TooLarge,      ///< over a conversion limit (netascii)
    Io,            ///< anything else
};

const char* toString(FileError e);

class FileSource {
public:
    virtual ~FileSource() = default;
    /// Content of @p relPath (sanitised, relative to the root), netascii-encoded if asked.
    /// Called on the packet path: implementations keep it quick and never throw.
    virtual tl::expected<std::shared_ptr<const FileContent>, FileError> open(
        const std::string& relPath, bool netascii) = 0;
};

}  // namespace pinet::core::tftp
