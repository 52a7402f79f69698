#include "io/compress/image_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "io/fd.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kInChunk = 1 << 20;
constexpr std::size_t kOutChunk = 4 << 20;
// Hole granularity of the output: a 64 KiB run of zeros is skipped, not
// written (ext4 and XFS allocate in 4 KiB blocks; fewer seeks than that).
constexpr std::size_t kHoleBlock = 64 << 10;

std::string errnoText() {
    return std::strerror(errno);
}

/// A file written front to back in which all-zero blocks become holes.
class SparseWriter {
public:
    Result<void> create(const fs::path& dest) {
        dest_ = dest;
        fd_ = Fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!fd_) {
            return fail(fmt::format("{}: cannot create: {}", dest.string(), errnoText()));
        }
        return {};
    }
    Result<void> write(std::span<const std::uint8_t> data) {
        while (!data.empty()) {
            const std::size_t n = std::min(data.size(), kHoleBlock);
            auto block = data.first(n);
            if (std::all_of(block.begin(), block.end(), [](std::uint8_t b) { return b == 0; })) {
                if (::lseek(fd_.get(), static_cast<off_t>(n), SEEK_CUR) < 0) {
                    return fail(fmt::format("{}: seek failed: {}", dest_.string(), errnoText()));
                }
            } else {
                std::size_t done = 0;
                while (done < n) {
                    ssize_t w = ::write(fd_.get(), block.data() + done, n - done);
                    if (w < 0 && errno == EINTR) {
                        continue;
                    }
                    if (w <= 0) {
                        return fail(
                            fmt::format("{}: write failed: {}", dest_.string(), errnoText()));
                    }
                    done += static_cast<std::size_t>(w);
                }
            }
            written_ += n;
            data = data.subspan(n);
        }
        return {};
    }
    /// Sets the length (a trailing hole is no length until truncated).
    Result<void> finish() {
        if (::ftruncate(fd_.get(), static_cast<off_t>(written_)) != 0) {
            return fail(fmt::format("{}: truncate failed: {}", dest_.string(), errnoText()));
        }
        fd_.reset();
        return {};
    }
    [[nodiscard]] std::uint64_t written() const { return written_; }

private:
    fs::path dest_;
    Fd fd_;
    std::uint64_t written_ = 0;
};

std::string zlibError(int r, const z_stream& s) {
    if (s.msg != nullptr) {
        return fmt::format("corrupt gzip data ({})", proto::text::safeText(s.msg, 200));
    }
    switch (r) {
        case Z_MEM_ERROR: return "out of memory";
        case Z_DATA_ERROR: return "corrupt gzip data";
        case Z_BUF_ERROR: return "gzip stream ends early (truncated file?)";
        default: return fmt::format("zlib error {}", r);
    }
}

class Inflater {
public:
    Inflater() = default;
    ~Inflater() {
        if (ready_) {
            inflateEnd(&s_);
        }
    }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    int init() {
        // 16 + MAX_WBITS: a gzip wrapper (RFC 1952), not zlib's own (zlib.h).
        int r = inflateInit2(&s_, 16 + MAX_WBITS);
        ready_ = r == Z_OK;
        return r;
    }
    z_stream* get() { return &s_; }

private:
    z_stream s_{};
    bool ready_ = false;
};

/// Where decoded bytes go: first the head (for the bound), then the file
/// up to the bound, then nowhere; more than maxBytes in all fails.
class BoundedOutput {
public:
    BoundedOutput(SparseWriter& w, std::uint64_t maxBytes, const OutputBound& bound)
        : w_(w), max_(maxBytes), bound_(bound) {}

    [[nodiscard]] bool overLimit() const { return over_; }

