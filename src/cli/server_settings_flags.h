#pragma once
// CLI flags that set the persistent server settings (app::ServerSettings),
// shared by `client`, `nfs` and `doctor`: --config FILE (the pinetboot.toml
// `serve --config` reads) and the settings flags. Precedence: flags > config
// file > what an earlier command stored in the registry > defaults; the
// result is validated and stored (app::resolveSettings), except by doctor
// (a check changes nothing) and by `client add` (only once it succeeded).

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/config/config.h"
#include "app/settings.h"
#include "io/registry/registry.h"

namespace pinet::cli {

struct SettingsFlags {
    std::string configFile;         ///< --config; empty = none
    app::SettingsOverrides values;  ///< the settings flags; empty = not given
};

/// Adds --config FILE alone (for subcommands without settings flags: the file
/// can still name the state directory and the NFS backend they use).
void addConfigFlag(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f);

/// Adds --config FILE and every settings flag. @p stored: whether the
/// command stores them (their help says so); doctor does not.
void addSettingsFlags(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f, bool stored = true);

/// The state directory: --state-dir > $PINETBOOT_STATE_DIR > the config
/// file's [server] state_dir > /var/lib/pinetboot. On a bad config file
/// prints "FILE:LINE: message" (as serve does), sets kExitFailure and
/// returns nullopt.
std::optional<std::string> stateDirWithConfig(const std::string& stateDirFlag,
                                              const SettingsFlags& f);

/// $PINETBOOT_STORE_URL when set and not empty (it selects the PostgreSQL store).
std::optional<std::string> storeUrlFromEnv();

/// The registry of state directory @p dir, in the store @p c names ([store], with
/// $PINETBOOT_STORE_URL over it; app::storeLocation). On failure prints the error,
/// sets kExitFailure and returns nullopt.
std::optional<io::Registry> openRegistryFor(const std::string& dir, const app::config::Config& c);

/// The state directory and its registry, from --state-dir and --config (as
/// stateDirWithConfig) and the store: what the read-only commands open.
struct RegistrySession {
    std::string stateDir;
    io::Registry registry;
};
std::optional<RegistrySession> openRegistrySession(const std::string& stateDirFlag,
                                                   const SettingsFlags& f);

/// The registry of the state directory and the settings resolved against it:
/// what `client`, `nfs` and `doctor` start from.
struct SettingsSession {
    std::string stateDir;
    io::Registry registry;
    app::ServerSettings settings;
};

/// Reads --config (if given), opens the registry in the state directory (as
/// stateDirWithConfig) and resolves the settings, storing them unless
/// @p store says Never. On failure prints the error, sets exit code
/// kExitFailure and returns nullopt.
std::optional<SettingsSession> openSettingsSession(
    const std::string& stateDirFlag, const SettingsFlags& f,
    app::StoreSettings store = app::StoreSettings::IfChanged);

}  // namespace pinet::cli
