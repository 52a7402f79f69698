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

/// Fills in one top-level subcommand (its options, subcommands and handler);
/// main has created it from the entry's name and summary. The handler stores
/// its exit code with setExitCode().
using CommandSetup = std::function<void(CLI::App* command)>;

/// Only the invoked command is set up in full; the others appear as name and
/// summary alone, which is all that top-level --help shows. Building every
/// command's option tree costs about 300 KiB of heap and its page faults on
/// every start (issue #2: `eeprom apply` well under 50 ms as a whole process).
struct CommandEntry {
    int order;            ///< position in --help
    std::string name;     ///< top-level name; two entries may share one
    std::string summary;  ///< one line for --help; empty when another entry has it
    CommandSetup setup;
};

std::vector<CommandEntry>& commandTable();

struct CommandRegistrar {
    CommandRegistrar(int order, std::string name, std::string summary, CommandSetup setup) {
        commandTable().push_back({order, std::move(name), std::move(summary), std::move(setup)});
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
/// Registers a top-level command at static-init time.
#define PINET_COMMAND(order, name, summary, fn)                                                    \
    static const ::pinet::cli::CommandRegistrar PINET_CONCAT(pinetCommand_, __LINE__)(order, name, \
                                                                                      summary, fn)
