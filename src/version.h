#pragma once

namespace pinet {
/// @return the release version, e.g. "0.1.0".
const char* versionString();
}  // namespace pinet
