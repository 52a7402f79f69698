#include "app/tftp/in_place_source.h"

#include <algorithm>

#include <fmt/format.h>

#include "app/image/in_place.h"
#include "io/file.h"
#include "io/file_cache.h"
#include "io/fs/file_ops.h"
#include "proto/tftp/netascii.h"

namespace pinet::app {

namespace disk = proto::disk;
using core::tftp::FileContent;
using core::tftp::FileError;

namespace {

std::string foldAscii(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

/// One run: every extent starts where the one before ended.
bool contiguous(const disk::BootMapFile& f) {
    for (std::size_t i = 1; i < f.extents.size(); ++i) {
        if (f.extents[i].offset != f.extents[i - 1].offset + f.extents[i - 1].length) {
            return false;
        }
    }
    return true;
}

}  // namespace

Result<std::shared_ptr<const InPlaceView>> InPlaceView::open(const ImageInfo& info) {
    auto files = openInPlace(info);  // identity, bounds and the map checked there
    if (!files) {
        return tl::unexpected(files.error());
    }
    auto fd = io::openRegularFile(info.source);
    if (!fd) {
        return fail(
            fmt::format("image \"{}\": {}: {}", info.name, info.source, io::toString(fd.error())));
    }
    // Opened after the check: the file held open must be the one checked.
    auto size = io::fileSize(fd->get());
    if (!size || *size != info.sourceSize) {
        return fail(
            fmt::format("image \"{}\": {} changed while being opened", info.name, info.source));
    }
    auto mapId = io::fileIdentity(info.bootMap());
    std::shared_ptr<InPlaceView> v(new InPlaceView());
    v->image_ = info.name;
    v->sourceSize_ = info.sourceSize;
    v->sourceMtime_ = info.sourceMtime;
    v->mapMtime_ = mapId ? mapId->mtimeNs : 0;
    v->fd_ = std::move(*fd);
    v->files_ = files->files();
    for (std::size_t i = 0; i < v->files_.size(); ++i) {
        // The first of names that differ only in case wins, as in a FAT directory
        // (which cannot hold both).
        v->folded_.emplace(foldAscii(v->files_[i].path), i);
    }
    return std::shared_ptr<const InPlaceView>(std::move(v));
}

const disk::BootMapFile* InPlaceView::find(std::string_view path) const {
    auto it = std::lower_bound(files_.begin(), files_.end(), path,
                               [](const disk::BootMapFile& f, std::string_view p) {
                                   return std::string_view(f.path) < p;
                               });
    if (it != files_.end() && it->path == path) {
        return &*it;
    }
    if (auto f = folded_.find(foldAscii(path)); f != folded_.end()) {
        return &files_[f->second];
    }
    return nullptr;
}

bool InPlaceView::current(const ImageInfo& info) const {
    auto mapId = io::fileIdentity(info.bootMap());
    return info.name == image_ && info.sourceSize == sourceSize_ &&
           info.sourceMtime == sourceMtime_ && mapId && mapId->mtimeNs == mapMtime_;
}

InPlaceFileSource::InPlaceFileSource(core::tftp::FileSource& folder)
    : InPlaceFileSource(folder, Options{}) {}
InPlaceFileSource::InPlaceFileSource(core::tftp::FileSource& folder, Options options)
    : folder_(folder), options_(options) {}

void InPlaceFileSource::setViews(std::shared_ptr<const InPlaceViews> views) {
    std::lock_guard lock(mutex_);
    views_ = std::move(views);
    // Entries of views no longer listed go when idle: their transfers hold what they use.
    for (auto it = entries_.begin(); it != entries_.end();) {
        const bool listed =
            views_ && std::any_of(views_->begin(), views_->end(), [&](const auto& kv) {
                return kv.second.get() == it->first.view;
            });
        if (!listed && it->second.blob.use_count() == 1) {
            totalBytes_ -= it->second.blob->bytes().size();
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

tl::expected<std::shared_ptr<const FileContent>, FileError> InPlaceFileSource::open(
    const std::string& relPath, bool netascii) {
    auto own = folder_.open(relPath, netascii);
    if (own || own.error() != FileError::NotFound) {
        return own;  // the client's own files (its cmdline.txt) come first
    }
    std::shared_ptr<const InPlaceViews> views;
    {
        std::lock_guard lock(mutex_);
        views = views_;
    }
    if (!views || views->empty()) {
        return own;
    }
    // The request's directory, then each parent: "SERIAL/overlays/x.dtbo" is looked up
    // under "SERIAL/overlays", then "SERIAL" (a registry boot_dir may be nested).
    std::shared_ptr<const InPlaceView> view;
    std::string_view rest;
    const std::string_view path(relPath);
    for (auto slash = path.rfind('/'); slash != std::string_view::npos && slash > 0;
         slash = path.rfind('/', slash - 1)) {
        if (auto it = views->find(path.substr(0, slash)); it != views->end()) {
            view = it->second;
            rest = path.substr(slash + 1);
            break;
        }
    }
    if (!view) {
        return own;
    }
    const auto* file = view->find(rest);
    if (file == nullptr) {
        return own;
    }
    const Key key{view.get(), file, netascii};
    {
        std::lock_guard lock(mutex_);
        if (auto it = entries_.find(key); it != entries_.end()) {
            it->second.lastUse = ++useCounter_;
            ++stats_.hits;
            return it->second.blob;
        }
    }
    auto blob = load(*view, *file, netascii);
    if (!blob) {
        return blob;
    }
    std::lock_guard lock(mutex_);
    ++stats_.misses;
    auto [it, inserted] = entries_.emplace(key, Entry{view, *blob, ++useCounter_});
    if (inserted) {
        totalBytes_ += (*blob)->bytes().size();
        evictLocked();
    }
    return it->second.blob;
}

tl::expected<std::shared_ptr<const FileContent>, FileError> InPlaceFileSource::load(
    const InPlaceView& view, const disk::BootMapFile& file, bool netascii) const {
    if (!netascii && contiguous(file)) {
        const std::uint64_t offset = file.extents.empty() ? 0 : file.extents.front().offset;
        auto mapped = io::mapFileRange(view.fd(), offset, file.size);
        if (!mapped) {
            return tl::unexpected(io::toFileError(mapped.error()));
        }
        return std::move(*mapped);
    }
    // Fragmented, or text to convert: read once (bounded: a fragmented file is a boot
    // file the map bounds; netascii by maxNetasciiBytes, since it only grows).
    if ((netascii && file.size > options_.maxNetasciiBytes) || file.size > options_.maxCopyBytes) {
        return tl::unexpected(FileError::TooLarge);
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(file.size));
    std::size_t at = 0;
    for (const auto& e : file.extents) {
        auto r = io::readFileRange(
            view.fd(), e.offset, std::span(bytes).subspan(at, static_cast<std::size_t>(e.length)));
        if (!r) {
            return tl::unexpected(io::toFileError(r.error()));
        }
        at += static_cast<std::size_t>(e.length);
    }
    if (netascii) {
        if (proto::tftp::netasciiSize(bytes) > options_.maxNetasciiBytes) {
            return tl::unexpected(FileError::TooLarge);
        }
        return io::ownedBlob(proto::tftp::encodeNetascii(bytes));
    }
    return io::ownedBlob(std::move(bytes));
}

void InPlaceFileSource::evictLocked() {
    // Least recently used first, and only what no transfer holds (as io::FileCache).
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

InPlaceFileSource::Stats InPlaceFileSource::stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.entries = entries_.size();
    s.bytes = totalBytes_;
    return s;
}

}  // namespace pinet::app
