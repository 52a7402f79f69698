// The registry on PostgreSQL, through io/pg's PgConnection: the same tables as
// SQLite (schema.cc renders one migration list for both), every value a query
// parameter. Differences from SQLite, and why:
//  - Text columns hold only UTF-8 without NUL (the server refuses anything else).
//    Display text (model, name, notes) that is not is stored escaped, in the \xHH form
//    Registry's reader produces anyway, so what a caller reads back is the same on
//    both stores; the columns stay text so operators can read and query them with
//    psql. Names of things (serial, MAC, image, paths, address, settings) are refused
//    instead: an escaped path would name another file.
//  - Serial order is byte order (COLLATE "C"), as SQLite's, whatever the database's
//    collation.
//  - One connection, guarded by a mutex (libpq connections are one thread at a time;
//    serve's poller and its discovery writer share the registry). A lost connection is
//    reset before the next operation; the operation that saw it fails.

#include <algorithm>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "io/pg/pg.h"
#include "io/registry/registry_backend.h"
#include "proto/text/safe_text.h"

namespace pinet::io {

namespace {

constexpr const char* kSelect =
    "SELECT serial, mac, model, name, image, root_mode, boot_dir, root_export, address, notes, "
    "state, first_seen, last_seen, id FROM clients ";

Error pgError(const PgError& e) {
    return Error{e.message};
}

/// Display text as a text column takes it: unchanged when it is UTF-8 without NUL,
/// else escaped as Registry's reader would escape it (no length cut here: the reader
/// cuts).
std::string displayText(const std::string& v) {
    if (proto::text::isUtf8Text(v)) {
        return v;
    }
    return proto::text::safeText(v, std::string::npos, proto::text::Backslash::Keep);
}

/// Names of things cannot be escaped without naming something else: refused.
Result<void> needUtf8(std::string_view field, const std::string& v) {
    if (proto::text::isUtf8Text(v)) {
        return {};
    }
    return fail(fmt::format(
        "{} '{}' is not UTF-8 text: the PostgreSQL store keeps text as UTF-8 (rename it, or "
        "use the sqlite store)",
        field, proto::text::safeText(v, 256)));
}

Result<ClientRecord> rowToRecord(const PgResult& r, int row) {
    ClientRecord c;
    c.serial = r.text(row, 0);
    c.mac = r.optText(row, 1);
    c.model = r.text(row, 2);
    c.name = r.text(row, 3);
    c.image = r.text(row, 4);
    c.rootMode = r.text(row, 5);
    c.bootDir = r.text(row, 6);
    c.rootExport = r.text(row, 7);
    c.address = r.text(row, 8);
    c.notes = r.text(row, 9);
    c.state = r.text(row, 10) == "discovered" ? ClientState::Discovered : ClientState::Enrolled;
    for (auto [col, out] : {std::pair{11, &c.firstSeen}, {12, &c.lastSeen}, {13, &c.id}}) {
        auto v = r.int64(row, col);
        if (!v) {
            return tl::unexpected(v.error());
        }
        *out = *v;
    }
    return c;
}

class PgRegistry final : public RegistryBackend {
public:
    PgRegistry(PgConnection conn, std::string url) : conn_(std::move(conn)), url_(std::move(url)) {}

    Result<schema::MigrationReport> migrate() override {
        std::lock_guard lock(mu_);
        reconnect();
        auto r = schema::migratePostgres(conn_, schema::registryMigrations());
        if (!r) {
            return fail(fmt::format("{}: {}", PgConnection::redact(url_), r.error().message));
        }
        return r;
    }

    std::string describe() const override { return "postgresql " + PgConnection::redact(url_); }

