// Fuzz target: the ext2/3/4 extraction of an untrusted root partition
// (libext2fs superblock, group descriptors, inodes, extent trees, block
// maps, directories, inline data, xattrs) into a scratch directory, with
// the bounds of issue #13 item 5. Seeds: small images made by
// fuzz/make_ext4_corpus.sh. Links pinet_io (fuzz/CMakeLists.txt).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "io/ext4/ext4_extract.h"

namespace {

const std::filesystem::path& scratch() {
    static const std::filesystem::path dir = [] {
        std::string t = (std::filesystem::temp_directory_path() / "fuzz-ext4.XXXXXX").string();
        if (::mkdtemp(t.data()) == nullptr) {
            std::abort();
        }
        return std::filesystem::path(t);
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2048 || size > (1U << 20)) {
        return 0;  // no superblock, or larger than the seeds' shape
    }
    int fd = ::memfd_create("ext4", MFD_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::write(fd, data + done, size - done);
        if (n <= 0) {
            ::close(fd);
            return 0;
        }
        done += static_cast<std::size_t>(n);
    }
    std::filesystem::path out = scratch() / "out";
    std::error_code ec;
    std::filesystem::remove_all(out, ec);
    std::filesystem::create_directory(out, ec);
    auto r = pinet::io::extractExt4(fd, 0, size, out, nullptr);  // takes fd
    if (r && r->bytes > (std::uint64_t{1} << 42)) {
        __builtin_trap();  // logical sizes are bounded by ext4's maximum file size
    }
    std::filesystem::remove_all(out, ec);
    return 0;
}
