#include "proto/disk/read_at.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace pinet::proto::disk {

ReadAt spanReader(std::span<const std::uint8_t> data) {
    return [data](std::uint64_t offset, std::span<std::uint8_t> out) -> Result<void> {
        if (offset > data.size() || out.size() > data.size() - offset) {
            return fail(fmt::format("truncated: {} bytes at offset {} but only {} bytes",
                                    out.size(), offset, data.size()));
        }
        std::memcpy(out.data(), data.data() + offset, out.size());
        return {};
    };
}

ReadAt sliceReader(ReadAt inner, std::uint64_t base, std::uint64_t size) {
    return [inner = std::move(inner), base, size](std::uint64_t offset,
                                                  std::span<std::uint8_t> out) -> Result<void> {
        if (offset > size || out.size() > size - offset) {
            return fail(
                fmt::format("read of {} bytes at offset {} is outside the {}-byte partition",
                            out.size(), offset, size));
        }
        return inner(base + offset, out);
    };
}

}  // namespace pinet::proto::disk
