#include "io/fs/read_at_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "io/fd.h"

namespace pinet::io {

Result<FileReadAt> openReadAt(const std::filesystem::path& path) {
    auto fd = std::make_shared<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!*fd) {
        return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) {
        return fail(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return fail(fmt::format("{}: not a regular file or block device", path.string()));
    }
    FileReadAt out;
    out.size = static_cast<std::uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode)) {
        // st_size is 0 for a block device (an SD card in a reader): the
        // kernel reports the device's size through this ioctl instead.
        std::uint64_t bytes = 0;
        if (::ioctl(fd->get(), BLKGETSIZE64, &bytes) != 0) {
            return fail(fmt::format("{}: cannot read the block device's size: {}", path.string(),
                                    std::strerror(errno)));
        }
        out.size = bytes;
    }
    std::string name = path.string();
    out.read = [fd, name, size = out.size](std::uint64_t off,
                                           std::span<std::uint8_t> buf) -> Result<void> {
        if (off > size || buf.size() > size - off) {
            return fail(fmt::format("truncated: {} bytes at offset {} but the file has {}",
                                    buf.size(), off, size));
        }
        std::size_t done = 0;
        while (done < buf.size()) {
            ssize_t n = ::pread(fd->get(), buf.data() + done, buf.size() - done,
                                static_cast<off_t>(off + done));
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("{}: read error: {}", name, std::strerror(errno)));
            }
            if (n == 0) {
                return fail(fmt::format("{}: unexpected end of file", name));
            }
            done += static_cast<std::size_t>(n);
        }
        return {};
    };
    return out;
}

}  // namespace pinet::io
