#include "io/registry/registry.h"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "io/fs/file_ops.h"
#include "io/registry/registry_backend.h"
#include "io/sqlite/sqlite.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

/// Longest display text kept from a row: a name or a note, not a document.
constexpr std::size_t kMaxText = 4096;

/// Display text from a store others can write: made safe as it is read (control bytes
/// and invalid UTF-8 escaped; clean text comes back unchanged), the same on every store.
ClientRecord madeSafe(ClientRecord r) {
    r.model = proto::text::safeText(r.model, kMaxText, proto::text::Backslash::Keep);
    r.name = proto::text::safeText(r.name, kMaxText, proto::text::Backslash::Keep);
    r.notes = proto::text::safeText(r.notes, kMaxText, proto::text::Backslash::Keep);
    return r;
}

}  // namespace

Error macTakenError(const std::optional<std::string>& mac) {
    return Error{fmt::format("MAC {} already belongs to another client", mac.value_or(""))};
}

std::string_view clientStateName(ClientState s) {
    return s == ClientState::Discovered ? "discovered" : "enrolled";
}

Result<void> Registry::checkOwnership(const fs::path& stateDir, uid_t euid) {
    if (euid != 0) {
        return {};
    }
    const fs::path db = stateDir / "registry.db";
    for (const fs::path& p :
         {stateDir, db, fs::path(db.string() + "-wal"), fs::path(db.string() + "-shm")}) {
        auto st = statNoFollow(p);
        if (!st) {
            return tl::unexpected(st.error());
        }
        if (!*st) {
            if (p == stateDir) {
                return fail(fmt::format("{}: state directory does not exist", p.string()));
            }
            continue;  // created below, by root
        }
        const auto& e = **st;
        const bool dir = p == stateDir;
        if (e.kind == EntryKind::Symlink ||
            e.kind != (dir ? EntryKind::Directory : EntryKind::Regular)) {
            return fail(fmt::format(
                "{} is not a plain {}: running as root, pinetboot does not follow it (replace "
                "it with the real {})",
                p.string(), dir ? "directory" : "file", dir ? "directory" : "file"));
        }
        if (e.uid != 0) {
            return fail(fmt::format(
                "{} is owned by uid {}, not root: running as root, pinetboot does not trust a "
                "registry another user can write (fix: chown root:root {}, or run as uid {})",
                p.string(), e.uid, p.string(), e.uid));
        }
        if ((e.mode & 022) != 0) {
            return fail(fmt::format(
                "{} is writable by group or others (mode {:04o}): running as root, pinetboot "
                "does not trust a registry another user can write (fix: chmod go-w {})",
                p.string(), e.mode, p.string()));
        }
    }
    return {};
}

Registry::Registry(std::unique_ptr<RegistryBackend> b) : backend_(std::move(b)) {}
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;
Registry::~Registry() = default;

Result<Registry> Registry::open(const fs::path& stateDir) {
    return open(stateDir, StoreLocation{});
}

Result<Registry> Registry::open(const fs::path& stateDir, const StoreLocation& where) {
    std::error_code ec;
    if (fs::create_directories(stateDir, ec)) {
        // A new state directory is root's alone (docs/security.md), whatever the umask.
        fs::permissions(stateDir, fs::perms::owner_all, ec);
    }
    if (ec) {
        return fail(
            fmt::format("{}: cannot create state directory: {}", stateDir.string(), ec.message()));
    }
    if (auto r = checkOwnership(stateDir, ::geteuid()); !r) {
        return tl::unexpected(r.error());
    }
    auto backend = where.backend == StoreLocation::Backend::Postgresql
                       ? openPostgresRegistry(where.url)
                       : openSqliteRegistry(stateDir);
    if (!backend) {
        return tl::unexpected(backend.error());
    }
    Registry reg(std::move(*backend));
    auto m = reg.backend_->migrate();
    if (!m) {
        return tl::unexpected(m.error());
    }
    reg.migration_ = *m;
    return reg;
}

std::string Registry::describe() const {
    return backend_->describe();
}

Result<void> Registry::upsertDiscovered(const std::string& serial,
                                        const std::optional<std::string>& mac,
                                        const std::string& model, std::int64_t now,
                                        std::size_t maxDiscovered) {
    return backend_->upsertDiscovered(serial, mac, model, now, maxDiscovered);
}

Result<void> Registry::enroll(const ClientRecord& rec) {
    return backend_->enroll(rec);
}

Result<bool> Registry::remove(const std::string& serial) {
    return backend_->remove(serial);
}

namespace {

Result<std::optional<ClientRecord>> first(Result<std::vector<ClientRecord>> r) {
    if (!r) {
        return tl::unexpected(r.error());
    }
    if (r->empty()) {
        return std::optional<ClientRecord>{};
    }
    return std::optional<ClientRecord>{madeSafe(std::move(r->front()))};
}

}  // namespace

Result<std::optional<ClientRecord>> Registry::findBySerial(const std::string& serial) {
    return first(backend_->clients(RegistryBackend::Key::Serial, serial));
}

Result<std::optional<ClientRecord>> Registry::findByMac(const std::string& mac) {
    return first(backend_->clients(RegistryBackend::Key::Mac, mac));
}

Result<std::vector<ClientRecord>> Registry::list() {
    auto r = backend_->clients(RegistryBackend::Key::All, "");
    if (!r) {
        return tl::unexpected(r.error());
    }
    for (auto& c : *r) {
        c = madeSafe(std::move(c));
    }
    return r;
}

Result<std::int64_t> Registry::generation() {
    return backend_->generation();
}

Result<std::int64_t> Registry::dataVersion() {
    return backend_->dataVersion();
}

Result<std::optional<std::string>> Registry::setting(const std::string& key) {
    return backend_->setting(key);
}

Result<void> Registry::setSetting(const std::string& key, const std::string& value) {
    return backend_->setSetting(key, value);
}

Result<std::map<std::string, std::string>> Registry::settings() {
    return backend_->settings();
}

Result<void> Registry::snapshotSqlite(const std::filesystem::path& dbFile,
                                      const std::filesystem::path& outFile) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dbFile, ec)) {
        return fail(fmt::format("{}: no SQLite registry there", dbFile.string()));
    }
    if (std::filesystem::exists(outFile, ec)) {
        return fail(fmt::format("{} exists already", outFile.string()));
    }
    auto db = Database::open(dbFile.string());
    if (!db) {
        return fail(fmt::format("{}: {}", dbFile.string(), db.error().message));
    }
    auto st = db->prepare("VACUUM INTO ?1");
    if (!st) {
        return tl::unexpected(st.error());
    }
    st->bind(1, outFile.string());
    if (auto r = st->run(); !r) {
        return fail(fmt::format("copy of {}: {}", dbFile.string(), r.error().message));
    }
    return {};
}

}  // namespace pinet::io
