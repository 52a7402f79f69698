#include "app/image/in_place.h"

#include <algorithm>

#include <fmt/format.h>

#include "io/file.h"

namespace pinet::app {

namespace disk = proto::disk;

MapBootFiles::MapBootFiles(io::FileReadAt image, std::vector<disk::BootMapFile> files)
    : image_(std::move(image)), files_(std::move(files)) {}

const disk::BootMapFile* MapBootFiles::find(std::string_view path) const {
    auto it = std::lower_bound(files_.begin(), files_.end(), path,
                               [](const disk::BootMapFile& f, std::string_view p) {
                                   return std::string_view(f.path) < p;
                               });
    return it != files_.end() && it->path == path ? &*it : nullptr;
}

bool MapBootFiles::exists(std::string_view path) const {
    return find(path) != nullptr;
}

Result<void> MapBootFiles::readFile(
    const disk::BootMapFile& file,
    const std::function<Result<void>(std::span<const std::uint8_t>)>& sink) const {
    constexpr std::uint64_t kPiece = 1 << 20;
    std::vector<std::uint8_t> buf;
    for (const auto& e : file.extents) {
        for (std::uint64_t done = 0; done < e.length;) {
            const std::uint64_t n = std::min(kPiece, e.length - done);
            buf.resize(static_cast<std::size_t>(n));
            if (auto r = image_.read(e.offset + done, buf); !r) {
                return fail(fmt::format("{}: {}", file.path, r.error().message));
            }
            if (auto r = sink(buf); !r) {
                return r;
            }
            done += n;
        }
    }
    return {};
}

std::optional<std::string> MapBootFiles::read(std::string_view path) const {
    const auto* f = find(path);
    if (f == nullptr) {
        return std::nullopt;
    }
    // BootFiles readers need config files only: bounded as DirBootFiles bounds them.
    std::string out;
    auto r = readFile(*f, [&](std::span<const std::uint8_t> d) -> Result<void> {
        const std::size_t room = proto::netboot::kMaxBootConfigBytes + 1 - out.size();
        out.append(reinterpret_cast<const char*>(d.data()), std::min(room, d.size()));
        return out.size() > proto::netboot::kMaxBootConfigBytes ? fail("long enough")
                                                                : Result<void>{};
    });
    if (!r && out.size() <= proto::netboot::kMaxBootConfigBytes) {
        return std::nullopt;  // a read error: as if absent
    }
    return out;
}

Result<MapBootFiles> openInPlace(const ImageInfo& info) {
    if (!info.inPlace) {
        return fail(fmt::format("image \"{}\" is not served in place", info.name));
    }
    auto now = io::fileIdentity(info.source);
    if (!now) {
        return fail(
            fmt::format("image \"{}\": its file {} is gone (pinetboot image remove {} "
                        "unregisters it)",
                        info.name, info.source, info.name));
    }
    const std::uint64_t size = now->size;
    if (size != info.sourceSize || now->mtimeNs != info.sourceMtime) {
        return fail(fmt::format(
            "image \"{}\": {} changed since `image add` (size {} -> {}, mtime changed: {}); its "
            "map no longer says where the files are: pinetboot image remove {} and add it again",
            info.name, info.source, info.sourceSize, size,
            now->mtimeNs != info.sourceMtime ? "yes" : "no", info.name));
    }
    auto map = io::fileIdentity(info.bootMap());
    if (!map || map->size > kMaxBootMapBytes) {
        return fail(fmt::format("image \"{}\": {} is missing or larger than {} bytes", info.name,
                                info.bootMap().string(), kMaxBootMapBytes));
    }
    auto raw = io::readFile(info.bootMap());
    if (!raw) {
        return tl::unexpected(raw.error());
    }
    auto files = disk::decodeBootMap(
        std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()), size);
    if (!files) {
        return fail(fmt::format("{}: {}", info.bootMap().string(), files.error().message));
    }
    auto image = io::openReadAt(info.source);
    if (!image) {
        return tl::unexpected(image.error());
    }
    return MapBootFiles(std::move(*image), std::move(*files));
}

}  // namespace pinet::app
