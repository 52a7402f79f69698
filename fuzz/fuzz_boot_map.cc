// Fuzz target: the map of an image served in place (proto/disk/boot_map), which the
// confined reader writes and the parent reads (issue #18).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/disk/boot_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace disk = pinet::proto::disk;
    constexpr std::uint64_t kImage = 1 << 24;  // what the seeds' extents fit in
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto files = disk::decodeBootMap(text, kImage);
    if (!files) {
        return 0;
    }
    // Accepted means valid: every extent inside the image, and it encodes to the same bytes.
    for (const auto& f : *files) {
        std::uint64_t total = 0;
        for (const auto& e : f.extents) {
            if (e.length == 0 || e.offset + e.length > kImage) {
                __builtin_trap();
            }
            total += e.length;
        }
        if (total != f.size) {
            __builtin_trap();
        }
    }
    auto again = disk::encodeBootMap(*files, kImage);
    if (!again || *again != text) {
        __builtin_trap();
    }
    return 0;
}
