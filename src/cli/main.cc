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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "cli/docs_gen.h"
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

/// Levenshtein distance (insert, delete, substitute: 1 each) of two short words.
std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

/// The name @p word was probably meant to be: the only one it is a prefix
/// of, else the nearest within 2 edits (1 for words of 3 letters or fewer,
/// so "ls" does not become "eeprom"), else nothing.
std::optional<std::string> didYouMean(const std::string& word,
                                      const std::vector<std::string>& names) {
    std::vector<std::string> prefixed;
    for (const auto& n : names) {
        if (n.starts_with(word)) {
            prefixed.push_back(n);
        }
    }
    if (prefixed.size() == 1) {
        return prefixed.front();
    }
    const std::size_t limit = word.size() <= 3 ? 1 : 2;
    std::optional<std::string> best;
    std::size_t bestDistance = limit + 1;
    for (const auto& n : names) {
        const std::size_t d = editDistance(word, n);
        if (d < bestDistance) {
            best = n;
            bestDistance = d;
        }
    }
    return best;
}

std::string unknownCommandMessage(const std::string& word, const std::string& where,
                                  const std::vector<std::string>& names) {
    auto guess = didYouMean(word, names);
    return fmt::format("unknown command '{}'{} ({} --help lists them)", word,
                       guess ? fmt::format("; did you mean '{}'?", *guess) : std::string(), where);
}

/// After a failed parse: the first word on the command line where a
/// subcommand must come and none of that name exists (`eeprom inf`,
/// `client ad`), as a message with a suggestion; CLI11 itself says only
/// "A subcommand is required" or "arguments were not expected".
std::optional<std::string> mistypedSubcommand(CLI::App& app, int argc, char** argv) {
    CLI::App* cur = &app;
    std::string where = "pinetboot";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            return std::nullopt;
        }
        if (arg.starts_with('-')) {
            continue;
        }
        auto subs = cur->get_subcommands([](CLI::App*) { return true; });
        if (subs.empty()) {
            return std::nullopt;  // a command's own arguments from here on
        }
        auto it =
            std::find_if(subs.begin(), subs.end(), [&](CLI::App* s) { return s->check_name(arg); });
        if (it != subs.end()) {
            cur = *it;
            where += " " + cur->get_name();
            continue;
        }
        if (cur->get_require_subcommand_min() == 0) {
            return std::nullopt;
        }
        std::vector<std::string> names;
        names.reserve(subs.size());
        for (const auto* s : subs) {
            names.push_back(s->get_name());
        }
        return unknownCommandMessage(arg, where, names);
    }
    // Out of words where one was needed: `pinetboot client` alone.
    auto subs = cur->get_subcommands([](CLI::App*) { return true; });
    if (cur == &app) {
        return std::string("pinetboot needs a command (pinetboot --help lists them)");
    }
    if (!subs.empty() && cur->get_require_subcommand_min() > 0) {
        std::string names;
        for (const auto* s : subs) {
            names += (names.empty() ? "" : ", ") + s->get_name();
        }
        return fmt::format("{} needs a command: {} ({} --help explains them)", where, names, where);
    }
    return std::nullopt;
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
    // The build's man page and completion generator (cli/docs_gen.h) needs
    // every command's tree; the front hands it over like any command it lacks.
    const bool docs = invoked == kDocsCommand;
#ifdef PINET_CLI_FRONT
    // `eeprom rollout` keeps its rows in the state directory's SQLite: pinetboot-full's.
    bool rollout = false;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "eeprom") {
            rollout = std::string_view(argv[i + 1]) == "rollout";
            break;
        }
    }
    if (!known || rollout) {
        handOver(argv);
    }
#else
    if (!known && !invoked.empty() && !docs) {
        // CLI11 would only say "A subcommand is required".
        std::vector<std::string> names;
        names.reserve(table.size());
        for (const auto& e : table) {
            names.push_back(e.name);
        }
        printError(unknownCommandMessage(invoked, "pinetboot", names));
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
        if (entry.name == invoked || docs) {
            entry.setup(cmd);
        }
    }

#ifndef PINET_CLI_FRONT
    if (docs) {
        return generateDocs(app, argc, argv);
    }
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version arrive here too, with exit code 0.
        if (e.get_exit_code() != 0) {
            if (auto msg = mistypedSubcommand(app, argc, argv)) {
                printError(*msg);
                return kExitUsage;
            }
        }
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    } catch (const std::exception& e) {
        // Start-up and config errors end here: one line, non-zero exit.
        printError(e.what());
        return kExitFailure;
    }
    return exitCode();
}
