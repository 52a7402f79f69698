#include "core/http/boot_path.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/tftp/client_dirs.h"

namespace pinet::core::http {

namespace {

/// HTTP_PATH components are URL path segments: a narrower set than a TFTP name.
bool plainName(const std::string& s) {
    if (s.empty() || s.size() > 128) {
        return false;
    }
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) == 0 && c != '.' && c != '_' && c != '-') {
            return false;
        }
    }
    return true;
}

}  // namespace

bool parseBootPath(const std::string& path, std::string& prefix, std::string& name) {
    if (path.empty() || path[0] != '/') {
        return false;
    }
    // TFTP's rules (no "..", control bytes, over-long names; "//" and "." dropped),
    // then HTTP boot's own: only the two boot files, below plain names.
    // A URL path is absolute; "//" at its start is tolerated like any other "//".
    auto clean = core::tftp::sanitizePath(
        std::string_view(path).substr(std::min(path.find_first_not_of('/'), path.size())));
    if (!clean) {
        return false;
    }
    const auto slash = clean->rfind('/');
    name = slash == std::string::npos ? *clean : clean->substr(slash + 1);
    if (name != "boot.img" && name != "boot.sig") {
        return false;
    }
    prefix = slash == std::string::npos ? std::string() : clean->substr(0, slash);
    std::size_t pos = 0;
    while (pos < prefix.size()) {
        const auto next = std::min(prefix.find('/', pos), prefix.size());
        if (!plainName(prefix.substr(pos, next - pos))) {
            return false;
        }
        pos = next + 1;
    }
    return true;
}

}  // namespace pinet::core::http
