// pinetboot entry point: builds the CLI from the registered commands.

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "version.h"

namespace pinet::cli {

std::vector<CommandEntry>& commandTable() {
    static std::vector<CommandEntry> table;
    return table;
}

namespace {
int gExitCode = kExitOk;
}

void setExitCode(int code) { gExitCode = code; }
int exitCode() { return gExitCode; }

void printError(const std::string& msg) { std::cerr << "pinetboot: error: " << msg << '\n'; }

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

}  // namespace pinet::cli

int main(int argc, char** argv) {
    using namespace pinet::cli;
    // Logs go to stderr (journald picks them up); stdout is for command output.
    auto logger = spdlog::stderr_color_mt("pinetboot");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
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

    auto& table = commandTable();
    std::stable_sort(table.begin(), table.end(),
                     [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
    for (auto& entry : table) {
        entry.setup(app);
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
