#include "io/file_cache.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "proto/tftp/netascii.h"

namespace pinet::io {

const char* toString(OpenError e) {
    switch (e) {
        case OpenError::NotFound: return "not found";
        case OpenError::Escape: return "path leaves the root";
        case OpenError::NotRegular: return "not a regular file";
        case OpenError::AccessDenied: return "permission denied";
        case OpenError::TooLarge: return "too large";
        case OpenError::Io: return "I/O error";
    }
    return "?";
}

core::tftp::FileError toFileError(OpenError e) {
    using F = core::tftp::FileError;
    switch (e) {
        case OpenError::NotFound: return F::NotFound;
        case OpenError::Escape: return F::Escape;
        case OpenError::NotRegular: return F::NotRegular;
        case OpenError::AccessDenied: return F::AccessDenied;
        case OpenError::TooLarge: return F::TooLarge;
        case OpenError::Io: return F::Io;
    }
    return F::Io;
}

namespace {

OpenError classify(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG: return OpenError::NotFound;
        case EXDEV:
        case ELOOP: return OpenError::Escape;
        case EACCES:
        case EPERM: return OpenError::AccessDenied;
        default: return OpenError::Io;
    }
}

int openat2Beneath(int rootFd, const std::string& relPath, std::uint64_t flags) {
    open_how how{};
    // openat2 rejects flags that do not apply, e.g. O_NOCTTY with O_PATH.
    how.flags = flags | O_CLOEXEC | ((flags & O_PATH) != 0 ? 0 : O_NOCTTY);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        long fd = ::syscall(SYS_openat2, rootFd, relPath.c_str(), &how, sizeof(how));
        if (fd >= 0 || errno != EAGAIN) {
            return static_cast<int>(fd);
        }
        // EAGAIN: a concurrent rename raced path resolution; try again.
    }
}

class MappedBlob final : public Blob {
public:
    /// A mapping of @p size bytes at @p addr whose content starts @p skip bytes in.
    MappedBlob(void* addr, std::size_t size, std::size_t skip = 0)
        : addr_(addr), size_(size), skip_(skip) {}
    ~MappedBlob() override { ::munmap(addr_, size_); }
    MappedBlob(const MappedBlob&) = delete;
    MappedBlob& operator=(const MappedBlob&) = delete;
    [[nodiscard]] std::span<const std::uint8_t> bytes() const override {
        return {static_cast<const std::uint8_t*>(addr_) + skip_, size_ - skip_};
    }

private:
    void* addr_;
    std::size_t size_;
    std::size_t skip_;
};

class OwnedBlob final : public Blob {
public:
    explicit OwnedBlob(std::vector<std::uint8_t> data) : data_(std::move(data)) {}
    [[nodiscard]] std::span<const std::uint8_t> bytes() const override { return data_; }

private:
    std::vector<std::uint8_t> data_;
};

}  // namespace

tl::expected<std::shared_ptr<const Blob>, OpenError> mapFileRange(int fd, std::uint64_t offset,
                                                                  std::uint64_t length) {
    if (length == 0) {
        return ownedBlob({});
    }
    static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t start = offset - offset % page;
    const std::uint64_t skip = offset - start;
    if (length > std::numeric_limits<std::size_t>::max() - skip) {
        return tl::unexpected(OpenError::TooLarge);
    }
    const auto mapped = static_cast<std::size_t>(skip + length);
    void* addr = ::mmap(nullptr, mapped, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
    if (addr == MAP_FAILED) {
        return tl::unexpected(classify(errno));
    }
    return std::make_shared<MappedBlob>(addr, mapped, static_cast<std::size_t>(skip));
}

std::shared_ptr<const Blob> ownedBlob(std::vector<std::uint8_t> bytes) {
    return std::make_shared<OwnedBlob>(std::move(bytes));
}

tl::expected<void, OpenError> readFileRange(int fd, std::uint64_t offset,
                                            std::span<std::uint8_t> out) {
    std::size_t got = 0;
    while (got < out.size()) {
        const auto n =
            ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return tl::unexpected(classify(errno));
        }
        if (n == 0) {
            return tl::unexpected(OpenError::Io);  // the file is shorter than its map says
        }
        got += static_cast<std::size_t>(n);
    }
    return {};
}

