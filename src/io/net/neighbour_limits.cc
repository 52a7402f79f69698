#include "io/net/neighbour_limits.h"

#include <charconv>
#include <fstream>

namespace pinet::io {

namespace {

// Linux IFNAMSIZ is 16 with the terminating NUL.
constexpr std::size_t kMaxInterfaceName = 15;

std::optional<std::uint64_t> readNumber(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string text;
    if (!in || !std::getline(in, text)) {
        return std::nullopt;
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.pop_back();
    }
    std::uint64_t v = 0;
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (r.ec != std::errc() || r.ptr != end || text.empty()) {
        return std::nullopt;
    }
    return v;
}

bool plainInterfaceName(std::string_view name) {
    return !name.empty() && name.size() <= kMaxInterfaceName && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace

NeighbourLimits readNeighbourLimits(std::string_view interface,
                                    const std::filesystem::path& directory) {
    NeighbourLimits l;
    l.directory = directory.string();
    l.gcThresh1 = readNumber(directory / "default" / "gc_thresh1");
    l.gcThresh2 = readNumber(directory / "default" / "gc_thresh2");
    l.gcThresh3 = readNumber(directory / "default" / "gc_thresh3");
    if (plainInterfaceName(interface)) {
        l.interfaceThresh3 = readNumber(directory / std::string(interface) / "gc_thresh3");
    }
    return l;
}

}  // namespace pinet::io
