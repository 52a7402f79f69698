#include "io/xz/xz_reader.h"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::uint8_t, 6> kXzMagic = {0xFD, '7', 'z', 'X', 'Z', 0x00};
constexpr std::size_t kInChunk = 1 << 20;
constexpr std::size_t kOutChunk = 4 << 20;
// Decoder memory limit: Raspberry Pi OS images use xz -9 (64 MiB dictionary);
// 1 GiB is far above that and still refuses a crafted header asking for more.
constexpr std::uint64_t kMemLimit = 1ULL << 30;
// An index costs about 2-16 bytes a block; 64 MiB is millions of blocks.
constexpr std::uint64_t kMaxIndexBytes = 64ULL << 20;

class LzmaStream {
public:
    LzmaStream() = default;
    ~LzmaStream() { lzma_end(&s_); }
    LzmaStream(const LzmaStream&) = delete;
    LzmaStream& operator=(const LzmaStream&) = delete;
    lzma_stream* get() { return &s_; }

private:
    lzma_stream s_ = LZMA_STREAM_INIT;
};

std::string lzmaError(lzma_ret r) {
    switch (r) {
        case LZMA_MEM_ERROR: return "out of memory";
        case LZMA_MEMLIMIT_ERROR: return "needs more than 1 GiB of decoder memory";
        case LZMA_FORMAT_ERROR: return "not an xz stream";
        case LZMA_OPTIONS_ERROR: return "unsupported xz options";
        case LZMA_DATA_ERROR: return "corrupt xz data";
        case LZMA_BUF_ERROR: return "xz stream ends early (truncated file?)";
        default: return fmt::format("liblzma error {}", static_cast<int>(r));
    }
}

Result<void> writeOrSkip(int fd, const std::uint8_t* p, std::size_t n, const fs::path& dest) {
    if (std::all_of(p, p + n, [](std::uint8_t b) { return b == 0; })) {
        if (::lseek(fd, static_cast<off_t>(n), SEEK_CUR) < 0) {
            return fail(fmt::format("{}: seek failed: {}", dest.string(), std::strerror(errno)));
        }
        return {};
    }
    std::size_t done = 0;
    while (done < n) {
        ssize_t w = ::write(fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("{}: write failed: {}", dest.string(), std::strerror(errno)));
        }
        done += static_cast<std::size_t>(w);
    }
    return {};
}

Result<void> preadAll(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off) {
    while (n > 0) {
        ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return fail(r < 0 ? std::strerror(errno) : "unexpected end of file");
        }
        p += r;
        n -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
    return {};
}

/// The uncompressed size the file's indexes declare: every stream (xz file
/// format 2.1) ends with an index listing its blocks' sizes and a footer
/// giving the index's length, so they are read from the end backwards,
/// skipping stream padding. The decoder checks each index against the
/// blocks, but only after a stream's last byte was written.
Result<std::uint64_t> declaredSize(int fd, std::uint64_t fileSize) {
    std::uint64_t pos = fileSize;
    std::uint64_t total = 0;
    while (pos > 0) {
        std::array<std::uint8_t, LZMA_STREAM_HEADER_SIZE> footer{};
        if (pos < 2 * LZMA_STREAM_HEADER_SIZE) {
            return fail("no xz stream footer (truncated file?)");
        }
        if (auto r = preadAll(fd, footer.data(), footer.size(), pos - footer.size()); !r) {
            return tl::unexpected(r.error());
        }
        if (std::all_of(footer.begin(), footer.end(), [](std::uint8_t b) { return b == 0; })) {
            pos -= footer.size();  // stream padding (a multiple of 4 zero bytes)
            continue;
        }
        if (footer[8] == 0 && footer[9] == 0 && footer[10] == 0 && footer[11] == 0) {
            pos -= 4;
            continue;
        }
        lzma_stream_flags flags{};
        if (lzma_stream_footer_decode(&flags, footer.data()) != LZMA_OK) {
            return fail("xz stream footer is corrupt (truncated file?)");
        }
        std::uint64_t indexSize = flags.backward_size;
        if (indexSize > kMaxIndexBytes || indexSize + 2 * LZMA_STREAM_HEADER_SIZE > pos) {
            return fail("xz index size is out of range");
        }
        std::vector<std::uint8_t> raw(static_cast<std::size_t>(indexSize));
        std::uint64_t indexAt = pos - LZMA_STREAM_HEADER_SIZE - indexSize;
        if (auto r = preadAll(fd, raw.data(), raw.size(), indexAt); !r) {
            return tl::unexpected(r.error());
        }
        lzma_index* index = nullptr;
        std::uint64_t memlimit = kMemLimit;
        std::size_t used = 0;
        if (lzma_index_buffer_decode(&index, &memlimit, nullptr, raw.data(), &used, raw.size()) !=
            LZMA_OK) {
            return fail("xz index is corrupt");
        }
        std::uint64_t size = lzma_index_uncompressed_size(index);
        std::uint64_t streamSize = lzma_index_stream_size(index);
        lzma_index_end(index, nullptr);
        if (streamSize > pos || total + size < total) {
            return fail("xz index does not match the file");
        }
        total += size;
        pos -= streamSize;
    }
    return total;
}

}  // namespace

