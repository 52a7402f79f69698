#pragma once
// Subcommands register themselves: each src/cli/cmd_*.cc defines its options
// and handler and adds one PINET_COMMAND line, so adding a command never
// touches main.cc.

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace pinet::cli {

/// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  ///< the operation failed (bad input, check failed)
inline constexpr int kExitUsage = 2;    ///< bad command line

/// Sets up one top-level subcommand on @p app. The handler it installs
/// stores its exit code with setExitCode().
using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandEntry {
    int order;  ///< position in --help
    CommandSetup setup;
};

std::vector<CommandEntry>& commandTable();

struct CommandRegistrar {
    CommandRegistrar(int order, CommandSetup setup) {
        commandTable().push_back({order, std::move(setup)});
    }
};

void setExitCode(int code);
int exitCode();

/// Prints "pinetboot: error: <msg>" to stderr.
void printError(const std::string& msg);

/// Resolves the state directory: --state-dir, else $PINETBOOT_STATE_DIR,
/// else /var/lib/pinetboot.
std::string stateDir(const std::string& flagValue);

/// As above, with a config file's [server] state_dir (empty = none) between
/// $PINETBOOT_STATE_DIR and the default: the order `serve` documents.
std::string stateDir(const std::string& flagValue, const std::string& configValue);

}  // namespace pinet::cli

#define PINET_CONCAT_INNER(a, b) a##b
#define PINET_CONCAT(a, b) PINET_CONCAT_INNER(a, b)
/// Registers a command setup function at static-init time.
#define PINET_COMMAND(order, fn) \
    static const ::pinet::cli::CommandRegistrar PINET_CONCAT(pinetCommand_, __LINE__)(order, fn)
