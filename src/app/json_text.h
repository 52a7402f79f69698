#pragma once
// JSON text that cannot throw: nlohmann::json::dump() throws type_error 316
// on a string that is not valid UTF-8, and one such string from a packet, an
// image or the registry once took the whole daemon down (issue #13). Strings
// are made safe where they enter (proto/text/safe_text.h); this is the second
// line: any invalid byte left is replaced by U+FFFD instead of throwing.

#include <string>

#include <nlohmann/json.hpp>

namespace pinet::app {

inline std::string dumpJson(const nlohmann::json& j, int indent = -1) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pinet::app
