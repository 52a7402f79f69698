// Fuzz target: the manifest of extended attributes the confined image-import
// reader hands back to the parent (proto/disk/xattr_manifest), which the
// parent must read safely whatever a compromised reader wrote.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "proto/disk/xattr_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace disk = pinet::proto::disk;
    std::span<const std::uint8_t> in(data, size);
    disk::XattrManifestReader reader(disk::spanReader(in), in.size());
    for (std::size_t n = 0; n <= size; ++n) {  // each record takes at least 8 bytes
        auto rec = reader.next();
        if (!rec || !*rec) {
            return 0;
        }
        const disk::XattrRecord& r = **rec;
        // Whatever is accepted is within the limits, so it can be written again.
        if (!disk::isValidRecordPath(r.path) || r.name.empty() ||
            r.name.size() > disk::kMaxXattrName || r.value.size() > disk::kMaxXattrValue) {
            __builtin_trap();
        }
        std::string again;
        if (!disk::appendXattrRecord(
                again, r.path, r.name,
                std::span(reinterpret_cast<const std::uint8_t*>(r.value.data()), r.value.size()))) {
            __builtin_trap();
        }
    }
    __builtin_trap();  // more records than bytes
}
