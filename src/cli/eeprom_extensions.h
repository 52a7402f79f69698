#pragma once
// Subcommands of `pinetboot eeprom` that live in pinetboot-full only (they need the
// state directory's SQLite, which the front does not link): each registers a setup
// here at static initialisation; cmd_eeprom.cc calls them when it builds `eeprom`.
// The front hands `eeprom rollout ...` over to pinetboot-full (cli/main.cc).

#include <vector>

#include <CLI/CLI.hpp>

namespace pinet::cli {

using EepromExtension = void (*)(CLI::App& eeprom);

/// `eeprom rollout`'s one-line summary. The front lists `rollout` under `eeprom --help`
/// with it (a placeholder that is never parsed: the front hands `eeprom rollout` over),
/// so that both programs show the same command list.
inline constexpr const char* kRolloutSummary =
    "Update many boards' EEPROM over the network through their self-update, in waves "
    "(serve offers it)";

/// Defined in cmd_eeprom.cc (linked into both programs).
std::vector<EepromExtension>& eepromExtensions();

struct EepromExtensionRegistrar {
    explicit EepromExtensionRegistrar(EepromExtension e) { eepromExtensions().push_back(e); }
};

}  // namespace pinet::cli
