// The registry on SQLite: registry.db (WAL) in the state directory, through
// io/sqlite's Database/Statement. The schema version is PRAGMA user_version.

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "io/registry/registry_backend.h"
#include "io/sqlite/sqlite.h"

namespace pinet::io {

namespace {

constexpr const char* kColumns =
    "serial, mac, model, name, image, root_mode, boot_dir, root_export, address, notes, state, "
    "first_seen, last_seen, id";

ClientRecord rowToRecord(const Statement& st) {
    ClientRecord r;
    r.serial = st.text(0);
    r.mac = st.optText(1);
    r.model = st.text(2);
    r.name = st.text(3);
    r.image = st.text(4);
    r.rootMode = st.text(5);
    r.bootDir = st.text(6);
    r.rootExport = st.text(7);
    r.address = st.text(8);
    r.notes = st.text(9);
    r.state = st.text(10) == "discovered" ? ClientState::Discovered : ClientState::Enrolled;
    r.firstSeen = st.int64(11);
    r.lastSeen = st.int64(12);
    r.id = st.int64(13);
    return r;
}

class SqliteRegistry final : public RegistryBackend {
public:
    SqliteRegistry(Database db, std::filesystem::path p)
        : db_(std::move(db)), path_(std::move(p)) {}

    Result<schema::MigrationReport> migrate() override {
        auto r = schema::migrateSqlite(db_, schema::registryMigrations());
        if (!r) {
            return fail(fmt::format("{}: {}", path_.string(), r.error().message));
        }
        return r;
    }

    std::string describe() const override { return "sqlite " + path_.string(); }

    Result<void> upsertDiscovered(const std::string& serial, const std::optional<std::string>& mac,
                                  const std::string& model, std::int64_t now,
                                  std::size_t maxDiscovered) override {
        return writeTransaction([&]() -> Result<bool> {
            auto st = db_.prepare(
                "INSERT INTO clients(serial, mac, model, state, first_seen, last_seen) "
                "VALUES (?1, ?2, ?3, 'discovered', ?4, ?4) "
                "ON CONFLICT(serial) DO UPDATE SET last_seen = ?4, "
                "  first_seen = CASE WHEN first_seen = 0 THEN ?4 ELSE first_seen END, "
                "  mac = COALESCE(mac, ?2), "
                // A model only option 97's fourcc named ("RPi4", as older versions
                // stored, or before the board's revision or device tree told more) gives
                // way to what the daemon knows now; any other model (a user's) stays.
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

    Result<void> enroll(const ClientRecord& rec) override {
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
                    return tl::unexpected(macTakenError(rec.mac));
                }
                return tl::unexpected(r.error());
            }
            return true;
        });
    }

    Result<bool> remove(const std::string& serial) override {
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

    Result<std::vector<ClientRecord>> clients(Key key, const std::string& value) override {
        const char* where = key == Key::Serial ? "WHERE serial = ?1"
                            : key == Key::Mac  ? "WHERE mac = ?1"
                                               : "";
        auto st =
            db_.prepare(fmt::format("SELECT {} FROM clients {} ORDER BY serial", kColumns, where));
        if (!st) {
            return tl::unexpected(st.error());
        }
        if (key != Key::All) {
            st->bind(1, value);
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

    Result<std::int64_t> generation() override {
        return queryInt("SELECT value FROM meta WHERE key = 'generation'");
    }

    Result<std::int64_t> dataVersion() override { return queryInt("PRAGMA data_version"); }

    Result<std::optional<std::string>> setting(const std::string& key) override {
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

    Result<void> setSetting(const std::string& key, const std::string& value) override {
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

    Result<std::map<std::string, std::string>> settings() override {
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

private:
    /// Runs @p work in one BEGIN IMMEDIATE transaction, with the generation bump when
    /// it reports a change. ROLLBACK on any error, a failed COMMIT included.
    Result<void> writeTransaction(const std::function<Result<bool>()>& work) {
        if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) {
            return r;
        }
        auto changed = work();
        Result<void> r = changed ? Result<void>{} : Result<void>(tl::unexpected(changed.error()));
        if (r && *changed) {
            r = db_.exec("UPDATE meta SET value = value + 1 WHERE key = 'generation'");
        }
        if (r) {
            r = db_.exec("COMMIT");
        }
        if (!r) {
            (void)db_.exec("ROLLBACK");
        }
        return r;
    }

    /// Column 0 of the first row of @p sql as an integer (0 if there is no row).
    Result<std::int64_t> queryInt(const char* sql) {
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

    Database db_;
    std::filesystem::path path_;
};

}  // namespace

Result<std::unique_ptr<RegistryBackend>> openSqliteRegistry(const std::filesystem::path& stateDir) {
    const auto p = stateDir / "registry.db";
    auto db = Database::open(p.string());
    if (!db) {
        return tl::unexpected(db.error());
    }
    return std::unique_ptr<RegistryBackend>(std::make_unique<SqliteRegistry>(std::move(*db), p));
}

}  // namespace pinet::io
