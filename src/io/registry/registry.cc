#include "io/registry/registry.h"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "io/fs/file_ops.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kColumns =
    "serial, mac, model, name, image, root_mode, boot_dir, root_export, address, notes, state, "
    "first_seen, last_seen, id";

/// Longest display text kept from a row: a name or a note, not a document.
constexpr std::size_t kMaxText = 4096;

ClientRecord rowToRecord(const Statement& st) {
    ClientRecord r;
    r.serial = st.text(0);
    r.mac = st.optText(1);
    // Display text from a file the daemon can write: made safe as it is read
    // (control bytes and invalid UTF-8 escaped; clean text comes back unchanged).
    r.model = proto::text::safeText(st.text(2), kMaxText, proto::text::Backslash::Keep);
    r.name = proto::text::safeText(st.text(3), kMaxText, proto::text::Backslash::Keep);
    r.image = st.text(4);
    r.rootMode = st.text(5);
    r.bootDir = st.text(6);
    r.rootExport = st.text(7);
    r.address = st.text(8);
    r.notes = proto::text::safeText(st.text(9), kMaxText, proto::text::Backslash::Keep);
    r.state = st.text(10) == "discovered" ? ClientState::Discovered : ClientState::Enrolled;
    r.firstSeen = st.int64(11);
    r.lastSeen = st.int64(12);
    r.id = st.int64(13);
    return r;
}

}  // namespace

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

Result<Registry> Registry::open(const fs::path& stateDir) {
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
    fs::path p = stateDir / "registry.db";
    auto db = Database::open(p.string());
    if (!db) {
        return tl::unexpected(db.error());
    }
    Registry reg(std::move(*db), p);
    if (auto r = reg.migrate(); !r) {
        return fail(fmt::format("{}: {}", p.string(), r.error().message));
    }
    return reg;
}

Result<void> Registry::migrate() {
    auto v = queryInt("PRAGMA user_version");
    if (!v) {
        return tl::unexpected(v.error());
    }
    std::int64_t version = *v;
    if (version > kSchemaVersion) {
        return fail(
            fmt::format("registry schema version {} is newer than this pinetboot "
                        "understands ({})",
                        version, kSchemaVersion));
    }
    if (version == 0) {
        // BEGIN IMMEDIATE: two processes creating the schema at once serialize here.
        return db_.exec(R"sql(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS clients (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    serial      TEXT NOT NULL UNIQUE,
    mac         TEXT UNIQUE,
    model       TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    image       TEXT NOT NULL DEFAULT '',
    root_mode   TEXT NOT NULL DEFAULT '',
    boot_dir    TEXT NOT NULL DEFAULT '',
    root_export TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('enrolled', 'discovered')),
    first_seen  INTEGER NOT NULL DEFAULT 0,
    last_seen   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', 0);
PRAGMA user_version = 1;
COMMIT;
)sql");
    }
    return {};
}

Result<void> Registry::bump() {
    return db_.exec("UPDATE meta SET value = value + 1 WHERE key = 'generation'");
}

Result<void> Registry::writeTransaction(const std::function<Result<bool>()>& work) {
    if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) {
        return r;
    }
    auto changed = work();
    Result<void> r = changed ? Result<void>{} : Result<void>(tl::unexpected(changed.error()));
    if (r && *changed) {
        r = bump();
    }
    if (r) {
        r = db_.exec("COMMIT");
    }
    if (!r) {
        (void)db_.exec("ROLLBACK");
    }
    return r;
}

Result<void> Registry::upsertDiscovered(const std::string& serial,
                                        const std::optional<std::string>& mac,
                                        const std::string& model, std::int64_t now,
                                        std::size_t maxDiscovered) {
    return writeTransaction([&]() -> Result<bool> {
        auto st = db_.prepare(
            "INSERT INTO clients(serial, mac, model, state, first_seen, last_seen) "
            "VALUES (?1, ?2, ?3, 'discovered', ?4, ?4) "
            "ON CONFLICT(serial) DO UPDATE SET last_seen = ?4, "
            "  first_seen = CASE WHEN first_seen = 0 THEN ?4 ELSE first_seen END, "
            "  mac = COALESCE(mac, ?2), "
            // A model only option 97's fourcc named ("RPi4", as older versions stored,
            // or before the board's revision or device tree told more) gives way to
            // what the daemon knows now; any other model (a user's) stays.
            "  model = CASE WHEN model = '' OR (model IN ('RPi4', 'RPi5') AND ?3 <> '') "
            "    THEN ?3 ELSE model END");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, serial).bindOpt(2, mac).bind(3, model).bind(4, now);
        if (auto r = st->run(); !r) {
            return tl::unexpected(r.error());
        }
        // Oldest last_seen first (then first_seen, serial: a stable order); never the
        // row just written, never an enrolled client.
        auto evict = db_.prepare(
            "DELETE FROM clients WHERE serial IN (SELECT serial FROM clients "
            "  WHERE state = 'discovered' AND serial != ?1 "
            "  ORDER BY last_seen, first_seen, serial "
            "  LIMIT max(0, (SELECT count(*) FROM clients WHERE state = 'discovered') - ?2))");
        if (!evict) {
            return tl::unexpected(evict.error());
        }
        evict->bind(1, serial).bind(
            2, static_cast<std::int64_t>(std::max<std::size_t>(maxDiscovered, 1)));
        if (auto r = evict->run(); !r) {
            return tl::unexpected(r.error());
        }
        return true;
    });
}