Result<bool> isXzFile(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    }
    std::array<std::uint8_t, 6> head{};
    ssize_t n = ::read(fd.get(), head.data(), head.size());
    return n == static_cast<ssize_t>(head.size()) && head == kXzMagic;
}

Result<std::uint64_t> decompressXz(
    const fs::path& src, const fs::path& dest,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress, std::uint64_t maxBytes,
    bool* hitLimit) {
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        return fail(fmt::format("{}: cannot open: {}", src.string(), std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) {
        return fail(fmt::format("{}: cannot stat: {}", src.string(), std::strerror(errno)));
    }
    auto declared = declaredSize(in.get(), static_cast<std::uint64_t>(st.st_size));
    if (!declared) {
        return fail(fmt::format("{}: {}", src.string(), declared.error().message));
    }
    if (*declared > maxBytes) {
        if (hitLimit != nullptr) {
            *hitLimit = true;
        }
        return fail(
            fmt::format("{}: decompresses to {} bytes (its index says), more than the "
                        "limit of {}",
                        src.string(), *declared, maxBytes));
    }
    Fd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) {
        return fail(fmt::format("{}: cannot create: {}", dest.string(), std::strerror(errno)));
    }
    LzmaStream strm;
    lzma_ret ret = lzma_stream_decoder(strm.get(), kMemLimit, LZMA_CONCATENATED);
    if (ret != LZMA_OK) {
        return fail(fmt::format("{}: {}", src.string(), lzmaError(ret)));
    }
    std::vector<std::uint8_t> ibuf(kInChunk);
    std::vector<std::uint8_t> obuf(kOutChunk);
    lzma_stream* s = strm.get();
    s->next_out = obuf.data();
    s->avail_out = obuf.size();
    std::uint64_t readTotal = 0;
    std::uint64_t written = 0;
    lzma_action action = LZMA_RUN;
    while (true) {
        if (s->avail_in == 0 && action == LZMA_RUN) {
            ssize_t n = ::read(in.get(), ibuf.data(), ibuf.size());
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(fmt::format("{}: read error: {}", src.string(), std::strerror(errno)));
            }
            s->next_in = ibuf.data();
            s->avail_in = static_cast<std::size_t>(n);
            readTotal += static_cast<std::uint64_t>(n);
            if (n == 0) {
                action = LZMA_FINISH;
            }
            if (progress) {
                progress(readTotal, static_cast<std::uint64_t>(st.st_size));
            }
        }
        ret = lzma_code(s, action);
        if (s->avail_out == 0 || ret == LZMA_STREAM_END) {
            std::size_t n = obuf.size() - s->avail_out;
            // Stop at the declared size rather than after the stream (a
            // 156 KB file wrote 1 GB before liblzma compared the index).
            if (n > *declared - written) {
                return fail(
                    fmt::format("{}: decompresses to more than the {} bytes its index "
                                "declares (corrupt or crafted file)",
                                src.string(), *declared));
            }
            if (auto r = writeOrSkip(out.get(), obuf.data(), n, dest); !r) {
                return tl::unexpected(r.error());
            }
            written += n;
            s->next_out = obuf.data();
            s->avail_out = obuf.size();
        }
        if (ret == LZMA_STREAM_END) {
            break;
        }
        if (ret != LZMA_OK) {
            return fail(fmt::format("{}: {} after {} compressed bytes", src.string(),
                                    lzmaError(ret), readTotal));
        }
    }
    if (::ftruncate(out.get(), static_cast<off_t>(written)) != 0) {
        return fail(fmt::format("{}: truncate failed: {}", dest.string(), std::strerror(errno)));
    }
    return written;
}

}  // namespace pinet::io
