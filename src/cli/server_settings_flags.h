#pragma once
// CLI flags that set the persistent server settings (app::ServerSettings),
// shared by `client add`, `nfs apply` and `doctor`. Flags given on the
// command line are validated and stored in the registry; the rest come from
// what an earlier command stored.

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/settings.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::cli {

struct SettingsFlags {
    std::string serverIp;
    std::string nfsVersion;
    std::string nfsBackend;
    std::string clientSubnet;
    std::string interface;
    std::string exportsFile;
    std::string exportfsCommand;
    std::string ganeshaCommand;
    std::optional<bool> bootExport;
};

void addSettingsFlags(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f);

/// Loads the stored settings, applies the given flags, validates and stores them.
Result<app::ServerSettings> resolveSettings(io::Registry& reg, const SettingsFlags& f);

/// The registry of the state directory and the settings resolved against it:
/// what `client`, `nfs` and `doctor` start from.
struct SettingsSession {
    std::string stateDir;
    io::Registry registry;
    app::ServerSettings settings;
};

/// Opens the registry in stateDir(@p stateDirFlag) and resolves @p f against
/// it. On failure prints the error, sets exit code kExitFailure and returns
/// nullopt.
std::optional<SettingsSession> openSettingsSession(const std::string& stateDirFlag,
                                                   const SettingsFlags& f);

}  // namespace pinet::cli
