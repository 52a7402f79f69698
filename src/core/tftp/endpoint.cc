#include "core/tftp/endpoint.h"

#include <fmt/format.h>

namespace pinet::core::tftp {

bool Endpoint::isV4() const {
    for (std::size_t i = 0; i < 10; ++i) {
        if (address[i] != 0) {
            return false;
        }
    }
    return address[10] == 0xff && address[11] == 0xff;
}

std::optional<std::uint32_t> Endpoint::v4Address() const {
    if (!isV4()) {
        return std::nullopt;
    }
    return (std::uint32_t{address[12]} << 24) | (std::uint32_t{address[13]} << 16) |
           (std::uint32_t{address[14]} << 8) | std::uint32_t{address[15]};
}

Endpoint Endpoint::v4(std::uint32_t hostOrderAddress, std::uint16_t port) {
    Endpoint e;
    e.address[10] = 0xff;
    e.address[11] = 0xff;
    e.address[12] = static_cast<std::uint8_t>(hostOrderAddress >> 24);
    e.address[13] = static_cast<std::uint8_t>(hostOrderAddress >> 16);
    e.address[14] = static_cast<std::uint8_t>(hostOrderAddress >> 8);
    e.address[15] = static_cast<std::uint8_t>(hostOrderAddress);
    e.port = port;
    return e;
}

std::string Endpoint::toString() const {
    if (isV4()) {
        return fmt::format("{}.{}.{}.{}:{}", address[12], address[13], address[14], address[15],
                           port);
    }
    // RFC 5952 section 4: lowercase hex, no leading zeros, the longest run of
    // two or more zero groups (the first, on a tie) shortened to "::".
    std::array<std::uint16_t, 8> g{};
    for (std::size_t i = 0; i < 8; ++i) {
        g[i] = static_cast<std::uint16_t>((address[2 * i] << 8) | address[2 * i + 1]);
    }
    std::size_t bestStart = 8;
    std::size_t bestLen = 0;
    for (std::size_t i = 0; i < 8;) {
        if (g[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && g[j] == 0) {
            ++j;
        }
        if (j - i > bestLen && j - i >= 2) {
            bestStart = i;
            bestLen = j - i;
        }
        i = j;
    }
    std::string out = "[";
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == bestStart) {
            out += "::";
            i += bestLen - 1;
            continue;
        }
        if (!out.empty() && out.back() != '[' && out.back() != ':') {
            out += ':';
        }
        out += fmt::format("{:x}", g[i]);
    }
    out += fmt::format("]:{}", port);
    return out;
}

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
    // FNV-1a over address and port: cheap, and the table is bounded by the
    // transfer limit, so a crafted collision chain stays short.
    std::uint64_t h = 1469598103934665603ull;
    for (auto b : e.address) {
        h = (h ^ b) * 1099511628211ull;
    }
    h = (h ^ e.port) * 1099511628211ull;
    return static_cast<std::size_t>(h);
}

}  // namespace pinet::core::tftp
