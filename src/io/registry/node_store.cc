#include "io/registry/node_store.h"

#include <unistd.h>

#include <array>

#include <fmt/format.h>

#include "io/pg/pg.h"
#include "io/sqlite/sqlite.h"

namespace pinet::io {

namespace {

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr const char* kSelectBoots =
    "SELECT node_id, serial, mac, ip, model, file, outcome, failure, started, ended FROM boots "
    "ORDER BY id DESC LIMIT ";

class PgNodeStore final : public NodeStore {
public:
    PgNodeStore(PgConnection conn, std::string where)
        : conn_(std::move(conn)), where_(std::move(where)) {}

    std::string describe() const override { return where_; }

    Result<void> heartbeat(const std::string& id, const std::string& address,
                           std::int64_t startedMs) override {
        reconnect();
        auto r = conn_.query(
            "INSERT INTO nodes(node_id, address, heartbeat, started) VALUES ($1::text, $2::text, "
            "(extract(epoch from clock_timestamp()) * 1000)::bigint, $3::bigint) "
            "ON CONFLICT (node_id) DO UPDATE SET address = EXCLUDED.address, "
            "heartbeat = EXCLUDED.heartbeat, started = EXCLUDED.started",
            {id, address, pgParam(startedMs)});
        if (!r) {
            return fail("heartbeat: " + r.error().message);
        }
        return {};
    }

    Result<std::vector<NodeRow>> nodes() override {
        reconnect();
        auto r = conn_.query(
            "SELECT node_id, address, heartbeat, started, "
            "(extract(epoch from clock_timestamp()) * 1000)::bigint - heartbeat FROM nodes "
            "ORDER BY node_id COLLATE \"C\" LIMIT $1::bigint",
            {pgParam(static_cast<std::int64_t>(kMaxNodes))});
        if (!r) {
            return fail("nodes: " + r.error().message);
        }
        std::vector<NodeRow> out;
        for (int i = 0; i < r->rows(); ++i) {
            auto hb = r->int64(i, 2);
            auto st = r->int64(i, 3);
            auto age = r->int64(i, 4);
            if (!hb || !st || !age) {
                continue;  // a row edited into nonsense is no member
            }
            out.push_back({r->text(i, 0), r->text(i, 1), *hb, *st, *age});
        }
        return out;
    }

    Result<void> recordBoots(std::span<const BootRow> boots) override {
        if (boots.empty()) {
            return {};
        }
        reconnect();
        if (auto b = conn_.execConstant("BEGIN"); !b) {
            return fail("boots: " + b.error().message);
        }
        for (const auto& row : boots) {
            auto r = conn_.query(
                "INSERT INTO boots(node_id, serial, mac, ip, model, file, outcome, failure, "
                "started, ended) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, "
                "$6::text, $7::text, $8::text, $9::bigint, $10::bigint)",
                {row.node, row.serial, row.mac, row.ip, row.model, row.file, row.outcome,
                 row.failure, pgParam(row.startedMs), pgParam(row.endedMs)});
            if (!r) {
                (void)conn_.execConstant("ROLLBACK");
                return fail("boots: " + r.error().message);
            }
        }
        auto trim =
            conn_.query("DELETE FROM boots WHERE id <= (SELECT max(id) FROM boots) - $1::bigint",
                        {pgParam(kKeepBoots)});
        if (!trim) {
            (void)conn_.execConstant("ROLLBACK");
            return fail("boots: " + trim.error().message);
        }
        if (auto c = conn_.execConstant("COMMIT"); !c) {
            (void)conn_.execConstant("ROLLBACK");
            return fail("boots: " + c.error().message);
        }
        return {};
    }

    Result<std::vector<BootRow>> recentBoots(std::size_t limit) override {
        reconnect();
        auto r = conn_.query(std::string(kSelectBoots) + "$1::bigint",
                             {pgParam(static_cast<std::int64_t>(limit))});
        if (!r) {
            return fail("boots: " + r.error().message);
        }
        std::vector<BootRow> out;
        for (int i = 0; i < r->rows(); ++i) {
            auto st = r->int64(i, 8);
            auto en = r->int64(i, 9);
            if (!st || !en) {
                continue;
            }
            out.push_back({r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3),
                           r->text(i, 4), r->text(i, 5), r->text(i, 6), r->text(i, 7), *st, *en});
        }
        return out;
    }