tl::expected<Fd, OpenError> openRegularFile(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        return tl::unexpected(classify(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return tl::unexpected(classify(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return tl::unexpected(OpenError::NotRegular);
    }
    return fd;
}

bool isDirectoryBeneath(int rootFd, const std::string& relPath) {
    Fd fd(openat2Beneath(rootFd, relPath, O_PATH | O_DIRECTORY));
    return static_cast<bool>(fd);
}

tl::expected<Fd, OpenError> openBeneath(int rootFd, const std::string& relPath) {
    // O_PATH first: fstat tells us what it is without opening a FIFO (which
    // would block) or a device (which may have side effects on open).
    Fd pathFd(openat2Beneath(rootFd, relPath, O_PATH));
    if (!pathFd) {
        return tl::unexpected(classify(errno));
    }
    struct stat st {};
    if (::fstat(pathFd.get(), &st) != 0) {
        return tl::unexpected(classify(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return tl::unexpected(OpenError::NotRegular);
    }
    Fd fd(openat2Beneath(rootFd, relPath, O_RDONLY | O_NONBLOCK));
    if (!fd) {
        return tl::unexpected(classify(errno));
    }
    struct stat st2 {};
    if (::fstat(fd.get(), &st2) != 0) {
        return tl::unexpected(classify(errno));
    }
    // Swapped between the two opens: refuse rather than serve something unchecked.
    if (!S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
        return tl::unexpected(OpenError::NotRegular);
    }
    return fd;
}

tl::expected<std::vector<std::uint8_t>, OpenError> FileCache::readNetasciiSource(
    int fd, std::size_t size) const {
    // Netascii is never shorter than the text, so a larger file is refused unread.
    if (size > options_.maxNetasciiBytes) {
        return tl::unexpected(OpenError::TooLarge);
    }
    std::vector<std::uint8_t> plain(size);
    std::size_t got = 0;
    while (got < size) {
        const auto n = ::pread(fd, plain.data() + got, size - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return tl::unexpected(classify(errno));
        }
        if (n == 0) {
            break;  // truncated since fstat
        }
        got += static_cast<std::size_t>(n);
    }
    plain.resize(got);
    return plain;
}

FileCache::FileCache() : FileCache(Options{}) {}
FileCache::FileCache(Options options) : options_(options) {}
FileCache::FileCache(Fd root, Options options) : options_(options), root_(std::move(root)) {}

tl::expected<std::shared_ptr<const core::tftp::FileContent>, core::tftp::FileError> FileCache::open(
    const std::string& relPath, bool netascii) {
    if (!root_) {
        return tl::unexpected(core::tftp::FileError::Io);
    }
    auto blob = get(root_.get(), relPath, netascii);
    if (!blob) {
        return tl::unexpected(toFileError(blob.error()));
    }
    return std::move(*blob);
}

tl::expected<std::shared_ptr<const Blob>, OpenError> FileCache::get(int rootFd,
                                                                    const std::string& relPath,
                                                                    bool netascii) {
    auto fd = openBeneath(rootFd, relPath);
    if (!fd) {
        return tl::unexpected(fd.error());
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) {
        return tl::unexpected(classify(errno));
    }
    Key key{st.st_dev, st.st_ino,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
            static_cast<std::int64_t>(st.st_size), netascii};
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        if (it != entries_.end()) {
            it->second.lastUse = ++useCounter_;
            ++stats_.hits;
            return it->second.blob;
        }
    }
    std::shared_ptr<const Blob> blob;
    auto size = static_cast<std::size_t>(st.st_size);
    if (netascii) {
        // Converted from a pread copy, never from a mapping: this thread reads the
        // bytes itself, and a mapped page past a concurrent truncation is SIGBUS. A
        // file cut meanwhile reads short; that copy is served but not cached.
        auto plain = readNetasciiSource(fd->get(), size);
        if (!plain) {
            return tl::unexpected(plain.error());
        }
        const bool shortRead = plain->size() != size;
        if (proto::tftp::netasciiSize(*plain) > options_.maxNetasciiBytes) {
            return tl::unexpected(OpenError::TooLarge);
        }
        blob = std::make_shared<OwnedBlob>(proto::tftp::encodeNetascii(*plain));
        if (shortRead) {
            std::lock_guard lock(mutex_);
            ++stats_.misses;
            return blob;
        }
    } else if (size == 0) {
        blob = std::make_shared<OwnedBlob>(std::vector<std::uint8_t>{});
    } else {
        // Octet transfers only hand the mapping to the kernel (sendmsg), which reports
        // a truncation as a short copy instead of a signal (udp_batch).
        void* addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd->get(), 0);
        if (addr == MAP_FAILED) {
            return tl::unexpected(classify(errno));
        }
        blob = std::make_shared<MappedBlob>(addr, size);
    }
    std::lock_guard lock(mutex_);
    ++stats_.misses;
    auto [it, inserted] = entries_.emplace(key, Entry{blob, ++useCounter_});
    if (inserted) {
        totalBytes_ += blob->bytes().size();
        evictLocked();
    }
    return it->second.blob;
}

void FileCache::evictLocked() {
    // Drop least-recently used entries that no transfer holds until under
    // budget. Entries in use stay: their transfers keep them alive anyway.
    while (totalBytes_ > options_.maxIdleBytes) {
        auto victim = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->second.blob.use_count() == 1 &&
                (victim == entries_.end() || it->second.lastUse < victim->second.lastUse)) {
                victim = it;
            }
        }
        if (victim == entries_.end()) {
            return;
        }
        totalBytes_ -= victim->second.blob->bytes().size();
        entries_.erase(victim);
    }
}

FileCache::Stats FileCache::stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.entries = entries_.size();
    s.bytes = totalBytes_;
    return s;
}

}  // namespace pinet::io
