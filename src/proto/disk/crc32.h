#pragma once
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as used by the GPT
// header and partition-entry array checksums (UEFI 2.10 section 5.3.2).

#include <cstdint>
#include <span>

namespace pinet::proto::disk {

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

}  // namespace pinet::proto::disk