    Result<void> upsertDiscovered(const std::string& serial, const std::optional<std::string>& mac,
                                  const std::string& model, std::int64_t now,
                                  std::size_t maxDiscovered) override {
        if (auto r = needUtf8("serial", serial); !r) {
            return r;
        }
        if (mac) {
            if (auto r = needUtf8("MAC", *mac); !r) {
                return r;
            }
        }
        return writeTransaction([&]() -> Result<bool> {
            auto up = conn_.query(
                "INSERT INTO clients(serial, mac, model, state, first_seen, last_seen) "
                "VALUES ($1::text, $2::text, $3::text, 'discovered', $4::bigint, $4::bigint) "
                "ON CONFLICT(serial) DO UPDATE SET last_seen = EXCLUDED.last_seen, "
                "  first_seen = CASE WHEN clients.first_seen = 0 THEN EXCLUDED.first_seen "
                "    ELSE clients.first_seen END, "
                "  mac = COALESCE(clients.mac, EXCLUDED.mac), "
                // As the SQLite store: a fourcc-only model gives way to a precise one.
                "  model = CASE WHEN clients.model = '' OR (clients.model IN ('RPi4', 'RPi5') "
                "    AND EXCLUDED.model <> '') THEN EXCLUDED.model ELSE clients.model END",
                {serial, mac, displayText(model), pgParam(now)});
            if (!up) {
                return tl::unexpected(up.error().constraint == "clients_mac_key"
                                          ? macTakenError(mac)
                                          : pgError(up.error()));
            }
            // Oldest last_seen first (then first_seen, serial: a stable order); never the
            // row just written, never an enrolled client.
            auto evict = conn_.query(
                "DELETE FROM clients WHERE serial IN (SELECT serial FROM clients "
                "  WHERE state = 'discovered' AND serial <> $1::text "
                "  ORDER BY last_seen, first_seen, serial COLLATE \"C\" "
                "  LIMIT GREATEST(0, (SELECT count(*) FROM clients WHERE state = 'discovered') "
                "    - $2::bigint))",
                {serial,
                 pgParam(static_cast<std::int64_t>(std::max<std::size_t>(maxDiscovered, 1)))});
            if (!evict) {
                return tl::unexpected(pgError(evict.error()));
            }
            return true;
        });
    }

    Result<void> enroll(const ClientRecord& rec) override {
        for (auto [field, v] : {std::pair{"serial", &rec.serial},
                                {"image", &rec.image},
                                {"root mode", &rec.rootMode},
                                {"boot directory", &rec.bootDir},
                                {"root export", &rec.rootExport},
                                {"address", &rec.address}}) {
            if (auto r = needUtf8(field, *v); !r) {
                return r;
            }
        }
        if (rec.mac) {
            if (auto r = needUtf8("MAC", *rec.mac); !r) {
                return r;
            }
        }
        return writeTransaction([&]() -> Result<bool> {
            auto r = conn_.query(
                "INSERT INTO clients(serial, mac, model, name, image, root_mode, boot_dir, "
                "  root_export, address, notes, state, first_seen, last_seen) "
                "VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, "
                "  $8::text, $9::text, $10::text, 'enrolled', $11::bigint, $12::bigint) "
                "ON CONFLICT(serial) DO UPDATE SET mac = EXCLUDED.mac, model = EXCLUDED.model, "
                "  name = EXCLUDED.name, image = EXCLUDED.image, root_mode = EXCLUDED.root_mode, "
                "  boot_dir = EXCLUDED.boot_dir, root_export = EXCLUDED.root_export, "
                "  address = EXCLUDED.address, notes = EXCLUDED.notes, state = 'enrolled'",
                {rec.serial, rec.mac, displayText(rec.model), displayText(rec.name), rec.image,
                 rec.rootMode, rec.bootDir, rec.rootExport, rec.address, displayText(rec.notes),
                 pgParam(rec.firstSeen), pgParam(rec.lastSeen)});
            if (!r) {
                if (r.error().constraint == "clients_mac_key") {
                    return tl::unexpected(macTakenError(rec.mac));
                }
                return tl::unexpected(pgError(r.error()));
            }
            return true;
        });
    }

    Result<bool> remove(const std::string& serial) override {
        bool removed = false;
        auto r = writeTransaction([&]() -> Result<bool> {
            auto del = conn_.query("DELETE FROM clients WHERE serial = $1::text", {serial});
            if (!del) {
                return tl::unexpected(pgError(del.error()));
            }
            removed = del->affected() > 0;
            return removed;
        });
        if (!r) {
            return tl::unexpected(r.error());
        }
        return removed;
    }