    Result<void> add(std::span<const std::uint8_t> data) {
        if (data.size() > max_ - decoded_) {
            over_ = true;
            return fail(fmt::format("decompresses to more than the limit of {} bytes", max_));
        }
        decoded_ += data.size();
        if (!limit_) {
            const std::size_t take = std::min(data.size(), kBoundHeadBytes - head_.size());
            head_.insert(head_.end(), data.begin(), data.begin() + static_cast<long>(take));
            data = data.subspan(take);
            if (head_.size() < kBoundHeadBytes) {
                return {};
            }
            if (auto r = decideLimit(); !r) {
                return r;
            }
        }
        return writeBounded(data);
    }
    /// At the end of the stream: a head shorter than kBoundHeadBytes is the whole output.
    Result<void> finish() {
        if (!limit_) {
            if (auto r = decideLimit(); !r) {
                return r;
            }
        }
        return {};
    }

private:
    Result<void> decideLimit() {
        limit_ = max_;
        if (bound_) {
            auto b = bound_(head_);
            if (!b) {
                return tl::unexpected(b.error());
            }
            limit_ = std::min(*b, max_);
        }
        std::vector<std::uint8_t> head = std::move(head_);
        head_.clear();
        return writeBounded(head);
    }
    Result<void> writeBounded(std::span<const std::uint8_t> data) {
        const std::uint64_t room = *limit_ - w_.written();
        if (data.size() > room) {
            data = data.first(static_cast<std::size_t>(room));
        }
        return w_.write(data);
    }

    SparseWriter& w_;
    std::uint64_t max_;
    const OutputBound& bound_;
    std::uint64_t decoded_ = 0;
    std::vector<std::uint8_t> head_;
    std::optional<std::uint64_t> limit_;
    bool over_ = false;
};

struct ZipCloser {
    void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
    void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string zipOpenError(int code) {
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    std::string text = zip_error_strerror(&e);
    zip_error_fini(&e);
    return text;
}

bool endsWithImg(const std::string& name) {
    if (name.size() < 4) {
        return false;
    }
    std::string tail = name.substr(name.size() - 4);
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return tail == ".img";
}

std::string nameList(const std::vector<std::string>& names) {
    // A crafted archive may list thousands: the first few say enough.
    constexpr std::size_t kShown = 5;
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i) {
        out += (out.empty() ? "" : ", ") + names[i];
    }
    if (names.size() > kShown) {
        out += fmt::format(" and {} more", names.size() - kShown);
    }
    return out;
}

}  // namespace

std::string_view imageFormatName(ImageFormat f) {
    switch (f) {
        case ImageFormat::Raw: return "raw";
        case ImageFormat::Xz: return "xz";
        case ImageFormat::Gzip: return "gzip";
        case ImageFormat::Zip: return "zip";
        case ImageFormat::Bzip2: return "bzip2";
        case ImageFormat::Zstd: break;
    }
    return "zstd";
}

ImageFormat detectImageFormat(std::span<const std::uint8_t> h) {
    auto starts = [&](std::initializer_list<std::uint8_t> magic) {
        return h.size() >= magic.size() && std::equal(magic.begin(), magic.end(), h.begin());
    };
    if (starts({0xFD, '7', 'z', 'X', 'Z', 0x00})) {
        return ImageFormat::Xz;
    }
    if (starts({0x1F, 0x8B})) {
        return ImageFormat::Gzip;
    }
    if (starts({'P', 'K', 0x03, 0x04}) || starts({'P', 'K', 0x05, 0x06})) {
        return ImageFormat::Zip;
    }
    if (starts({'B', 'Z', 'h'})) {
        return ImageFormat::Bzip2;
    }
    if (starts({0x28, 0xB5, 0x2F, 0xFD})) {
        return ImageFormat::Zstd;
    }
    return ImageFormat::Raw;
}

