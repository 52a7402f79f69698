#include "proto/disk/boot_map.h"

#include <charconv>

#include <fmt/format.h>

#include "proto/text/safe_text.h"

namespace pinet::proto::disk {

namespace {

bool validPath(std::string_view path) {
    if (path.empty() || path.size() > kMaxBootMapPath || path.front() == ' ' ||
        text::safeText(path, kMaxBootMapPath, text::Backslash::Keep) != path) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = path.find('/', start);
        const std::string_view part =
            path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

/// Why @p f is not valid in an image of @p imageSize bytes, or "".
std::string invalid(const BootMapFile& f, std::uint64_t imageSize) {
    if (!validPath(f.path)) {
        return "its path is not a printable relative path without . or .. parts";
    }
    if ((f.size == 0) != f.extents.empty()) {
        return "an empty file has no extents, any other has some";
    }
    std::uint64_t total = 0;
    for (const auto& e : f.extents) {
        if (e.length == 0 || e.offset > imageSize || e.length > imageSize - e.offset) {
            return fmt::format("extent {}+{} is empty or outside the image ({} bytes)", e.offset,
                               e.length, imageSize);
        }
        total += e.length;  // cannot overflow: each extent lies inside the image
        if (total > f.size) {
            break;
        }
    }
    if (total != f.size) {
        return fmt::format("its extents hold {} bytes, not its size {}", total, f.size);
    }
    return {};
}

template <typename T>
bool number(std::string_view s, T& out) {
    if (s.empty() || (s.size() > 1 && s[0] == '0') || s[0] == '+' ||
        (s.size() > 1 && s[0] == '-' && s[1] == '0') || s == "-") {
        return false;
    }
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

Result<std::string> encodeBootMap(const std::vector<BootMapFile>& files, std::uint64_t imageSize) {
    if (files.size() > kMaxBootMapFiles) {
        return fail(
            fmt::format("{} files: a map holds at most {}", files.size(), kMaxBootMapFiles));
    }
    std::string out;
    std::size_t extents = 0;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto& f = files[i];
        if (auto why = invalid(f, imageSize); !why.empty()) {
            return fail(fmt::format("{}: {}", f.path, why));
        }
        if (i > 0 && !(files[i - 1].path < f.path)) {
            return fail(
                fmt::format("{}: not after {} (sorted, no duplicates)", f.path, files[i - 1].path));
        }
        extents += f.extents.size();
        if (extents > kMaxBootMapExtents) {
            return fail(fmt::format("more than {} extents", kMaxBootMapExtents));
        }
        out += fmt::format("{} {} ", f.size, f.mtime);
        if (f.extents.empty()) {
            out += '-';
        }
        for (std::size_t k = 0; k < f.extents.size(); ++k) {
            out +=
                fmt::format("{}{}+{}", k == 0 ? "" : ",", f.extents[k].offset, f.extents[k].length);
        }
        out += ' ';
        out += f.path;
        out += '\n';
    }
    return out;
}

Result<std::vector<BootMapFile>> decodeBootMap(std::string_view text, std::uint64_t imageSize) {
    std::vector<BootMapFile> out;
    std::size_t line = 0;
    std::size_t extents = 0;
    while (!text.empty()) {
        ++line;
        auto bad = [&](const std::string& why) {
            return fail(fmt::format("line {}: {}", line, why));
        };
        if (out.size() >= kMaxBootMapFiles) {
            return bad(fmt::format("more than {} files", kMaxBootMapFiles));
        }
        const std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return bad("no newline at its end");
        }
        std::string_view l = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        // SIZE MTIME EXTENTS PATH: three spaces before the path, which may hold more.
        std::string_view field[3];
        for (auto& f : field) {
            const std::size_t sp = l.find(' ');
            if (sp == std::string_view::npos) {
                return bad("not \"SIZE MTIME EXTENTS PATH\"");
            }
            f = l.substr(0, sp);
            l.remove_prefix(sp + 1);
        }
        BootMapFile f;
        if (!number(field[0], f.size)) {
            return bad("size is not a decimal number without leading zeros");
        }
        if (!number(field[1], f.mtime)) {
            return bad("mtime is not a decimal number without leading zeros");
        }
        if (field[2] != "-") {
            std::string_view ex = field[2];
            while (true) {
                if (++extents > kMaxBootMapExtents) {
                    return bad(fmt::format("more than {} extents", kMaxBootMapExtents));
                }
                const std::size_t comma = ex.find(',');
                const std::string_view one = ex.substr(0, comma);
                const std::size_t plus = one.find('+');
                BootMapExtent e;
                if (plus == std::string_view::npos || !number(one.substr(0, plus), e.offset) ||
                    !number(one.substr(plus + 1), e.length)) {
                    return bad("an extent is not OFFSET+LENGTH");
                }
                f.extents.push_back(e);
                if (comma == std::string_view::npos) {
                    break;
                }
                ex.remove_prefix(comma + 1);
            }
        }
        f.path = std::string(l);
        if (auto why = invalid(f, imageSize); !why.empty()) {
            return bad(why);
        }
        if (!out.empty() && !(out.back().path < f.path)) {
            return bad("paths are not sorted, or one is listed twice");
        }
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace pinet::proto::disk