    Result<std::vector<ClientRecord>> clients(Key key, const std::string& value) override {
        std::lock_guard lock(mu_);
        reconnect();
        const char* where = key == Key::Serial ? "WHERE serial = $1::text "
                            : key == Key::Mac  ? "WHERE mac = $1::text "
                                               : "";
        std::vector<PgParam> params;
        if (key != Key::All) {
            params.emplace_back(value);
        }
        auto r =
            conn_.query(fmt::format("{}{}ORDER BY serial COLLATE \"C\"", kSelect, where), params);
        if (!r) {
            return tl::unexpected(pgError(r.error()));
        }
        if (r->columns() != 14) {
            return fail(
                fmt::format("postgresql: clients query returned {} columns, not 14", r->columns()));
        }
        std::vector<ClientRecord> out;
        out.reserve(static_cast<std::size_t>(r->rows()));
        for (int row = 0; row < r->rows(); ++row) {
            auto c = rowToRecord(*r, row);
            if (!c) {
                return tl::unexpected(c.error());
            }
            out.push_back(std::move(*c));
        }
        return out;
    }

    Result<std::int64_t> generation() override {
        std::lock_guard lock(mu_);
        reconnect();
        auto r = conn_.query("SELECT value FROM meta WHERE key = 'generation'");
        if (!r) {
            return tl::unexpected(pgError(r.error()));
        }
        if (r->rows() == 0) {
            return 0;
        }
        return r->int64(0, 0);
    }

    Result<std::int64_t> dataVersion() override { return generation(); }

    Result<std::optional<std::string>> setting(const std::string& key) override {
        std::lock_guard lock(mu_);
        reconnect();
        auto r = conn_.query("SELECT value FROM settings WHERE key = $1::text", {key});
        if (!r) {
            return tl::unexpected(pgError(r.error()));
        }
        if (r->rows() == 0) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{r->text(0, 0)};
    }

    Result<void> setSetting(const std::string& key, const std::string& value) override {
        if (auto r = needUtf8("setting " + key, value); !r) {
            return r;
        }
        if (auto r = needUtf8("setting name", key); !r) {
            return r;
        }
        return writeTransaction([&]() -> Result<bool> {
            auto r = conn_.query(
                "INSERT INTO settings(key, value) VALUES ($1::text, $2::text) "
                "ON CONFLICT(key) DO UPDATE SET value = EXCLUDED.value",
                {key, value});
            if (!r) {
                return tl::unexpected(pgError(r.error()));
            }
            return true;
        });
    }

    Result<std::map<std::string, std::string>> settings() override {
        std::lock_guard lock(mu_);
        reconnect();
        auto r = conn_.query("SELECT key, value FROM settings");
        if (!r) {
            return tl::unexpected(pgError(r.error()));
        }
        std::map<std::string, std::string> out;
        for (int row = 0; row < r->rows(); ++row) {
            out[r->text(row, 0)] = r->text(row, 1);
        }
        return out;
    }

private:
    /// A connection lost since the last operation (server restart) is made again;
    /// if that fails, the operation's own error says so.
    void reconnect() {
        if (conn_.broken()) {
            (void)conn_.reset();
        }
    }

    /// @p work in one transaction with the generation bump when it reports a change;
    /// ROLLBACK on any error, a failed COMMIT included.
    Result<void> writeTransaction(const std::function<Result<bool>()>& work) {
        std::lock_guard lock(mu_);
        reconnect();
        if (auto b = conn_.execConstant("BEGIN"); !b) {
            return tl::unexpected(pgError(b.error()));
        }
        auto changed = work();
        Result<void> r = changed ? Result<void>{} : Result<void>(tl::unexpected(changed.error()));
        if (r && *changed) {
            if (auto u = conn_.execConstant(
                    "UPDATE meta SET value = value + 1 WHERE key = 'generation'");
                !u) {
                r = tl::unexpected(pgError(u.error()));
            }
        }
        if (r) {
            if (auto c = conn_.execConstant("COMMIT"); !c) {
                r = tl::unexpected(pgError(c.error()));
            }
        }
        if (!r) {
            (void)conn_.execConstant("ROLLBACK");
        }
        return r;
    }

    std::mutex mu_;
    PgConnection conn_;
    std::string url_;
};

}  // namespace

Result<std::unique_ptr<RegistryBackend>> openPostgresRegistry(const std::string& url) {
    auto conn = PgConnection::connect(url);
    if (!conn) {
        return tl::unexpected(conn.error());
    }
    return std::unique_ptr<RegistryBackend>(std::make_unique<PgRegistry>(std::move(*conn), url));
}

}  // namespace pinet::io
