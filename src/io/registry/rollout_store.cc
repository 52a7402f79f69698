#include "io/registry/rollout_store.h"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <system_error>
#include <tuple>

#include <fmt/format.h>

#include "io/file.h"
#include "io/registry/registry.h"

namespace pinet::io {

namespace fs = std::filesystem;

namespace {
std::int64_t unixNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS rollouts (
    name           TEXT PRIMARY KEY,
    created        INTEGER NOT NULL,
    sig_ts         INTEGER NOT NULL,
    update_sha256  TEXT NOT NULL,
    signed         INTEGER NOT NULL,
    config         TEXT NOT NULL,
    image          TEXT NOT NULL,
    state          TEXT NOT NULL,
    wave           INTEGER NOT NULL DEFAULT 0,
    wave_percent   INTEGER NOT NULL DEFAULT 10,
    return_timeout INTEGER NOT NULL DEFAULT 600,
    soc            INTEGER NOT NULL DEFAULT 0,
    target         TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    command        TEXT NOT NULL DEFAULT '',
    command_seq    INTEGER NOT NULL DEFAULT 0,
    applied_seq    INTEGER NOT NULL DEFAULT 0,
    updated        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rollout_boards (
    rollout        TEXT NOT NULL,
    serial         TEXT NOT NULL,
    wave           INTEGER NOT NULL,
    phase          TEXT NOT NULL,
    offered_ts     INTEGER,
    sig_fetches    INTEGER NOT NULL DEFAULT 0,
    update_fetches INTEGER NOT NULL DEFAULT 0,
    fetched_at     INTEGER,
    returned_at    INTEGER,
    since_at       INTEGER,
    seen_at        INTEGER,
    detail         TEXT NOT NULL DEFAULT '',
    excused        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rollout, serial)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', 0);
)sql";

constexpr const char* kColumns =
    "name, created, sig_ts, update_sha256, signed, config, image, state, wave, wave_percent, "
    "return_timeout, target, reason, command, command_seq, applied_seq, updated, soc";

RolloutRow readRow(const Statement& st) {
    RolloutRow r;
    r.name = st.text(0);
    r.created = st.int64(1);
    r.sigTimestamp = st.int64(2);
    r.updateSha256 = st.text(3);
    r.signedUpdate = st.int64(4) != 0;
    r.config = st.text(5);
    r.image = st.text(6);
    r.state = st.text(7);
    r.wave = st.int64(8);
    r.wavePercent = st.int64(9);
    r.returnTimeout = st.int64(10);
    r.target = st.text(11);
    r.reason = st.text(12);
    r.command = st.text(13);
    r.commandSeq = st.int64(14);
    r.appliedSeq = st.int64(15);
    r.updated = st.int64(16);
    r.soc = st.int64(17);
    return r;
}
}  // namespace

bool RolloutStore::validName(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '.') {
        return false;
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

Result<RolloutStore> RolloutStore::open(const fs::path& stateDir) {
    std::error_code ec;
    if (fs::create_directories(stateDir, ec)) {
        fs::permissions(stateDir, fs::perms::owner_all, ec);
    }
    if (ec) {
        return fail(
            fmt::format("{}: cannot create state directory: {}", stateDir.string(), ec.message()));
    }
    if (auto r = Registry::checkOwnership(stateDir, ::geteuid()); !r) {
        return tl::unexpected(r.error());
    }
    const fs::path p = stateDir / "rollouts.db";
    auto db = Database::open(p.string());
    if (!db) {
        return tl::unexpected(db.error());
    }
    if (auto r = db->exec(std::string("BEGIN IMMEDIATE;") + kSchema + "COMMIT;"); !r) {
        return fail(fmt::format("{}: {}", p.string(), r.error().message));
    }
    // Columns added after the first release of rollouts (CREATE TABLE IF NOT EXISTS
    // leaves an existing table as it is).
    for (const auto& [table, column, decl] :
         {std::tuple{"rollouts", "soc", "INTEGER NOT NULL DEFAULT 0"},
          std::tuple{"rollout_boards", "since_at", "INTEGER"},
          std::tuple{"rollout_boards", "seen_at", "INTEGER"}}) {
        if (auto r = addColumnIfMissing(*db, table, column, decl); !r) {
            return fail(fmt::format("{}: {}", p.string(), r.error().message));
        }
    }
    return RolloutStore(std::move(*db), stateDir);
}

Result<void> RolloutStore::addColumnIfMissing(Database& db, const char* table, const char* column,
                                              const char* declaration) {
    auto st =
        db.prepare(fmt::format("SELECT 1 FROM pragma_table_info('{}') WHERE name = ?1", table));
    if (!st) {
        return tl::unexpected(st.error());
    }
    st->bind(1, std::string(column));
    auto has = st->step();
    if (!has) {
        return tl::unexpected(has.error());
    }
    if (*has) {
        return {};
    }
    return db.exec(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", table, column, declaration));
}

Result<void> RolloutStore::transaction(const std::function<Result<void>()>& work) {
    if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) {
        return r;
    }
    auto r = work();
    if (r) {
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

Result<void> RolloutStore::create(const RolloutRow& row, const std::vector<std::uint8_t>& update,
                                  const std::string& sig) {
    if (!validName(row.name)) {
        return fail(fmt::format("rollout name '{}': use 1-64 of A-Z a-z 0-9 . _ - (no leading .)",
                                row.name));
    }
    auto existing = find(row.name);
    if (!existing) {
        return tl::unexpected(existing.error());
    }
    if (*existing) {
        return fail(fmt::format("rollout {} already exists", row.name));
    }
    const fs::path dir = filesDir(row.name);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(fmt::format("{}: cannot create: {}", dir.string(), ec.message()));
    }
    // The files first: a row is only ever there with its files beside it.
    if (auto r = writeFileAtomic(dir / "pieeprom.upd", update); !r) {
        return r;
    }
    if (auto r = writeFileAtomic(dir / "pieeprom.sig", sig); !r) {
        return r;
    }
    return transaction([&]() -> Result<void> {
        auto st = db_.prepare(fmt::format(
            "INSERT INTO rollouts({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'created', 0, ?8, ?9, "
            "'', '', '', 0, 0, ?2, ?10)",
            kColumns));
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, row.name)
            .bind(2, row.created != 0 ? row.created : unixNow())
            .bind(3, row.sigTimestamp)
            .bind(4, row.updateSha256)
            .bind(5, std::int64_t{row.signedUpdate ? 1 : 0})
            .bind(6, row.config)
            .bind(7, row.image)
            .bind(8, row.wavePercent)
            .bind(9, row.returnTimeout)
            .bind(10, row.soc);
        return st->run();
    });
}

Result<std::optional<RolloutRow>> RolloutStore::find(const std::string& name) {
    auto st = db_.prepare(fmt::format("SELECT {} FROM rollouts WHERE name = ?1", kColumns));
    if (!st) {
        return tl::unexpected(st.error());
    }
    st->bind(1, name);
    auto has = st->step();
    if (!has) {
        return tl::unexpected(has.error());
    }
    if (!*has) {
        return std::optional<RolloutRow>();
    }
    return std::optional<RolloutRow>(readRow(*st));
}

Result<std::vector<RolloutRow>> RolloutStore::list() {
    auto st = db_.prepare(fmt::format("SELECT {} FROM rollouts ORDER BY created, name", kColumns));
    if (!st) {
        return tl::unexpected(st.error());
    }
    std::vector<RolloutRow> out;
    for (;;) {
        auto has = st->step();
        if (!has) {
            return tl::unexpected(has.error());
        }
        if (!*has) {
            return out;
        }
        out.push_back(readRow(*st));
    }
}

Result<std::vector<RolloutBoardRow>> RolloutStore::boards(const std::string& name) {
    auto st = db_.prepare(
        "SELECT serial, wave, phase, offered_ts, sig_fetches, update_fetches, fetched_at, "
        "returned_at, detail, excused, since_at, seen_at FROM rollout_boards WHERE rollout = ?1 "
        "ORDER BY wave, rowid");
    if (!st) {
        return tl::unexpected(st.error());
    }
    st->bind(1, name);
    std::vector<RolloutBoardRow> out;
    auto optInt = [&](int col) -> std::optional<std::int64_t> {
        if (!st->optText(col)) {
            return std::nullopt;
        }
        return st->int64(col);
    };
    for (;;) {
        auto has = st->step();
        if (!has) {
            return tl::unexpected(has.error());
        }
        if (!*has) {
            return out;
        }
        RolloutBoardRow b;
        b.serial = st->text(0);
        b.wave = st->int64(1);
        b.phase = st->text(2);
        b.offeredTs = optInt(3);
        b.sigFetches = st->int64(4);
        b.updateFetches = st->int64(5);
        b.fetchedAtMs = optInt(6);
        b.returnedAtMs = optInt(7);
        b.detail = st->text(8);
        b.excused = st->int64(9) != 0;
        b.sinceMs = optInt(10);
        b.seenAtMs = optInt(11);
        out.push_back(std::move(b));
    }
}

namespace {
Result<void> writeBoards(Database& db, const std::string& name,
                         const std::vector<RolloutBoardRow>& boards) {
    auto del = db.prepare("DELETE FROM rollout_boards WHERE rollout = ?1");
    if (!del) {
        return tl::unexpected(del.error());
    }
    del->bind(1, name);
    if (auto r = del->run(); !r) {
        return r;
    }
    auto ins = db.prepare(
        "INSERT INTO rollout_boards(rollout, serial, wave, phase, offered_ts, sig_fetches, "
        "update_fetches, fetched_at, returned_at, detail, excused, since_at, seen_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!ins) {
        return tl::unexpected(ins.error());
    }
    auto bindOptInt = [&](int idx, const std::optional<std::int64_t>& v) {
        if (v) {
            ins->bind(idx, *v);
        } else {
            ins->bindNull(idx);
        }
    };
    for (const auto& b : boards) {
        ins->reset();
        ins->bind(1, name).bind(2, b.serial).bind(3, b.wave).bind(4, b.phase);
        bindOptInt(5, b.offeredTs);
        ins->bind(6, b.sigFetches).bind(7, b.updateFetches);
        bindOptInt(8, b.fetchedAtMs);
        bindOptInt(9, b.returnedAtMs);
        ins->bind(10, b.detail).bind(11, std::int64_t{b.excused ? 1 : 0});
        bindOptInt(12, b.sinceMs);
        bindOptInt(13, b.seenAtMs);
        if (auto r = ins->run(); !r) {
            return r;
        }
    }
    return {};
}
}  // namespace

Result<void> RolloutStore::requestStart(const std::string& name,
                                        const std::vector<RolloutBoardRow>& boards,
                                        std::int64_t wavePercent, const std::string& target) {
    return transaction([&]() -> Result<void> {
        if (auto r = writeBoards(db_, name, boards); !r) {
            return r;
        }
        auto st = db_.prepare(
            "UPDATE rollouts SET wave_percent = ?2, target = ?3, command = 'start', "
            "command_seq = command_seq + 1, updated = ?4 WHERE name = ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, name).bind(2, wavePercent).bind(3, target).bind(4, unixNow());
        return st->run();
    });
}

Result<void> RolloutStore::requestCommand(const std::string& name, const std::string& command) {
    return transaction([&]() -> Result<void> {
        auto st = db_.prepare(
            "UPDATE rollouts SET command = ?2, command_seq = command_seq + 1, updated = ?3 "
            "WHERE name = ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, name).bind(2, command).bind(3, unixNow());
        return st->run();
    });
}

Result<void> RolloutStore::saveProgress(const std::string& name, const std::string& state,
                                        std::int64_t wave, const std::string& reason,
                                        std::int64_t appliedSeq,
                                        const std::vector<RolloutBoardRow>& boards) {
    return transaction([&]() -> Result<void> {
        if (auto r = writeBoards(db_, name, boards); !r) {
            return r;
        }
        auto st = db_.prepare(
            "UPDATE rollouts SET state = ?2, wave = ?3, reason = ?4, applied_seq = ?5, "
            "updated = ?6 WHERE name = ?1");
        if (!st) {
            return tl::unexpected(st.error());
        }
        st->bind(1, name)
            .bind(2, state)
            .bind(3, wave)
            .bind(4, reason)
            .bind(5, appliedSeq)
            .bind(6, unixNow());
        return st->run();
    });
}

Result<std::int64_t> RolloutStore::generation() {
    auto st = db_.prepare("SELECT value FROM meta WHERE key = 'generation'");
    if (!st) {
        return tl::unexpected(st.error());
    }
    auto has = st->step();
    if (!has) {
        return tl::unexpected(has.error());
    }
    return *has ? st->int64(0) : 0;
}

}  // namespace pinet::io