    Result<void> publishTrees(const std::string& id, std::span<const HashedTree> changed,
                              std::span<const std::string> removed) override {
        if (changed.empty() && removed.empty()) {
            return {};
        }
        reconnect();
        if (auto b = conn_.execConstant("BEGIN"); !b) {
            return fail("trees: " + b.error().message);
        }
        auto body = [&]() -> Result<void> {
            for (const auto& t : changed) {
                auto r = conn_.query(
                    "INSERT INTO node_trees(node_id, tree, digest, files, bytes, problem, "
                    "manifest, updated) VALUES ($1::text, $2::text, $3::text, $4::bigint, "
                    "$5::bigint, $6::text, $7::text, "
                    "(extract(epoch from clock_timestamp()) * 1000)::bigint) "
                    "ON CONFLICT (node_id, tree) DO UPDATE SET digest = EXCLUDED.digest, "
                    "files = EXCLUDED.files, bytes = EXCLUDED.bytes, problem = EXCLUDED.problem, "
                    "manifest = EXCLUDED.manifest, updated = EXCLUDED.updated",
                    {id, t.name, t.digest, pgParam(static_cast<std::int64_t>(t.files)),
                     pgParam(static_cast<std::int64_t>(t.bytes)), t.problem, t.manifest});
                if (!r) {
                    return fail("trees: " + r.error().message);
                }
            }
            for (const auto& name : removed) {
                auto r = conn_.query(
                    "DELETE FROM node_trees WHERE node_id = $1::text AND tree = $2::text",
                    {id, name});
                if (!r) {
                    return fail("trees: " + r.error().message);
                }
            }
            if (auto c = conn_.execConstant("COMMIT"); !c) {
                return fail("trees: " + c.error().message);
            }
            return {};
        };
        auto r = body();
        if (!r) {
            (void)conn_.execConstant("ROLLBACK");
        }
        return r;
    }

    Result<std::vector<TreeRow>> treeDigests() override {
        reconnect();
        auto r = conn_.query(
            "SELECT node_id, tree, digest, files, bytes, problem, updated FROM node_trees "
            "ORDER BY node_id COLLATE \"C\", tree COLLATE \"C\" LIMIT $1::bigint",
            {pgParam(kMaxTreeRows)});
        if (!r) {
            return fail("trees: " + r.error().message);
        }
        std::vector<TreeRow> out;
        for (int i = 0; i < r->rows(); ++i) {
            auto files = r->int64(i, 3);
            auto bytes = r->int64(i, 4);
            auto updated = r->int64(i, 6);
            if (!files || !bytes || !updated) {
                continue;  // a row edited into nonsense: that tree counts as absent
            }
            out.push_back({r->text(i, 0),
                           r->text(i, 1),
                           r->text(i, 2),
                           *files,
                           *bytes,
                           r->text(i, 5),
                           *updated,
                           {}});
        }
        return out;
    }

    Result<std::vector<TreeRow>> treeManifests(const std::string& tree) override {
        reconnect();
        auto r = conn_.query(
            "SELECT node_id, tree, digest, files, bytes, problem, updated, "
            "CASE WHEN octet_length(manifest) <= $2::bigint THEN manifest ELSE '' END, "
            "octet_length(manifest) <= $2::bigint FROM node_trees WHERE tree = $1::text "
            "ORDER BY node_id COLLATE \"C\" LIMIT $3::bigint",
            {tree, pgParam(kMaxManifestBytes), pgParam(static_cast<std::int64_t>(kMaxNodes))});
        if (!r) {
            return fail("trees: " + r.error().message);
        }
        std::vector<TreeRow> out;
        for (int i = 0; i < r->rows(); ++i) {
            auto files = r->int64(i, 3);
            auto bytes = r->int64(i, 4);
            auto updated = r->int64(i, 6);
            if (!files || !bytes || !updated) {
                continue;
            }
            TreeRow row{r->text(i, 0), r->text(i, 1), r->text(i, 2), *files,
                        *bytes,        r->text(i, 5), *updated,      r->text(i, 7)};
            if (r->text(i, 8) != "t") {
                row.problem =
                    fmt::format("its manifest is larger than {} bytes", kMaxManifestBytes);
            }
            out.push_back(std::move(row));
        }
        return out;
    }

private:
    void reconnect() {
        if (conn_.broken()) {
            (void)conn_.reset();
        }
    }
    PgConnection conn_;
    std::string where_;
};

class SqliteNodeStore final : public NodeStore {
public:
    SqliteNodeStore(Database db, std::string where)
        : db_(std::move(db)), where_(std::move(where)) {}

