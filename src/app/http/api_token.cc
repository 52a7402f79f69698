#include "app/http/api_token.h"

#include <fmt/format.h>

#include "app/settings.h"
#include "io/crypto.h"
#include "io/file.h"
#include "io/fs/file_ops.h"
#include "proto/hex.h"

namespace pinet::app::http {

namespace fs = std::filesystem;

namespace {

/// 32 bytes = 256 bits: no guessing, whatever the rate limit.
constexpr std::size_t kTokenBytes = 32;

Result<std::string> writeNew(const fs::path& stateDir) {
    if (auto d = ensurePrivateDir(stateDir); !d) {
        return tl::unexpected(d.error());
    }
    auto token = io::randomHex(kTokenBytes);
    if (!token) {
        return token;
    }
    // mkstemp makes the temporary 0600 and the rename keeps it: never readable by others.
    if (auto w = io::writeFileAtomic(stateDir / kApiTokenFile, *token + "\n", 0600); !w) {
        return tl::unexpected(w.error());
    }
    return token;
}

}  // namespace

Result<std::optional<std::string>> readApiToken(const fs::path& stateDir) {
    const auto path = stateDir / kApiTokenFile;
    auto st = io::statNoFollow(path);
    if (!st) {
        return tl::unexpected(st.error());
    }
    if (!*st) {
        return std::optional<std::string>{};
    }
    if ((*st)->kind != io::EntryKind::Regular) {
        return fail(
            fmt::format("{} is not a regular file (a symlink?): remove it and run "
                        "pinetboot token rotate --state-dir {}",
                        path.string(), stateDir.string()));
    }
    if (((*st)->mode & 077) != 0) {
        return fail(fmt::format(
            "{} has mode {:04o}: others on this machine can read the token that controls the "
            "fleet; fix: chmod 600 {} and, since it may have been read, pinetboot token rotate "
            "--state-dir {}",
            path.string(), (*st)->mode, path.string(), stateDir.string()));
    }
    auto bytes = io::readFile(path);
    if (!bytes) {
        return tl::unexpected(bytes.error());
    }
    std::string text(bytes->begin(), bytes->end());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    if (text.size() != 2 * kTokenBytes || !proto::fromHex(text)) {
        return fail(
            fmt::format("{} does not hold a pinetboot token (64 hex characters); fix: "
                        "pinetboot token rotate --state-dir {}",
                        path.string(), stateDir.string()));
    }
    return std::optional<std::string>(std::move(text));
}

Result<std::string> ensureApiToken(const fs::path& stateDir, bool* created) {
    if (created != nullptr) {
        *created = false;
    }
    auto have = readApiToken(stateDir);
    if (!have) {
        return tl::unexpected(have.error());
    }
    if (*have) {
        return **have;
    }
    auto made = writeNew(stateDir);
    if (made && created != nullptr) {
        *created = true;
    }
    return made;
}

Result<std::string> rotateApiToken(const fs::path& stateDir) {
    return writeNew(stateDir);
}

}  // namespace pinet::app::http