Result<ImageFormat> detectImageFormat(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail(fmt::format("{}: cannot open: {}", path.string(), errnoText()));
    }
    std::array<std::uint8_t, 8> head{};
    std::size_t got = 0;
    while (got < head.size()) {
        ssize_t n = ::read(fd.get(), head.data() + got, head.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(fmt::format("{}: read error: {}", path.string(), errnoText()));
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    return detectImageFormat(std::span<const std::uint8_t>(head.data(), got));
}

Result<std::uint64_t> decompressGzip(const fs::path& src, const fs::path& dest,
                                     std::uint64_t maxBytes, const OutputBound& bound,
                                     const ByteProgress& progress, bool* hitLimit) {
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        return fail(fmt::format("{}: cannot open: {}", src.string(), errnoText()));
    }
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) {
        return fail(fmt::format("{}: cannot stat: {}", src.string(), errnoText()));
    }
    const auto total = static_cast<std::uint64_t>(S_ISREG(st.st_mode) ? st.st_size : 0);
    SparseWriter w;
    if (auto r = w.create(dest); !r) {
        return tl::unexpected(r.error());
    }
    BoundedOutput out(w, maxBytes, bound);
    Inflater inf;
    if (int r = inf.init(); r != Z_OK) {
        return fail(fmt::format("{}: zlib: {}", src.string(), zlibError(r, *inf.get())));
    }
    z_stream* s = inf.get();
    std::vector<std::uint8_t> ibuf(kInChunk);
    std::vector<std::uint8_t> obuf(kOutChunk);
    std::uint64_t readTotal = 0;
    bool eof = false;
    bool ended = false;  // the last member ended and no byte followed it yet
    while (true) {
        if (s->avail_in == 0 && !eof) {
            ssize_t n = ::read(in.get(), ibuf.data(), ibuf.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return fail(fmt::format("{}: read error: {}", src.string(), errnoText()));
            }
            eof = n == 0;
            s->next_in = ibuf.data();
            s->avail_in = static_cast<uInt>(n);
            readTotal += static_cast<std::uint64_t>(n);
            if (progress) {
                progress(readTotal, total);
            }
        }
        if (s->avail_in == 0 && eof) {
            if (ended) {
                break;
            }
            return fail(
                fmt::format("{}: gzip stream ends early after {} compressed bytes "
                            "(truncated file?)",
                            src.string(), readTotal));
        }
        if (ended) {
            // More bytes after a member: the next member (RFC 1952 2.2), checked as one.
            inflateReset(s);
            ended = false;
        }
        s->next_out = obuf.data();
        s->avail_out = static_cast<uInt>(obuf.size());
        int r = inflate(s, Z_NO_FLUSH);
        const std::size_t n = obuf.size() - s->avail_out;
        if (n > 0) {
            if (auto a = out.add(std::span<const std::uint8_t>(obuf.data(), n)); !a) {
                if (hitLimit != nullptr) {
                    *hitLimit = out.overLimit();
                }
                return fail(fmt::format("{}: {}", src.string(), a.error().message));
            }
        }
        if (r == Z_STREAM_END) {
            ended = true;
            continue;
        }
        if (r == Z_BUF_ERROR && s->avail_in == 0) {
            continue;  // wants more input
        }
        if (r != Z_OK) {
            return fail(fmt::format("{}: {} after {} compressed bytes", src.string(),
                                    zlibError(r, *s), readTotal));
        }
    }
    if (auto r = out.finish().and_then([&] { return w.finish(); }); !r) {
        return fail(fmt::format("{}: {}", src.string(), r.error().message));
    }
    return w.written();
}

