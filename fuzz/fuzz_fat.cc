// Fuzz target: FAT12/16/32 boot-partition reader (BPB, FAT chains, directory
// entries, long names) over untrusted bytes; walks the tree and reads files.
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/disk/fat.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pinet::proto::disk;
    std::span<const std::uint8_t> in(data, size);
    auto vol = FatVolume::open(spanReader(in), in.size());
    if (!vol) {
        return 0;
    }
    std::size_t budget = 64;  // bound the work per input
    (void)vol->walk([&](const std::string&, const FatEntry& e) -> pinet::Result<void> {
        if (budget == 0) {
            return pinet::fail("budget");
        }
        --budget;
        if (!e.directory) {
            std::uint64_t total = 0;
            (void)vol->readFile(e, [&](std::span<const std::uint8_t> d) -> pinet::Result<void> {
                total += d.size();
                if (total > e.size) {
                    __builtin_trap();  // never more than the entry's size
                }
                return {};
            });
        }
        return {};
    });
    return 0;
}
