#pragma once
// EEPROM rollouts on disk: rows in stateDir/rollouts.db (SQLite, WAL; its own file so
// that the client registry's schema stays as it is) and each rollout's two files in
// stateDir/rollouts/NAME/ (pieeprom.upd, pieeprom.sig; written temp + rename).
//
// Who writes what: the CLI creates a rollout and queues commands (start, pause, resume,
// abort: `command` + `command_seq`); `serve`, the one process that sees the wire, applies
// them to its core::eeprom::Rollout and writes the state and the board rows back
// (`applied_seq`). So the two never write the same columns, and a command given while
// serve is down is applied when it starts.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/sqlite/sqlite.h"
#include "proto/error.h"

namespace pinet::io {

struct RolloutRow {
    std::string name;
    std::int64_t created = 0;  ///< unix seconds
    std::int64_t sigTimestamp = 0;
    std::string updateSha256;
    bool signedUpdate = false;
    std::string config;  ///< bootconf.txt inside the update
    std::string image;   ///< the source image's path, for humans
    std::string state = "created";
    std::int64_t wave = 0;
    std::int64_t wavePercent = 10;
    std::int64_t returnTimeout = 600;  ///< seconds (core::eeprom::kDefaultReturnTimeout)
    /// The SoC the update is for (2711 / 2712, from the image's size; its .sig's
    /// target-soc line); 0 in rows written before the column existed.
    std::int64_t soc = 0;
    std::string target;  ///< how the boards were chosen, for humans
    std::string reason;
    std::string command;  ///< the last command queued ("" none)
    std::int64_t commandSeq = 0;
    std::int64_t appliedSeq = 0;
    std::int64_t updated = 0;
};

struct RolloutBoardRow {
    std::string serial;
    std::int64_t wave = 0;
    std::string phase = "waiting";
    std::optional<std::int64_t> offeredTs;
    std::int64_t sigFetches = 0;
    std::int64_t updateFetches = 0;
    std::optional<std::int64_t> fetchedAtMs;  ///< unix milliseconds
    std::optional<std::int64_t> returnedAtMs;
    std::optional<std::int64_t> sinceMs;   ///< entered its phase (the deadline's start)
    std::optional<std::int64_t> seenAtMs;  ///< last seen since its wave opened
    std::string detail;
    bool excused = false;
};

class RolloutStore {
public:
    /// Opens (creating) stateDir/rollouts.db; the state directory must pass
    /// Registry::checkOwnership when running as root.
    static Result<RolloutStore> open(const std::filesystem::path& stateDir);

    /// A rollout name: 1..64 of [A-Za-z0-9._-], not starting with '.' (it is a folder).
    static bool validName(std::string_view name);

    /// Writes the files (temp + rename) and the row. Refuses an existing name.
    Result<void> create(const RolloutRow& row, const std::vector<std::uint8_t>& update,
                        const std::string& sig);
    Result<std::optional<RolloutRow>> find(const std::string& name);
    Result<std::vector<RolloutRow>> list();
    Result<std::vector<RolloutBoardRow>> boards(const std::string& name);

    /// CLI: fixes the boards (wave order) and queues "start".
    Result<void> requestStart(const std::string& name, const std::vector<RolloutBoardRow>& boards,
                              std::int64_t wavePercent, const std::string& target);
    /// CLI: queues "pause", "resume" or "abort".
    Result<void> requestCommand(const std::string& name, const std::string& command);
    /// serve: the rollout's state and every board, in one transaction.
    Result<void> saveProgress(const std::string& name, const std::string& state, std::int64_t wave,
                              const std::string& reason, std::int64_t appliedSeq,
                              const std::vector<RolloutBoardRow>& boards);

    /// Bumped by every write: serve polls it.
    Result<std::int64_t> generation();

    [[nodiscard]] std::filesystem::path filesDir(const std::string& name) const {
        return dir_ / "rollouts" / name;
    }

private:
    RolloutStore(Database db, std::filesystem::path dir)
        : db_(std::move(db)), dir_(std::move(dir)) {}
    Result<void> transaction(const std::function<Result<void>()>& work);
    /// Adds @p column to @p table when a database from an older version lacks it.
    static Result<void> addColumnIfMissing(Database& db, const char* table, const char* column,
                                           const char* declaration);

    Database db_;
    std::filesystem::path dir_;
};

}  // namespace pinet::io
