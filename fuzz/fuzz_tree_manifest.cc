// Fuzz target: a boot tree manifest as another node wrote it to the shared store
// (proto/netboot/tree_manifest), which doctor decodes and compares.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/netboot/tree_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace nb = pinet::proto::netboot;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto entries = nb::decodeTreeManifest(text);
    if (!entries) {
        return 0;
    }
    // What is accepted is valid and encodes to the very same bytes.
    auto again = nb::encodeTreeManifest(*entries);
    if (!again || *again != text) {
        __builtin_trap();
    }
    return 0;
}