Result<void> Registry::enroll(const ClientRecord& rec) {
    return writeTransaction([&]() -> Result<bool> {
        auto st = db_.prepare(
            "INSERT INTO clients(serial, mac, model, name, image, root_mode, boot_dir, "
            "  root_export, address, notes, state, first_seen, last_seen) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'enrolled', ?11, ?12) "
            "ON CONFLICT(serial) DO UPDATE SET mac = ?2, model = ?3, name = ?4, image = ?5, "
            "  root_mode = ?6, boot_dir = ?7, root_export = ?8, address = ?9, notes = ?10, "
            "  state = 'enrolled'");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, rec.serial)
            .bindOpt(2, rec.mac)
            .bind(3, rec.model)
            .bind(4, rec.name)
            .bind(5, rec.image)
            .bind(6, rec.rootMode)
            .bind(7, rec.bootDir)
            .bind(8, rec.rootExport)
            .bind(9, rec.address)
            .bind(10, rec.notes)
            .bind(11, rec.firstSeen)
            .bind(12, rec.lastSeen);
        if (auto r = st->run(); !r) {
            if (r.error().message.find("UNIQUE constraint failed: clients.mac") !=
                std::string::npos) {
                return fail(
                    fmt::format("MAC {} already belongs to another client", rec.mac.value_or("")));
            }
            return tl::unexpected(r.error());
        }
        return true;
    });
}

Result<bool> Registry::remove(const std::string& serial) {
    bool removed = false;
    auto r = writeTransaction([&]() -> Result<bool> {
        auto st = db_.prepare("DELETE FROM clients WHERE serial = ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, serial);
        if (auto run = st->run(); !run) {
            return tl::unexpected(run.error());
        }
        removed = db_.changes() > 0;
        return removed;
    });
    if (!r) {
        return tl::unexpected(r.error());
    }
    return removed;
}

Result<std::vector<ClientRecord>> Registry::query(const std::string& where,
                                                  const std::string& arg) {
    auto st =
        db_.prepare(fmt::format("SELECT {} FROM clients {} ORDER BY serial", kColumns, where));
    if (!st) {
        return tl::unexpected(st.error());
    }
    if (!arg.empty()) {
        st->bind(1, arg);
    }
    std::vector<ClientRecord> out;
    while (true) {
        auto r = st->step();
        if (!r) {
            return tl::unexpected(r.error());
        }
        if (!*r) {
            break;
        }
        out.push_back(rowToRecord(*st));
    }
    return out;
}

Result<std::optional<ClientRecord>> Registry::queryOne(const std::string& where,
                                                       const std::string& arg) {
    auto r = query(where, arg);
    if (!r) {
        return tl::unexpected(r.error());
    }
    if (r->empty()) {
        return std::optional<ClientRecord>{};
    }
    return std::optional<ClientRecord>{std::move(r->front())};
}

Result<std::optional<ClientRecord>> Registry::findBySerial(const std::string& serial) {
    return queryOne("WHERE serial = ?1", serial);
}

Result<std::optional<ClientRecord>> Registry::findByMac(const std::string& mac) {
    return queryOne("WHERE mac = ?1", mac);
}

Result<std::vector<ClientRecord>> Registry::list() {
    return query("", "");
}

Result<std::int64_t> Registry::queryInt(const char* sql) {
    auto st = db_.prepare(sql);
    if (!st) {
        return tl::unexpected(st.error());
    }
    auto r = st->step();
    if (!r) {
        return tl::unexpected(r.error());
    }
    return *r ? st->int64(0) : 0;
}

Result<std::int64_t> Registry::generation() {
    return queryInt("SELECT value FROM meta WHERE key = 'generation'");
}

Result<std::int64_t> Registry::dataVersion() {
    return queryInt("PRAGMA data_version");
}

Result<std::optional<std::string>> Registry::setting(const std::string& key) {
    auto st = db_.prepare("SELECT value FROM settings WHERE key = ?1");
    if (!st) {
        return tl::unexpected(st.error());
    }
    st->bind(1, key);
    auto r = st->step();
    if (!r) {
        return tl::unexpected(r.error());
    }
    if (!*r) {
        return std::optional<std::string>{};
    }
    return std::optional<std::string>{st->text(0)};
}

Result<void> Registry::setSetting(const std::string& key, const std::string& value) {
    return writeTransaction([&]() -> Result<bool> {
        auto st = db_.prepare(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) "
            "ON CONFLICT(key) DO UPDATE SET value = ?2");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, key).bind(2, value);
        if (auto r = st->run(); !r) {
            return tl::unexpected(r.error());
        }
        return true;
    });
}

Result<std::map<std::string, std::string>> Registry::settings() {
    auto st = db_.prepare("SELECT key, value FROM settings ORDER BY key");
    if (!st) {
        return tl::unexpected(st.error());
    }
    std::map<std::string, std::string> out;
    while (true) {
        auto r = st->step();
        if (!r) {
            return tl::unexpected(r.error());
        }
        if (!*r) {
            break;
        }
        out[st->text(0)] = st->text(1);
    }
    return out;
}

}  // namespace pinet::io
