#include "proto/disk/xattr_manifest.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include <fmt/format.h>

namespace pinet::proto::disk {

namespace {

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

bool isValidName(std::string_view name) {
    return !name.empty() && name.size() <= kMaxXattrName &&
           name.find('\0') == std::string_view::npos;
}

}  // namespace

XattrRoute routeXattr(std::string_view name) {
    if (startsWith(name, "trusted.")) {
        return XattrRoute::Drop;
    }
    if (startsWith(name, "security.") && name != "security.capability") {
        return XattrRoute::Parent;
    }
    return XattrRoute::Child;
}

bool isValidRecordPath(std::string_view path) {
    if (path.empty()) {
        return true;
    }
    if (path.size() > kMaxXattrPath || path.find('\0') != std::string_view::npos) {
        return false;
    }
    std::size_t pos = 0;
    while (true) {
        std::size_t slash = path.find('/', pos);
        std::string_view part =
            path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        pos = slash + 1;
    }
}

Result<void> appendXattrRecord(std::string& out, std::string_view path, std::string_view name,
                               std::span<const std::uint8_t> value) {
    if (!isValidRecordPath(path)) {
        return fail(fmt::format("extended attribute on an unusable path ({} bytes)", path.size()));
    }
    if (!isValidName(name)) {
        return fail(fmt::format("extended attribute name of {} bytes (the kernel allows {})",
                                name.size(), kMaxXattrName));
    }
    if (value.size() > kMaxXattrValue) {
        return fail(fmt::format("extended attribute value of {} bytes (the kernel allows {})",
                                value.size(), kMaxXattrValue));
    }
    const auto p = static_cast<std::uint16_t>(path.size());
    const auto n = static_cast<std::uint8_t>(name.size());
    const auto v = static_cast<std::uint32_t>(value.size());
    const std::array<char, kXattrRecordHeader> head = {static_cast<char>(p & 0xFF),
                                                       static_cast<char>(p >> 8),
                                                       static_cast<char>(n),
                                                       static_cast<char>(v & 0xFF),
                                                       static_cast<char>((v >> 8) & 0xFF),
                                                       static_cast<char>((v >> 16) & 0xFF),
                                                       static_cast<char>((v >> 24) & 0xFF)};
    out.append(head.data(), head.size());
    out.append(path);
    out.append(name);
    out.append(value.begin(), value.end());
    return {};
}

Result<std::optional<XattrRecord>> XattrManifestReader::next() {
    if (pos_ == 0) {
        if (size_ == 0) {
            return std::optional<XattrRecord>{};  // nothing was recorded
        }
        std::array<std::uint8_t, kXattrManifestMagic.size()> magic{};
        if (size_ < magic.size() || !read_(0, magic)) {
            return fail("extended attribute manifest: too short");
        }
        if (!std::equal(magic.begin(), magic.end(), kXattrManifestMagic.begin(),
                        [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
            return fail("extended attribute manifest: bad magic");
        }
        pos_ = magic.size();
    }
    if (pos_ == size_) {
        return std::optional<XattrRecord>{};
    }
    std::array<std::uint8_t, kXattrRecordHeader> head{};
    if (size_ - pos_ < head.size()) {
        return fail(fmt::format("extended attribute manifest: cut short at byte {}", pos_));
    }
    if (auto r = read_(pos_, head); !r) {
        return tl::unexpected(r.error());
    }
    const std::size_t p = head[0] | (std::size_t{head[1]} << 8);
    const std::size_t n = head[2];
    const std::size_t v = head[3] | (std::size_t{head[4]} << 8) | (std::size_t{head[5]} << 16) |
                          (std::size_t{head[6]} << 24);
    if (p > kMaxXattrPath || n == 0 || v > kMaxXattrValue) {
        return fail(fmt::format(
            "extended attribute manifest: record at byte {} breaks a limit (path {}, name {}, "
            "value {} bytes)",
            pos_, p, n, v));
    }
    const std::uint64_t body = pos_ + head.size();
    if (size_ - body < p + n + v) {
        return fail(fmt::format("extended attribute manifest: cut short at byte {}", pos_));
    }
    std::vector<std::uint8_t> buf(p + n + v);  // at most 4096 + 255 + 64 KiB
    if (auto r = read_(body, buf); !r) {
        return tl::unexpected(r.error());
    }
    const auto at = [&](std::size_t off) {
        return buf.begin() + static_cast<std::ptrdiff_t>(off);
    };
    XattrRecord rec;
    rec.path.assign(at(0), at(p));
    rec.name.assign(at(p), at(p + n));
    rec.value.assign(at(p + n), buf.end());
    if (!isValidRecordPath(rec.path) || !isValidName(rec.name)) {
        return fail(fmt::format(
            "extended attribute manifest: record at byte {} has an invalid path or name", pos_));
    }
    pos_ = body + p + n + v;
    return std::optional<XattrRecord>{std::move(rec)};
}

}  // namespace pinet::proto::disk
