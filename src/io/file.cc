#include "io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>  // renameat2, RENAME_NOREPLACE (glibc 2.28)
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "io/fd.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {
struct OpenedFile {
    Fd fd;
    std::size_t size = 0;
};

/// Opens @p path for reading; only regular files (errors name the file and the reason).
Result<OpenedFile> openRegular(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(fmt::format("{}: not a regular file", path.string()));
    }
    return OpenedFile{std::move(fd), static_cast<std::size_t>(st.st_size)};
}
}  // namespace

Result<std::vector<std::uint8_t>> readFile(const fs::path& path) {
    auto f = openRegular(path);
    if (!f) {
        return tl::unexpected(f.error());
    }
    Fd& fd = f->fd;
    std::vector<std::uint8_t> out(f->size);
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("{}: read error: {}", path.string(), std::strerror(errno)));
        }
        if (n == 0) {
            out.resize(done);  // the file shrank while we read it
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return out;
}

Result<PrivateFileMap> PrivateFileMap::open(const fs::path& path) {
    auto f = openRegular(path);
    if (!f) {
        return tl::unexpected(f.error());
    }
    const std::size_t size = f->size;
    if (size == 0) {
        return PrivateFileMap(nullptr, 0);  // mmap cannot map nothing
    }
    void* p =
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, f->fd.get(), 0);
    if (p == MAP_FAILED) {
        return fail(fmt::format("{}: cannot map: {}", path.string(), std::strerror(errno)));
    }
    return PrivateFileMap(static_cast<std::uint8_t*>(p), size);
}

PrivateFileMap::~PrivateFileMap() {
    if (data_ != nullptr) {
        ::munmap(data_, size_);
    }
}

PrivateFileMap::PrivateFileMap(PrivateFileMap&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

namespace {

Result<void> writeViaTemp(const fs::path& path, std::span<const std::uint8_t> data, unsigned mode,
                          bool replace) {
    fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::string tmpl = (dir / ("." + path.filename().string() + ".tmpXXXXXX")).string();
    Fd fd(::mkstemp(tmpl.data()));
    if (!fd) {
        return fail(fmt::format("{}: cannot create temporary file in {}: {}", path.string(),
                                dir.string(), std::strerror(errno)));
    }
    auto cleanup = [&](const std::string& what) {
        int e = errno;
        ::unlink(tmpl.c_str());
        return fail(fmt::format("{}: {}: {}", path.string(), what, std::strerror(e)));
    };
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return cleanup("write error");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
        return cleanup("chmod failed");
    }
    if (::fsync(fd.get()) != 0) {
        return cleanup("fsync failed");
    }
    fd.reset();
    if (!replace) {
        if (::renameat2(AT_FDCWD, tmpl.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) {
                ::unlink(tmpl.c_str());
                return fail(fmt::format("{}: already exists (not replaced)", path.string()));
            }
            return cleanup("rename failed");
        }
        return {};
    }
    if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        return cleanup("rename failed");
    }
    return {};
}

}  // namespace

Result<void> writeFileAtomic(const fs::path& path, std::span<const std::uint8_t> data,
                             unsigned mode) {
    return writeViaTemp(path, data, mode, true);
}

Result<void> writeFileAtomicNew(const fs::path& path, std::string_view data, unsigned mode) {
    return writeViaTemp(path,
                        std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()),
                        mode, false);
}

Result<void> writeFileAtomic(const fs::path& path, std::string_view data, unsigned mode) {
    return writeFileAtomic(
        path, std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), mode);
}

TempDir::TempDir(const std::string& prefix, const fs::path& parent) {
    std::string tmpl = (parent / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error(fmt::format("cannot create temporary directory in {}: {}",
                                             parent.string(), std::strerror(errno)));
    }
    path_ = tmpl;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
}

TempDir::~TempDir() {
    if (!path_.empty()) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
}

Result<FileIdentity> fileIdentity(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return fail(path.string() + ": " + std::strerror(errno));
    }
    FileIdentity id;
    id.regular = S_ISREG(st.st_mode);
    id.size = static_cast<std::uint64_t>(st.st_size);
    id.mtimeNs = std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    return id;
}

}  // namespace pinet::io
