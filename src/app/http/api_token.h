#pragma once
// The dashboard/API token (docs/api.md, "Authentication"): 32 random bytes as
// 64 hex characters in <state>/api-token, mode 0600, written temp + rename.
// `serve` creates it at its first start; `pinetboot token show|rotate` reads
// and replaces it; a running serve re-reads it every second (registry watcher),
// so a rotation signs out every browser and every old bearer token at once.

#include <filesystem>
#include <optional>
#include <string>

#include "proto/error.h"

namespace pinet::app::http {

/// The file's name inside the state directory.
inline constexpr const char* kApiTokenFile = "api-token";

/// The token, nullopt when the file does not exist. Refused: a file others may
/// read (group or world bits: anyone who reads it controls the fleet), a
/// symlink, or contents that are not 64 hex characters; the error says how to fix it.
Result<std::optional<std::string>> readApiToken(const std::filesystem::path& stateDir);

/// The token, created (with the state directory, mode 0700) if there is none yet.
/// @p created is set when this call made it.
Result<std::string> ensureApiToken(const std::filesystem::path& stateDir, bool* created = nullptr);

/// Replaces the token with a new random one and returns it.
Result<std::string> rotateApiToken(const std::filesystem::path& stateDir);

}  // namespace pinet::app::http