Result<ZipImage> extractZipImage(const fs::path& src, const fs::path& dest, std::uint64_t maxBytes,
                                 const ByteProgress& progress, bool* hitLimit) {
    int code = 0;
    // ZIP_CHECKCONS: libzip compares the central directory with the local
    // headers, so an archive built to disagree with itself is refused.
    std::unique_ptr<zip_t, ZipCloser> za(zip_open(src.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!za) {
        return fail(
            fmt::format("{}: not a readable zip archive: {}", src.string(), zipOpenError(code)));
    }
    const zip_int64_t count = zip_get_num_entries(za.get(), 0);
    std::vector<zip_uint64_t> files;
    std::vector<zip_uint64_t> images;
    std::vector<std::string> fileNames;
    std::vector<std::string> imageNames;
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(za.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 ||
            (st.valid & ZIP_STAT_NAME) == 0) {
            return fail(fmt::format("{}: entry {}: {}", src.string(), i, zip_strerror(za.get())));
        }
        std::string name = st.name;
        if (!name.empty() && name.back() == '/') {
            continue;  // a directory
        }
        const std::string shown = proto::text::safeText(name, 200);
        files.push_back(static_cast<zip_uint64_t>(i));
        fileNames.push_back(shown);
        if (endsWithImg(name)) {
            images.push_back(static_cast<zip_uint64_t>(i));
            imageNames.push_back(shown);
        }
    }
    zip_uint64_t pick = 0;
    std::string pickName;
    if (images.size() == 1) {
        pick = images[0];
        pickName = imageNames[0];
    } else if (images.size() > 1) {
        return fail(fmt::format(
            "{}: holds {} images ({}); which one is meant is not clear: unzip it and import "
            "each .img by itself",
            src.string(), images.size(), nameList(imageNames)));
    } else if (files.size() == 1) {
        pick = files[0];
        pickName = fileNames[0];
    } else if (files.empty()) {
        return fail(fmt::format("{}: the zip archive is empty", src.string()));
    } else {
        return fail(fmt::format("{}: holds {} files and no .img among them ({})", src.string(),
                                files.size(), nameList(fileNames)));
    }
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za.get(), pick, 0, &st) != 0) {
        return fail(fmt::format("{}: {}: {}", src.string(), pickName, zip_strerror(za.get())));
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
        return fail(fmt::format(
            "{}: {} is encrypted; pinetboot takes no passwords: unzip it first (unzip asks for "
            "the password) and import the .img",
            src.string(), pickName));
    }
    if ((st.valid & ZIP_STAT_SIZE) == 0) {
        return fail(
            fmt::format("{}: {}: the archive does not say its size", src.string(), pickName));
    }
    const std::uint64_t declared = st.size;
    if (declared > maxBytes) {
        if (hitLimit != nullptr) {
            *hitLimit = true;
        }
        return fail(fmt::format("{}: {} is {} bytes, more than the limit of {}", src.string(),
                                pickName, declared, maxBytes));
    }
    std::unique_ptr<zip_file_t, ZipFileCloser> zf(zip_fopen_index(za.get(), pick, 0));
    if (!zf) {
        return fail(fmt::format("{}: {}: {}", src.string(), pickName, zip_strerror(za.get())));
    }
    SparseWriter w;
    if (auto r = w.create(dest); !r) {
        return tl::unexpected(r.error());
    }
    std::vector<std::uint8_t> buf(kOutChunk);
    while (true) {
        zip_int64_t n = zip_fread(zf.get(), buf.data(), buf.size());
        if (n < 0) {
            return fail(fmt::format("{}: {}: {} after {} bytes", src.string(), pickName,
                                    zip_file_strerror(zf.get()), w.written()));
        }
        if (n == 0) {
            break;
        }
        const auto got = static_cast<std::uint64_t>(n);
        // The directory's size is the bound: a stream that gives more stops here.
        if (got > declared - w.written()) {
            return fail(
                fmt::format("{}: {} decompresses to more than the {} bytes the archive declares "
                            "(corrupt or crafted file)",
                            src.string(), pickName, declared));
        }
        if (auto r = w.write(std::span<const std::uint8_t>(buf.data(), got)); !r) {
            return tl::unexpected(r.error());
        }
        if (progress) {
            progress(w.written(), declared);
        }
    }
    if (w.written() != declared) {
        return fail(fmt::format("{}: {} ends after {} of its {} bytes (truncated archive?)",
                                src.string(), pickName, w.written(), declared));
    }
    if (auto r = w.finish(); !r) {
        return tl::unexpected(r.error());
    }
    return ZipImage{pickName, w.written()};
}

Result<std::uint64_t> copyStreamToFile(int fd, const fs::path& dest, std::uint64_t maxBytes,
                                       const ByteProgress& progress, bool* hitLimit) {
    SparseWriter w;
    if (auto r = w.create(dest); !r) {
        return tl::unexpected(r.error());
    }
    std::vector<std::uint8_t> buf(kInChunk);
    while (true) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(fmt::format("standard input: read error: {}", errnoText()));
        }
        if (n == 0) {
            break;
        }
        const auto got = static_cast<std::uint64_t>(n);
        if (got > maxBytes - w.written()) {
            if (hitLimit != nullptr) {
                *hitLimit = true;
            }
            return fail(
                fmt::format("standard input gives more than the limit of {} bytes", maxBytes));
        }
        if (auto r = w.write(std::span<const std::uint8_t>(buf.data(), got)); !r) {
            return tl::unexpected(r.error());
        }
        if (progress) {
            progress(w.written(), 0);
        }
    }
    if (auto r = w.finish(); !r) {
        return tl::unexpected(r.error());
    }
    return w.written();
}

}  // namespace pinet::io
