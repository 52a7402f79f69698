// pinetboot nbd apply|status|stop: the NBD exports of the block-device roots.

#include <iostream>

#include <fmt/format.h>

#include "app/nbd/nbd_manager.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/registry/registry.h"

namespace pinet::cli {

namespace {

struct NbdOpts {
    std::string stateDir;
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

void doApply(const NbdOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto rep = app::applyNbd(ss->stateDir, ss->registry, ss->settings);
    if (!rep) {
        printError(rep.error().message);
        setExitCode(kExitFailure);
        return;
    }
    for (const auto& l : rep->lines) {
        std::cout << l << '\n';
    }
    for (const auto& r : rep->refused) {
        printError(r);
    }
    if (!rep->refused.empty()) {
        setExitCode(kExitFailure);
    }
}

void doStatus(const NbdOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings, app::StoreSettings::Never);
    if (!ss) {
        return;
    }
    auto st = app::nbdStatus(ss->stateDir, ss->registry);
    if (!st) {
        printError(st.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << "exports (" << st->size() << "):\n";
    bool allRunning = true;
    for (const auto& e : *st) {
        std::cout << fmt::format(
            "  {} {:<9} {}:{} for {}  {} ({:.1f} MiB on disk)  {}\n", e.serial, e.mode,
            ss->settings.serverIp, e.port, e.address, e.disk.string(),
            static_cast<double>(e.diskBytes) / 1048576.0,
            e.problem.empty() ? fmt::format("qemu-nbd pid {}", *e.pid) : e.problem);
        allRunning = allRunning && e.pid.has_value() && e.problem.empty();
    }
    if (!allRunning) {
        setExitCode(kExitFailure);
    }
}

void doStop(const NbdOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings, app::StoreSettings::Never);
    if (!ss) {
        return;
    }
    auto st = app::nbdStatus(ss->stateDir, ss->registry);
    if (!st) {
        printError(st.error().message);
        setExitCode(kExitFailure);
        return;
    }
    for (const auto& e : *st) {
        auto r = app::stopNbdExport(ss->stateDir, e.serial);
        if (!r) {
            printError(r.error().message);
            setExitCode(kExitFailure);
        } else if (*r) {
            std::cout << "stopped the export of " << e.serial << '\n';
        }
    }
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<NbdOpts>();
    cmd->require_subcommand(1);
    auto* apply = cmd->add_subcommand(
        "apply", "Start (again) one qemu-nbd per nbd client, each for its board's address only");
    apply->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(apply, o->settings);
    apply->callback([o] { doApply(*o); });
    auto* status = cmd->add_subcommand("status", "Show the NBD exports and whether they run");
    status->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(status, o->settings, /*stored=*/false);
    status->callback([o] { doStatus(*o); });
    auto* stop = cmd->add_subcommand("stop", "Stop the qemu-nbd processes nbd apply started");
    stop->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(stop, o->settings, /*stored=*/false);
    stop->callback([o] { doStop(*o); });
}

}  // namespace

PINET_COMMAND(76, "nbd", "NBD exports of the block-device roots", setup);

}  // namespace pinet::cli
