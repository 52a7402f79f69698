// pinetboot entry point: builds the CLI from the registered commands. The same
// file makes both programs: pinetboot-full, and with PINET_CLI_FRONT the front
// `pinetboot`, which runs its few commands itself and hands over the rest.

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "io/log_format.h"
#include "version.h"

namespace pinet::cli {

std::vector<CommandEntry>& commandTable() {
    static std::vector<CommandEntry> table;
    return table;
}

namespace {
int gExitCode = kExitOk;
}

void setExitCode(int code) {
    gExitCode = code;
}
int exitCode() {
    return gExitCode;
}

void printError(const std::string& msg) {
    std::cerr << "pinetboot: error: " << msg << '\n';
}

std::string stateDir(const std::string& flagValue) {
    if (!flagValue.empty()) {
        return flagValue;
    }
    if (const char* env = std::getenv("PINETBOOT_STATE_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
    return "/var/lib/pinetboot";
}

std::string stateDir(const std::string& flagValue, const std::string& configValue) {
    const char* env = std::getenv("PINETBOOT_STATE_DIR");
    if (flagValue.empty() && (env == nullptr || *env == '\0') && !configValue.empty()) {
        return configValue;
    }
    return stateDir(flagValue);
}

namespace {

/// The top-level command named on the command line: the first argument that
/// is not an option (pinetboot's own options take no values), or "" for none.
std::string invokedCommand(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") {
            return i + 1 < argc ? argv[i + 1] : "";
        }
        if (!arg.starts_with('-')) {
            return std::string(arg);
        }
    }
    return "";
}

#ifdef PINET_CLI_FRONT
/// The front (see src/CMakeLists.txt) hands every command it lacks, and bare
/// --help or --version, to pinetboot-full: next to itself in a build tree,
/// in ../lib/pinetboot when installed. execv keeps the PID (systemd, tests
/// that signal the daemon) and argv, so the hand-over is invisible.
[[noreturn]] void handOver(char** argv) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::filesystem::path dir = ec ? std::filesystem::path(".") : self.parent_path();
    const std::filesystem::path candidates[] = {dir / "pinetboot-full",
                                                dir.parent_path() / "lib/pinetboot/pinetboot-full"};
    int err = ENOENT;
    for (const auto& path : candidates) {
        ::execv(path.c_str(), argv);
        err = errno;
        if (err != ENOENT) {
            printError("cannot run " + path.string() + ": " + std::strerror(err));
            std::exit(kExitFailure);
        }
    }
    printError("cannot find pinetboot-full next to " + self.string() + " or in " +
               (dir.parent_path() / "lib/pinetboot").string() + ": " + std::strerror(err));
    std::exit(kExitFailure);
}
#endif

}  // namespace

}  // namespace pinet::cli

int main(int argc, char** argv) {
    using namespace pinet::cli;
    auto& table = commandTable();
    const std::string invoked = invokedCommand(argc, argv);
    const bool known = std::any_of(table.begin(), table.end(),
                                   [&](const CommandEntry& e) { return e.name == invoked; });
#ifdef PINET_CLI_FRONT
    if (!known) {
        handOver(argv);
    }
#else
    if (!known && !invoked.empty()) {
        // CLI11 would only say "A subcommand is required".
        printError("unknown command '" + invoked + "' (pinetboot --help lists them)");
        return kExitUsage;
    }
#endif
    // Logs go to stderr (journald picks them up); stdout is for command output.
    auto logger = spdlog::stderr_color_mt("pinetboot");
    spdlog::set_default_logger(logger);
    // Control bytes in a message are escaped, whatever the message (io/log_format.h).
    pinet::io::useSafeLogFormat("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    if (const char* lvl = std::getenv("PINETBOOT_LOG"); lvl != nullptr) {
        spdlog::set_level(spdlog::level::from_str(lvl));
    }

    CLI::App app{"pinetboot: network boot server and toolkit for Raspberry Pi 4/5 and CM4/CM5"};
    app.name("pinetboot");
    app.set_version_flag("-V,--version", std::string("pinetboot ") + pinet::versionString());
    app.require_subcommand(1);
    app.fallthrough(false);
    app.add_flag_callback(
        "-v,--verbose", [] { spdlog::set_level(spdlog::level::debug); }, "Debug logging");

    std::stable_sort(table.begin(), table.end(), [](const CommandEntry& a, const CommandEntry& b) {
        return a.order < b.order;
    });
    std::map<std::string, CLI::App*> made;
    for (const auto& entry : table) {
        CLI::App*& cmd = made[entry.name];
        if (cmd == nullptr) {
            cmd = app.add_subcommand(entry.name, entry.summary);
        } else if (cmd->get_description().empty()) {
            cmd->description(entry.summary);
        }
        if (entry.name == invoked) {
            entry.setup(cmd);
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version arrive here too, with exit code 0.
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    } catch (const std::exception& e) {
        // Start-up and config errors end here: one line, non-zero exit.
        printError(e.what());
        return kExitFailure;
    }
    return exitCode();
}
