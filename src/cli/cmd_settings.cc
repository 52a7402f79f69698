// pinetboot settings show|set: the server settings stored in the registry
// (app/settings.h), which `client`, `nfs` and `doctor` start from. `set` is
// the one command whose only job is to store them: doctor never does (a
// check changes nothing), and its fixes name this command.

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/json_text.h"
#include "app/settings.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"
#include "io/registry/registry.h"

namespace pinet::cli {

namespace {

struct SettingsOpts {
    std::string stateDir;
    bool json = false;
    std::shared_ptr<SettingsFlags> flags = std::make_shared<SettingsFlags>();
};

void print(const app::ServerSettings& s, bool json) {
    if (json) {
        std::cout << app::dumpJson({{"server_ip", s.serverIp},
                                    {"client_subnet", s.clientSubnet},
                                    {"nfs_version", s.nfsVersion},
                                    {"nfs_backend", s.nfsBackend},
                                    {"interface", s.interface},
                                    {"boot_export", s.bootExport}},
                                   2)
                  << '\n';
        return;
    }
    auto orUnset = [](const std::string& v) {
        return v.empty() ? std::string("(not set)") : v;
    };
    std::cout << fmt::format("server-ip:     {}\n", orUnset(s.serverIp))
              << fmt::format("client-subnet: {}\n", orUnset(s.clientSubnet))
              << fmt::format("nfs-version:   {}\n", s.nfsVersion)
              << fmt::format("nfs-backend:   {}\n", s.nfsBackend)
              << fmt::format("interface:     {}\n", orUnset(s.interface))
              << fmt::format("boot-export:   {}\n", s.bootExport ? "yes" : "no");
}

void doShow(const SettingsOpts& o) {
    auto session = openRegistrySession(o.stateDir, *o.flags);
    if (!session) {
        return;
    }
    auto s = app::loadSettings(session->registry);
    if (!s) {
        printError(s.error().message);
        setExitCode(kExitFailure);
        return;
    }
    print(*s, o.json);
}

void doSet(const SettingsOpts& o) {
    const auto& v = o.flags->values;
    if (v.serverIp.empty() && v.clientSubnet.empty() && v.nfsVersion.empty() &&
        v.nfsBackend.empty() && v.interface.empty() && !v.bootExport) {
        printError(
            "settings set: nothing to set (--server-ip, --client-subnet, --nfs-version, "
            "--nfs-backend, --interface, --boot-export)");
        setExitCode(kExitUsage);
        return;
    }
    auto ss = openSettingsSession(o.stateDir, *o.flags, app::StoreSettings::IfChanged);
    if (!ss) {
        return;
    }
    print(ss->settings, o.json);
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<SettingsOpts>();
    cmd->require_subcommand(1);
    auto* show = cmd->add_subcommand("show", "Print the stored settings");
    show->add_option("--state-dir", o->stateDir, "State directory");
    addConfigFlag(show, o->flags);
    show->add_flag("--json", o->json, "JSON output");
    show->callback([o] { doShow(*o); });

    auto* set = cmd->add_subcommand(
        "set", "Store settings the client, nfs and doctor commands use (flags override them)");
    set->add_option("--state-dir", o->stateDir, "State directory");
    set->add_flag("--json", o->json, "JSON output");
    auto& v = o->flags->values;
    set->add_option("--server-ip", v.serverIp,
                    "This server's IPv4 address on the boot network (nfsroot=)");
    set->add_option("--client-subnet", v.clientSubnet,
                    "Subnet the exports are limited to for clients without --address");
    set->add_option("--nfs-version", v.nfsVersion, "NFS version for nfsroot=: 3 or 4.1")
        ->check(CLI::IsMember({"3", "4.1"}));
    set->add_option("--nfs-backend", v.nfsBackend, "kernel, ganesha or none")
        ->check(CLI::IsMember({"kernel", "ganesha", "none"}));
    set->add_option("--interface", v.interface, "Boot network interface (doctor checks it)");
    auto flags = o->flags;
    set->add_flag_function(
        "--boot-export,!--no-boot-export",
        [flags](std::int64_t n) { flags->values.bootExport = n > 0; },
        "Export boot dirs and mount them at /boot/firmware in client roots");
    set->callback([o] { doSet(*o); });
}

}  // namespace

PINET_COMMAND(72, "settings", "Show and store the server settings (server address, subnet, NFS)",
              setup);

}  // namespace pinet::cli
