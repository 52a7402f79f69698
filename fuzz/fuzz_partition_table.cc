// Fuzz target: MBR/GPT partition table parsing over untrusted image bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/disk/partition_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    auto t = pinet::proto::disk::parsePartitionTable(pinet::proto::disk::spanReader(in), in.size());
    if (t) {
        for (const auto& p : t->partitions) {
            // every accepted partition lies inside the input
            if (p.offset > size || p.size > size - p.offset) {
                __builtin_trap();
            }
        }
    }
    // The same bytes as the head of a gzip image (io/compress): the bound
    // it yields covers every partition the full parse found.
    auto extent = pinet::proto::disk::diskExtent(in);
    if (t && !extent) {
        __builtin_trap();
    }
    if (t && extent) {
        for (const auto& p : t->partitions) {
            if (p.offset + p.size > *extent) {
                __builtin_trap();
            }
        }
    }
    return 0;
}
