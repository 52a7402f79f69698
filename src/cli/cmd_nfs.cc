// pinetboot nfs apply|status: the NFS exports of the client roots.

#include <iostream>

#include <fmt/format.h>

#include "app/nfs/nfs_manager.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/nfs/nfs_backend.h"
#include "io/registry/registry.h"

namespace pinet::cli {

namespace {

struct NfsOpts {
    std::string stateDir;
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

/// Rows nfs apply/status left out: the others were served, but the command fails so the
/// tampered (or broken) row is noticed.
void reportRefused(const std::vector<std::string>& refused) {
    for (const auto& r : refused) {
        printError(r);
    }
    if (!refused.empty()) {
        setExitCode(kExitFailure);
    }
}

void doApply(const NfsOpts& o) {
    auto ss = openSettingsSession(o.stateDir, *o.settings);
    if (!ss) {
        return;
    }
    auto rep = app::applyNfs(ss->stateDir, ss->registry, ss->settings);
    if (!rep) {
        printError(rep.error().message);
        setExitCode(kExitFailure);
        return;
    }
    for (const auto& l : rep->lines) {
        std::cout << l << '\n';
    }
    std::cout << rep->exportsText;
    reportRefused(rep->refused);
}

void doStatus(const NfsOpts& o) {
    // A check changes nothing: its settings flags count for this run only (as doctor's).
    auto ss = openSettingsSession(o.stateDir, *o.settings, app::StoreSettings::Never);
    if (!ss) {
        return;
    }
    auto st = app::nfsStatus(ss->stateDir, ss->registry, ss->settings);
    if (!st) {
        printError(st.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << "backend: " << st->backend << '\n' << "server:  " << st->server << '\n';
    std::cout << "exports (" << st->exports.size() << "):\n";
    for (const auto& e : st->exports) {
        std::string clients;
        for (const auto& c : e.clients) {
            clients += (clients.empty() ? "" : ",") + c;
        }
        std::cout << fmt::format("  {} {} {} {}  # {}\n", e.path, clients, e.readOnly ? "ro" : "rw",
                                 e.noRootSquash ? "no_root_squash" : "root_squash", e.comment);
    }
    std::cout << (st->answers ? "answers: yes, " : "answers: NO, ") << st->answerText << '\n';
    reportRefused(st->refused);
    if (!st->answers && !st->exports.empty()) {
        setExitCode(kExitFailure);
    }
}

void doStop(const NfsOpts& o) {
    auto dir = stateDirWithConfig(o.stateDir, *o.settings);
    if (!dir) {
        return;
    }
    io::GaneshaConfig g;
    g.dir = app::StatePaths{*dir}.nfs();
    auto r = io::stopGanesha(g);
    if (!r) {
        printError(r.error().message);
        setExitCode(kExitFailure);
        return;
    }
    std::cout << (*r ? "nfs-ganesha stopped\n" : "nfs-ganesha was not running\n");
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<NfsOpts>();
    cmd->require_subcommand(1);
    auto* apply = cmd->add_subcommand("apply", "Bring the NFS server in line with the registry");
    apply->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(apply, o->settings);
    apply->callback([o] { doApply(*o); });
    auto* status = cmd->add_subcommand("status", "Show exports and whether the server answers");
    status->add_option("--state-dir", o->stateDir, "State directory");
    addSettingsFlags(status, o->settings, /*stored=*/false);
    status->callback([o] { doStatus(*o); });
    auto* stop = cmd->add_subcommand("stop", "Stop the nfs-ganesha started by nfs apply");
    stop->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(stop, o->settings);
    stop->callback([o] { doStop(*o); });
}

}  // namespace

PINET_COMMAND(75, "nfs", "NFS exports of the client roots", setup);

}  // namespace pinet::cli
