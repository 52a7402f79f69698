#include "proto/netboot/tree_manifest.h"

#include <charconv>

#include <fmt/format.h>

#include "proto/text/safe_text.h"

namespace pinet::proto::netboot {

namespace {

constexpr std::size_t kShaHex = 64;  // SHA-256: 32 bytes, two hex digits each

bool isLowerHex(std::string_view s) {
    for (const char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string validity(const TreeEntry& e) {
    if (e.sha256.size() != kShaHex || !isLowerHex(e.sha256)) {
        return "its SHA-256 is not 64 lowercase hex digits";
    }
    if (!isValidTreePath(e.path)) {
        return "its path is not a printable relative path without . or .. components";
    }
    return {};
}

}  // namespace

bool isValidTreePath(std::string_view path) {
    // Printable as safeText makes it (its \xHH escapes and their backslashes kept); a
    // leading space would be lost between SIZE and PATH by a reader that trims.
    if (path.empty() || path.size() > kMaxTreePath || path.front() == ' ' ||
        text::safeText(path, kMaxTreePath, text::Backslash::Keep) != path) {
        return false;
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return true;
}

Result<std::string> encodeTreeManifest(const std::vector<TreeEntry>& entries) {
    if (entries.size() > kMaxTreeEntries) {
        return fail(fmt::format("{} entries: a manifest holds at most {}", entries.size(),
                                kMaxTreeEntries));
    }
    std::string out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const TreeEntry& e = entries[i];
        if (auto why = validity(e); !why.empty()) {
            return fail(fmt::format("entry {}: {}", i + 1, why));
        }
        if (i > 0 && !(entries[i - 1].path < e.path)) {
            return fail(fmt::format("entry {} ({}): not after {} (sorted, no duplicates)", i + 1,
                                    e.path, entries[i - 1].path));
        }
        out += e.kind == TreeEntry::Kind::File ? 'f' : 'l';
        out += ' ';
        out += e.sha256;
        out += ' ';
        out += std::to_string(e.size);
        out += ' ';
        out += e.path;
        out += '\n';
    }
    return out;
}

Result<std::vector<TreeEntry>> decodeTreeManifest(std::string_view text) {
    std::vector<TreeEntry> out;
    std::size_t line = 0;
    while (!text.empty()) {
        ++line;
        if (out.size() >= kMaxTreeEntries) {
            return fail(fmt::format("line {}: more than {} entries", line, kMaxTreeEntries));
        }
        const std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) {
            return fail(fmt::format("line {}: no newline at its end", line));
        }
        std::string_view l = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        auto bad = [&](const char* why) {
            return fail(fmt::format("line {}: {}", line, why));
        };
        // "K " + 64 hex + " " + SIZE + " " + PATH
        if (l.size() < 2 + kShaHex + 4 || l[1] != ' ' || l[2 + kShaHex] != ' ') {
            return bad("not \"KIND SHA256 SIZE PATH\"");
        }
        TreeEntry e;
        if (l[0] == 'f') {
            e.kind = TreeEntry::Kind::File;
        } else if (l[0] == 'l') {
            e.kind = TreeEntry::Kind::Link;
        } else {
            return bad("kind is neither f nor l");
        }
        e.sha256 = std::string(l.substr(2, kShaHex));
        std::string_view rest = l.substr(2 + kShaHex + 1);
        const std::size_t sp = rest.find(' ');
        if (sp == std::string_view::npos || sp == 0 || (sp > 1 && rest[0] == '0')) {
            return bad("size is not a decimal number without leading zeros");
        }
        const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + sp, e.size);
        if (ec != std::errc{} || ptr != rest.data() + sp) {
            return bad("size is not a decimal number without leading zeros");
        }
        e.path = std::string(rest.substr(sp + 1));
        if (auto why = validity(e); !why.empty()) {
            return fail(fmt::format("line {}: {}", line, why));
        }
        if (!out.empty() && !(out.back().path < e.path)) {
            return bad("paths are not sorted, or one is listed twice");
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace pinet::proto::netboot
