// pinetboot check-config FILE: parse and validate a pinetboot.toml without
// starting anything (like `kea-dhcp4 -t`). --docs prints docs/configuration.md.

#include <iostream>

#include <fmt/format.h>

#include "app/config/config.h"
#include "cli/command.h"

namespace pinet::cli {
namespace {

void setup(CLI::App* cmd) {
    auto file = std::make_shared<std::string>();
    auto docs = std::make_shared<bool>(false);
    cmd->add_option("FILE", *file, "Config file to check");
    cmd->add_flag("--docs", *docs, "Print the reference of every key (docs/configuration.md)");
    cmd->callback([file, docs] {
        namespace cfg = pinet::app::config;
        if (*docs) {
            std::cout << cfg::renderConfigDocs();
            setExitCode(kExitOk);
            return;
        }
        if (file->empty()) {
            printError("check-config: give a FILE (or --docs)");
            setExitCode(kExitUsage);
            return;
        }
        try {
            const auto c = cfg::loadConfigFile(*file);
            cfg::validate(c);
            std::cout << fmt::format("{}: OK ({} interface{}, tftp root '{}', http {})\n", *file,
                                     c.interfaces.size(), c.interfaces.size() == 1 ? "" : "s",
                                     c.tftpRoot, c.httpListen.text());
            setExitCode(kExitOk);
        } catch (const cfg::ConfigError& e) {
            std::cerr << e.what() << '\n';
            setExitCode(kExitFailure);
        }
    });
}

}  // namespace
PINET_COMMAND(90, "check-config", "Check a pinetboot.toml without starting", setup);
}  // namespace pinet::cli
