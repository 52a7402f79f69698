#pragma once
// Read-only file content shared between transfers, opened safely beneath a
// root directory.
//
// - Opening: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to the
//   root's fd, so "..", absolute symlinks and symlinks leading outside the
//   root all fail in the kernel, whatever the path string looked like. The
//   file is first opened O_PATH and fstat'ed, so FIFOs and devices are refused
//   without ever being opened for reading.
// - Sharing: content is mmap'ed once per (device, inode, mtime, size) and
//   handed out as shared_ptr<const Blob>; a hundred boards fetching the same
//   kernel share one mapping. A replaced file (new inode or mtime) gets a new
//   entry, and in-flight transfers keep the old mapping alive.
// - A file truncated *in place* while mapped: only the kernel reads octet
//   mappings (sendmmsg), so the loss shows up as EFAULT, not SIGBUS, and the
//   server ends that transfer with an ERROR (udp_batch, TftpServer). Netascii
//   content is read with pread (never through a mapping, whose pages past a
//   truncation raise SIGBUS in the reader) and converted into an owned buffer
//   when opened; a file cut meanwhile reads short, and that copy is not cached. Still, update boot
//   files by writing a new file and renaming it over the old one (what every
//   tool in pinetboot does): in-flight transfers then finish the old content.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/tftp/file_source.h"
#include "io/fd.h"
#include "proto/error.h"

namespace pinet::io {

/// Immutable bytes: an mmap'ed file or an owned buffer.
using Blob = core::tftp::FileContent;

enum class OpenError {
    NotFound,      ///< ENOENT / ENOTDIR
    Escape,        ///< EXDEV/ELOOP from RESOLVE_BENEATH: would leave the root
    NotRegular,    ///< directory, FIFO, device, socket
    AccessDenied,  ///< EACCES / EPERM
    TooLarge,      ///< over the netascii conversion limit
    Io,            ///< anything else
};

const char* toString(OpenError e);
/// The TFTP engine's name for the same failure.
core::tftp::FileError toFileError(OpenError e);

/// Whether @p relPath, resolved beneath @p rootFd, is a directory.
bool isDirectoryBeneath(int rootFd, const std::string& relPath);

/// Opens @p relPath beneath @p rootFd for reading (see the header comment).
tl::expected<Fd, OpenError> openBeneath(int rootFd, const std::string& relPath);

/// Bytes [@p offset, @p offset + @p length) of the regular file @p fd, mapped read-only
/// and shared (the offset need not be page-aligned: the mapping starts at the page
/// below it). What an octet transfer reads of a file inside an image served in place
/// (app/tftp/in_place_source.h): only the kernel reads it, as with FileCache's mappings.
tl::expected<std::shared_ptr<const Blob>, OpenError> mapFileRange(int fd, std::uint64_t offset,
                                                                  std::uint64_t length);
/// Bytes owned on the heap.
std::shared_ptr<const Blob> ownedBlob(std::vector<std::uint8_t> bytes);
/// Fills @p out from @p fd at @p offset (pread, EINTR retried); a short file is Io.
tl::expected<void, OpenError> readFileRange(int fd, std::uint64_t offset,
                                            std::span<std::uint8_t> out);
/// Opens the regular file @p path read-only (no symlink at its last part is refused:
/// the path is pinetboot's own, from image.json).
tl::expected<Fd, OpenError> openRegularFile(const std::string& path);

/// Also the TFTP engine's FileSource when constructed with a root: open() is
/// get() beneath that root.
class FileCache final : public core::tftp::FileSource {
public:
    struct Options {
        /// Mapped bytes kept after their last transfer ended. Mappings share
        /// the page cache, so this bounds address space more than memory;
        /// 1 GiB holds every file of several OS versions.
        std::uint64_t maxIdleBytes = 1ull << 30;
        /// Netascii needs a converted copy on the heap; text files are small
        /// (config.txt, cmdline.txt), so 16 MiB is generous and bounded.
        std::uint64_t maxNetasciiBytes = 16ull << 20;
    };
    struct Stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t entries = 0;
        std::uint64_t bytes = 0;
    };

    FileCache();
    explicit FileCache(Options options);
    /// A cache whose open() serves files beneath @p root (an O_PATH directory fd).
    FileCache(Fd root, Options options);

    /// core::tftp::FileSource: get() beneath the root given at construction.
    tl::expected<std::shared_ptr<const core::tftp::FileContent>, core::tftp::FileError> open(
        const std::string& relPath, bool netascii) override;

    /// Content of @p relPath beneath @p rootFd (netascii-encoded if asked).
    tl::expected<std::shared_ptr<const Blob>, OpenError> get(int rootFd, const std::string& relPath,
                                                             bool netascii);
    [[nodiscard]] Stats stats() const;

private:
    struct Key {
        dev_t dev;
        ino_t ino;
        std::int64_t mtimeNs;
        std::int64_t size;
        bool netascii;
        auto operator<=>(const Key&) const = default;
    };
    struct Entry {
        std::shared_ptr<const Blob> blob;
        std::uint64_t lastUse = 0;
    };
    void evictLocked();
    /// The first @p size bytes of @p fd by pread (fewer if it was cut since fstat).
    tl::expected<std::vector<std::uint8_t>, OpenError> readNetasciiSource(int fd,
                                                                          std::size_t size) const;

    Options options_;
    Fd root_;
    mutable std::mutex mutex_;
    std::map<Key, Entry> entries_;
    std::uint64_t useCounter_ = 0;
    std::uint64_t totalBytes_ = 0;
    Stats stats_;
};

}  // namespace pinet::io
