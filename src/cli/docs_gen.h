#pragma once
// Man pages and shell completions generated from the CLI11 tree itself, so
// that they cannot drift from --help: `pinetboot-full __docs --out-dir DIR`
// (a hidden command that main.cc handles; the build runs it, see
// src/CMakeLists.txt) writes
//   DIR/man/pinetboot.1, DIR/man/pinetboot-<command>.1 (one per top-level command)
//   DIR/bash-completion/pinetboot, DIR/zsh/_pinetboot

#include <string>

#include <CLI/CLI.hpp>

namespace pinet::cli {

/// The hidden command's name: not in the command table, so neither --help
/// nor the did-you-mean list shows it.
inline constexpr const char* kDocsCommand = "__docs";

/// One page per top-level command of @p app (whose every command is set up in
/// full), each listing every option and subcommand that --help shows.
std::string renderManPage(const CLI::App& app, const CLI::App& command, const std::string& version);
std::string renderRootManPage(const CLI::App& app, const std::string& version);
std::string renderBashCompletion(const CLI::App& app);
std::string renderZshCompletion(const CLI::App& app);

/// Runs the hidden command: argv is the whole command line
/// (`pinetboot-full __docs --out-dir DIR`). Returns the exit code.
int generateDocs(const CLI::App& app, int argc, char** argv);

}  // namespace pinet::cli