    std::string describe() const override { return where_; }

    Result<void> heartbeat(const std::string& id, const std::string& address,
                           std::int64_t startedMs) override {
        auto st = db_.prepare(
            "INSERT INTO nodes(node_id, address, heartbeat, started) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, "
            "heartbeat = excluded.heartbeat, started = excluded.started");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, id).bind(2, address).bind(3, nowMs()).bind(4, startedMs);
        return st->run();
    }

    Result<std::vector<NodeRow>> nodes() override {
        auto st = db_.prepare(
            "SELECT node_id, address, heartbeat, started FROM nodes ORDER BY node_id LIMIT ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, static_cast<std::int64_t>(kMaxNodes));
        std::vector<NodeRow> out;
        const std::int64_t now = nowMs();
        while (true) {
            auto row = st->step();
            if (!row) {
                return tl::unexpected(row.error());
            }
            if (!*row) {
                break;
            }
            out.push_back(
                {st->text(0), st->text(1), st->int64(2), st->int64(3), now - st->int64(2)});
        }
        return out;
    }

    Result<void> recordBoots(std::span<const BootRow> boots) override {
        if (boots.empty()) {
            return {};
        }
        if (auto b = db_.exec("BEGIN IMMEDIATE"); !b) {
            return b;
        }
        auto body = [&]() -> Result<void> {
            auto st = db_.prepare(
                "INSERT INTO boots(node_id, serial, mac, ip, model, file, outcome, failure, "
                "started, ended) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
            if (!st) {
                return tl::unexpected(st.error());
            }
            for (const auto& row : boots) {
                st->reset();
                st->bind(1, row.node).bind(2, row.serial).bind(3, row.mac).bind(4, row.ip);
                st->bind(5, row.model).bind(6, row.file).bind(7, row.outcome);
                st->bind(8, row.failure).bind(9, row.startedMs).bind(10, row.endedMs);
                if (auto r = st->run(); !r) {
                    return r;
                }
            }
            auto trim =
                db_.prepare("DELETE FROM boots WHERE id <= (SELECT max(id) FROM boots) - ?1");
            if (!trim) {
                return tl::unexpected(trim.error());
            }
            trim->bind(1, kKeepBoots);
            return trim->run();
        };
        auto r = body();
        if (r) {
            r = db_.exec("COMMIT");
        }
        if (!r) {
            (void)db_.exec("ROLLBACK");
        }
        return r;
    }

    Result<std::vector<BootRow>> recentBoots(std::size_t limit) override {
        auto st = db_.prepare(std::string(kSelectBoots) + "?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, static_cast<std::int64_t>(limit));
        std::vector<BootRow> out;
        while (true) {
            auto row = st->step();
            if (!row) {
                return tl::unexpected(row.error());
            }
            if (!*row) {
                break;
            }
            out.push_back({st->text(0), st->text(1), st->text(2), st->text(3), st->text(4),
                           st->text(5), st->text(6), st->text(7), st->int64(8), st->int64(9)});
        }
        return out;
    }

    Result<void> publishTrees(const std::string& id, std::span<const HashedTree> changed,
                              std::span<const std::string> removed) override {
        if (changed.empty() && removed.empty()) {
            return {};
        }
        if (auto b = db_.exec("BEGIN IMMEDIATE"); !b) {
            return b;
        }
        auto body = [&]() -> Result<void> {
            auto put = db_.prepare(
                "INSERT INTO node_trees(node_id, tree, digest, files, bytes, problem, manifest, "
                "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (node_id, tree) DO "
                "UPDATE SET digest = excluded.digest, files = excluded.files, bytes = "
                "excluded.bytes, problem = excluded.problem, manifest = excluded.manifest, "
                "updated = excluded.updated");
            if (!put) {
                return tl::unexpected(put.error());
            }
            for (const auto& t : changed) {
                put->reset();
                put->bind(1, id).bind(2, t.name).bind(3, t.digest);
                put->bind(4, static_cast<std::int64_t>(t.files));
                put->bind(5, static_cast<std::int64_t>(t.bytes));
                put->bind(6, t.problem).bind(7, t.manifest).bind(8, nowMs());
                if (auto r = put->run(); !r) {
                    return r;
                }
            }
            auto del = db_.prepare("DELETE FROM node_trees WHERE node_id = ?1 AND tree = ?2");
            if (!del) {
                return tl::unexpected(del.error());
            }
            for (const auto& name : removed) {
                del->reset();
                del->bind(1, id).bind(2, name);
                if (auto r = del->run(); !r) {
                    return r;
                }
            }
            return db_.exec("COMMIT");
        };
        auto r = body();
        if (!r) {
            (void)db_.exec("ROLLBACK");
        }
        return r;
    }

    Result<std::vector<TreeRow>> treeDigests() override {
        auto st = db_.prepare(
            "SELECT node_id, tree, digest, files, bytes, problem, updated FROM node_trees "
            "ORDER BY node_id, tree LIMIT ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, kMaxTreeRows);
        std::vector<TreeRow> out;
        while (true) {
            auto row = st->step();
            if (!row) {
                return tl::unexpected(row.error());
            }
            if (!*row) {
                break;
            }
            out.push_back({st->text(0),
                           st->text(1),
                           st->text(2),
                           st->int64(3),
                           st->int64(4),
                           st->text(5),
                           st->int64(6),
                           {}});
        }
        return out;
    }

    Result<std::vector<TreeRow>> treeManifests(const std::string& tree) override {
        auto st = db_.prepare(
            "SELECT node_id, tree, digest, files, bytes, problem, updated, "
            "CASE WHEN length(CAST(manifest AS BLOB)) <= ?2 THEN manifest ELSE '' END, "
            "length(CAST(manifest AS BLOB)) <= ?2 FROM node_trees WHERE tree = ?1 "
            "ORDER BY node_id LIMIT ?3");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, tree).bind(2, kMaxManifestBytes);
        st->bind(3, static_cast<std::int64_t>(kMaxNodes));
        std::vector<TreeRow> out;
        while (true) {
            auto row = st->step();
            if (!row) {
                return tl::unexpected(row.error());
            }
            if (!*row) {
                break;
            }
            TreeRow r{st->text(0),  st->text(1), st->text(2),  st->int64(3),
                      st->int64(4), st->text(5), st->int64(6), st->text(7)};
            if (st->int64(8) == 0) {
                r.problem = fmt::format("its manifest is larger than {} bytes", kMaxManifestBytes);
            }
            out.push_back(std::move(r));
        }
        return out;
    }

private:
    Database db_;
    std::string where_;
};

}  // namespace

std::string hostName() {
    // POSIX: HOST_NAME_MAX is 255 on Linux; one more for the terminating NUL.
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return {};
    }
    return std::string(buf.data());
}

Result<std::unique_ptr<NodeStore>> NodeStore::open(const std::filesystem::path& stateDir,
                                                   const StoreLocation& where) {
    if (where.backend == StoreLocation::Backend::Postgresql) {
        auto c = PgConnection::connect(where.url);
        if (!c) {
            return fail("node store " + c.error().message);
        }
        return std::unique_ptr<NodeStore>(
            std::make_unique<PgNodeStore>(std::move(*c), PgConnection::redact(where.url)));
    }
    const auto path = (stateDir / "registry.db").string();
    // One writer a second: a short busy timeout keeps a CLI transaction from holding
    // the node thread (the next heartbeat tries again).
    Database::Options o;
    o.busyTimeout = std::chrono::milliseconds(500);
    o.serialized = false;
    o.synchronousNormal = true;
    auto db = Database::open(path, o);
    if (!db) {
        return fail("node store sqlite " + path + ": " + db.error().message);
    }
    return std::unique_ptr<NodeStore>(
        std::make_unique<SqliteNodeStore>(std::move(*db), "sqlite " + path));
}

}  // namespace pinet::io
