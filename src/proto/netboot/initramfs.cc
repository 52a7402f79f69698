#include "proto/netboot/initramfs.h"

#include <string_view>

#include <fmt/format.h>

#include "proto/byte_reader.h"

namespace pinet::proto::netboot {

namespace {

// newc header (cpio(5)): 6-byte magic, then 13 fields of 8 hex digits.
constexpr std::size_t kHeader = 110;
constexpr std::size_t kNameSizeField = 6 + 11 * 8;
constexpr std::size_t kFileSizeField = 6 + 6 * 8;
// PATH_MAX: no member name is longer.
constexpr std::uint32_t kMaxName = 4096;

bool hex8(std::span<const std::uint8_t> d, std::size_t at, std::uint32_t& v) {
    v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        auto c = static_cast<char>(d[at + i]);
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= static_cast<std::uint32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return false;
        }
    }
    return true;
}

std::size_t pad4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<std::vector<std::string>> cpioNames(std::span<const std::uint8_t> data) {
    std::vector<std::string> names;
    std::size_t off = 0;
    while (off < data.size()) {
        if (data[off] == 0) {  // padding between archives
            ++off;
            continue;
        }
        if (data.size() - off < kHeader) {
            break;
        }
        const std::string_view magic = asText(data.subspan(off, 6));
        if (magic != "070701" && magic != "070702") {
            break;  // not a newc archive (compressed, or something else)
        }
        std::uint32_t nameSize = 0;
        std::uint32_t fileSize = 0;
        if (!hex8(data, off + kNameSizeField, nameSize) ||
            !hex8(data, off + kFileSizeField, fileSize)) {
            return fail(fmt::format("cpio header at {}: a size field is not hex", off));
        }
        if (nameSize == 0 || nameSize > kMaxName) {
            return fail(fmt::format("cpio header at {}: name size {}", off, nameSize));
        }
        std::size_t nameAt = off + kHeader;
        if (data.size() - nameAt < nameSize) {
            return fail(fmt::format("cpio entry at {}: name runs past the end", off));
        }
        // The name is NUL-terminated; nameSize counts the NUL.
        std::string name(asText(data.subspan(nameAt, nameSize - 1)));
        std::size_t dataAt = pad4(nameAt + nameSize);
        std::size_t next = pad4(dataAt + fileSize);
        if (dataAt > data.size() || next > data.size() + 3) {
            return fail(fmt::format("cpio entry {} at {}: data runs past the end", name, off));
        }
        if (name == "TRAILER!!!") {
            off = next;
            continue;
        }
        names.push_back(std::move(name));
        off = next;
    }
    return names;
}

NbdInitramfs nbdSupport(const std::vector<std::string>& names) {
    NbdInitramfs r;
    for (const auto& n : names) {
        std::string_view v(n);
        if (v == "sbin/nbd-client" || endsWith(v, "/sbin/nbd-client")) {
            r.client = true;
        }
        if (v == "scripts/local-top/nbd" || endsWith(v, "/scripts/local-top/nbd")) {
            r.script = true;
        }
    }
    return r;
}

}  // namespace pinet::proto::netboot
