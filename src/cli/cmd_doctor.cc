// pinetboot doctor: checks the network-boot setup end to end and says how to
// fix each problem. It changes nothing: its settings flags count for the
// check only, and each fix is a command the user runs.

#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/config/config.h"
#include "app/doctor/doctor.h"
#include "app/doctor/neighbour_table.h"
#include "app/doctor/trees.h"
#include "app/json_text.h"
#include "app/store.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/file.h"
#include "io/registry/registry.h"

namespace pinet::cli {

namespace {

struct DoctorOpts {
    std::string stateDir;
    bool noDhcpProbe = false;
    int dhcpWaitMs = 5000;
    bool json = false;
    std::size_t boards = 0;
    std::shared_ptr<SettingsFlags> settings = std::make_shared<SettingsFlags>();
};

/// What this run checks with that the registry does not hold: flags and
/// --config count for this check only (a check changes nothing).
std::vector<app::Finding> notStored(const app::ServerSettings& used,
                                    const app::ServerSettings& stored) {
    std::vector<app::Finding> out;
    auto note = [&](const char* flag, const std::string& u, const std::string& s) {
        if (u != s) {
            out.push_back({app::Severity::Info, "settings",
                           fmt::format("{} {} is used for this check only (stored: {})", flag, u,
                                       s.empty() ? "not set" : s),
                           fmt::format("pinetboot settings set {} {} stores it", flag, u)});
        }
    };
    note("--server-ip", used.serverIp, stored.serverIp);
    note("--client-subnet", used.clientSubnet, stored.clientSubnet);
    note("--nfs-version", used.nfsVersion, stored.nfsVersion);
    note("--nfs-backend", used.nfsBackend, stored.nfsBackend);
    note("--interface", used.interface, stored.interface);
    return out;
}

void run(const DoctorOpts& o) {
    // Read-only: the settings flags are for this check (StoreSettings::Never).
    auto ss = openSettingsSession(o.stateDir, *o.settings, app::StoreSettings::Never);
    if (!ss) {
        return;
    }
    app::DoctorOptions opts;
    opts.dhcpProbe = !o.noDhcpProbe;
    opts.dhcpWait = std::chrono::milliseconds(o.dhcpWaitMs);
    opts.expectedBoards = o.boards;
    app::config::Config cfg;
    if (!o.settings->configFile.empty()) {
        // openSettingsSession has read the file already: an error there stopped us.
        // parseConfig, not loadConfigFile: its warnings were logged once already.
        if (auto bytes = io::readFile(o.settings->configFile)) {
            try {
                cfg = app::config::parseConfig(
                    std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                    o.settings->configFile);
                opts.expectedBoards = std::max(opts.expectedBoards, app::dhcpPoolSize(cfg));
            } catch (const app::config::ConfigError&) {
            }
        }
    }
    // The boot trees of the nodes sharing a PostgreSQL store (the store the session opened).
    cfg.stateDir = ss->stateDir;
    if (auto where = app::storeLocation(cfg, storeUrlFromEnv())) {
        app::setTreeOptions(opts, cfg, *where);
    }
    std::vector<app::Finding> findings;
    if (auto stored = app::loadSettings(ss->registry)) {
        findings = notStored(ss->settings, *stored);
    }
    auto checked = app::runDoctor(ss->stateDir, ss->registry, ss->settings, opts);
    findings.insert(findings.end(), checked.begin(), checked.end());
    int failures = 0;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : findings) {
        failures += f.severity == app::Severity::Fail ? 1 : 0;
        if (o.json) {
            arr.push_back(app::findingJson(f));
            continue;
        }
        std::cout << fmt::format("[{:^4}] {}: {}\n", app::severityName(f.severity), f.check,
                                 f.message);
        if (!f.fix.empty()) {
            std::cout << fmt::format("       fix: {}\n", f.fix);
        }
    }
    if (o.json) {
        std::cout << app::dumpJson(arr, 2) << '\n';
    } else {
        std::cout << fmt::format("{} problem(s) found\n", failures);
    }
    if (failures > 0) {
        setExitCode(kExitFailure);
    }
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<DoctorOpts>();
    cmd->add_option("--state-dir", o->stateDir, "State directory");
    cmd->add_flag("--no-dhcp-probe", o->noDhcpProbe, "Do not send a DHCPDISCOVER on the interface");
    cmd->add_option("--dhcp-wait-ms", o->dhcpWaitMs, "How long to wait for DHCP offers")
        ->check(CLI::Range(100, 30000));
    cmd->add_flag("--json", o->json, "JSON output");
    cmd->add_option("--boards", o->boards,
                    "Boards that may boot at once (the neighbour table must hold them; "
                    "default: the larger of the clients known and the config's DHCP pool)");
    addSettingsFlags(cmd, o->settings, /*stored=*/false);
    cmd->callback([o] { run(*o); });
}

}  // namespace

PINET_COMMAND(80, "doctor", "Check interface, DHCP, NFS exports and boot trees", setup);

}  // namespace pinet::cli
