#include "proto/disk/crc32.h"

#include <array>

namespace pinet::proto::disk {

namespace {
constexpr std::array<std::uint32_t, 256> makeTable() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        }
        t[i] = c;
    }
    return t;
}
constexpr auto kTable = makeTable();
}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
    crc = ~crc;
    for (std::uint8_t b : data) {
        crc = kTable[(crc ^ b) & 0xFFU] ^ (crc >> 8);
    }
    return ~crc;
}

}  // namespace pinet::proto::disk
