// Fuzz target: the HTTP-boot request path (a URL path from the boot LAN, already
// percent-decoded by httplib, so any bytes) through parseBootPath, which decides
// what may be opened beneath the boot root. Accepted paths must name only the two
// boot files below plain directory names, with no way out of the root.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http/boot_path.h"

namespace {

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

bool plain(const std::string& component) {
    if (component.empty() || component == "." || component == "..") {
        return false;
    }
    for (unsigned char c : component) {
        if (c < 0x21 || c > 0x7e || c == '/' || c == '\\') {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path(reinterpret_cast<const char*>(data), size);
    std::string prefix;
    std::string name;
    if (!pinet::core::http::parseBootPath(path, prefix, name)) {
        return 0;
    }
    check(name == "boot.img" || name == "boot.sig");
    std::size_t pos = 0;
    while (pos < prefix.size()) {
        const auto next = std::min(prefix.find('/', pos), prefix.size());
        check(plain(prefix.substr(pos, next - pos)));
        pos = next + 1;
    }
    check(prefix.empty() || (prefix.front() != '/' && prefix.back() != '/'));
    return 0;
}
