#include "proto/usbboot/tar.h"

#include <algorithm>

#include <fmt/format.h>

namespace pinet::proto::usbboot {

namespace {

// ustar header fields (offset, length).
constexpr std::size_t kNameOff = 0, kNameLen = 100;
constexpr std::size_t kSizeOff = 124, kSizeLen = 12;
constexpr std::size_t kTypeOff = 156;
constexpr std::size_t kMagicOff = 257;
constexpr std::size_t kPrefixOff = 345, kPrefixLen = 155;

std::string field(std::span<const std::uint8_t> h, std::size_t off, std::size_t len) {
    std::string s;
    for (std::size_t i = off; i < off + len && h[i] != 0; ++i) {
        s += static_cast<char>(h[i]);
    }
    return s;
}

std::optional<std::uint64_t> octal(std::span<const std::uint8_t> h, std::size_t off,
                                   std::size_t len) {
    std::uint64_t v = 0;
    bool any = false;
    for (std::size_t i = off; i < off + len; ++i) {
        const std::uint8_t c = h[i];
        if (c == 0 || c == ' ') {
            if (any) {
                break;
            }
            continue;
        }
        if (c < '0' || c > '7') {
            return std::nullopt;
        }
        v = v * 8 + (c - '0');
        any = true;
    }
    return v;  // 11 octal digits < 2^33: no overflow
}

bool isZeroBlock(std::span<const std::uint8_t> b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0; });
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

Result<std::vector<TarMember>> indexTar(std::span<const std::uint8_t> archive) {
    std::vector<TarMember> out;
    std::size_t pos = 0;
    while (archive.size() - pos >= kTarBlock) {
        const auto h = archive.subspan(pos, kTarBlock);
        if (isZeroBlock(h)) {
            break;
        }
        const auto size = octal(h, kSizeOff, kSizeLen);
        if (!size) {
            return fail(fmt::format("tar header at {}: size field is not octal", pos));
        }
        const std::size_t data = pos + kTarBlock;
        if (*size > archive.size() - data) {
            return fail(fmt::format("tar member at {}: {} bytes run past the end", pos, *size));
        }
        const char type = static_cast<char>(h[kTypeOff]);
        if (type == '0' || type == '\0') {
            std::string name = field(h, kNameOff, kNameLen);
            const bool ustar = field(h, kMagicOff, 5) == "ustar";
            if (ustar) {
                const std::string prefix = field(h, kPrefixOff, kPrefixLen);
                if (!prefix.empty()) {
                    name.insert(0, 1, '/');
                    name.insert(0, prefix);
                }
            }
            while (name.rfind("./", 0) == 0) {
                name.erase(0, 2);
            }
            out.push_back(TarMember{std::move(name), data, static_cast<std::size_t>(*size)});
        }
        const std::size_t blocks = (static_cast<std::size_t>(*size) + kTarBlock - 1) / kTarBlock;
        pos = data + blocks * kTarBlock;
        if (pos > archive.size()) {
            break;  // last member's padding is missing: tolerated, data is complete
        }
    }
    return out;
}

const TarMember* findTarMember(std::span<const TarMember> members, std::string_view name) {
    for (const auto& m : members) {
        if (m.name.size() == name.size() &&
            std::equal(m.name.begin(), m.name.end(), name.begin(),
                       [](char a, char b) { return lower(a) == lower(b); })) {
            return &m;
        }
    }
    return nullptr;
}

}  // namespace pinet::proto::usbboot
