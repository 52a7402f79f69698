// pinetboot check-config FILE: parse and validate a pinetboot.toml without
// starting anything (like `kea-dhcp4 -t`), reporting every error of the file in one
// run, and what it means here (app/config/config_meaning.h). --docs prints
// docs/configuration.md.

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "app/config/config.h"
#include "app/config/config_meaning.h"
#include "cli/command.h"

namespace pinet::cli {
namespace {

void setup(CLI::App* cmd) {
    auto file = std::make_shared<std::string>();
    auto docs = std::make_shared<bool>(false);
    auto noProbe = std::make_shared<bool>(false);
    cmd->add_option("FILE", *file, "Config file to check");
    cmd->add_flag("--docs", *docs, "Print the reference of every key (docs/configuration.md)");
    cmd->add_flag("--no-dhcp-probe", *noProbe,
                  "Do not send a DHCPDISCOVER on full-mode interfaces to look for another "
                  "DHCP server");
    cmd->callback([file, docs, noProbe] {
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
        const auto text = cfg::readConfigText(*file);
        if (!text) {
            std::cerr << *file << ": cannot read the file\n";
            setExitCode(kExitFailure);
            return;
        }
        // Every problem in one run: syntax and keys, rules across keys, then what the
        // file means on this machine (directories, interfaces, subnets, other DHCP servers).
        auto checked = cfg::checkConfigText(*text, *file);
        auto errors = std::move(checked.errors);
        const auto& c = checked.config;
        for (auto& e : cfg::validationErrors(c)) {
            if (std::find(errors.begin(), errors.end(), e) == errors.end()) {
                errors.push_back(std::move(e));
            }
        }
        std::vector<std::string> notes;
        cfg::MeaningOptions mo;
        mo.dhcpProbe = !*noProbe;
        for (auto& e : cfg::meaningErrors(c, mo, &notes)) {
            errors.push_back(std::move(e));
        }
        for (const auto& w : c.warnings) {
            std::cerr << w << '\n';
        }
        for (const auto& n : notes) {
            std::cerr << n << '\n';
        }
        if (!errors.empty()) {
            for (const auto& e : errors) {
                std::cerr << e << '\n';
            }
            std::cerr << fmt::format("{}: {} error{}\n", *file, errors.size(),
                                     errors.size() == 1 ? "" : "s");
            setExitCode(kExitFailure);
            return;
        }
        std::cout << fmt::format("{}: OK ({} interface{}, tftp root '{}', http {})\n", *file,
                                 c.interfaces.size(), c.interfaces.size() == 1 ? "" : "s",
                                 c.tftpRoot, c.httpListen.text());
        setExitCode(kExitOk);
    });
}

}  // namespace
PINET_COMMAND(90, "check-config", "Check a pinetboot.toml without starting", setup);
}  // namespace pinet::cli
