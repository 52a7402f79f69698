#include "cli/server_settings_flags.h"

#include <cstdlib>
#include <iostream>

#include "app/store.h"
#include "cli/command.h"

namespace pinet::cli {

namespace {

namespace cfg = app::config;

/// The --config file, or an empty Config without one. Prints a bad file's
/// "FILE:LINE: message" like serve and check-config do.
std::optional<cfg::Config> loadConfig(const SettingsFlags& f) {
    if (f.configFile.empty()) {
        return cfg::Config{};
    }
    try {
        auto c = cfg::loadConfigFile(f.configFile);
        cfg::validate(c);
        return c;
    } catch (const cfg::ConfigError& e) {
        std::cerr << e.what() << '\n';
        setExitCode(kExitFailure);
        return std::nullopt;
    }
}

}  // namespace

void addConfigFlag(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f) {
    cmd->add_option("--config", f->configFile,
                    "pinetboot.toml: [server] state_dir, [nfs] keys, first [[interface]] name "
                    "(flags override it; see docs/configuration.md)");
}

void addSettingsFlags(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f, bool stored) {
    addConfigFlag(cmd, f);
    auto& v = f->values;
    const std::string tail =
        stored ? " (stored)" : " (this run only; pinetboot settings set stores it)";
    cmd->add_option("--server-ip", v.serverIp, "Server IPv4 address used in nfsroot=" + tail);
    cmd->add_option("--nfs-version", v.nfsVersion, "NFS version for nfsroot=: 3 or 4.1" + tail)
        ->check(CLI::IsMember({"3", "4.1"}));
    cmd->add_option("--nfs-backend", v.nfsBackend, "kernel, ganesha or none" + tail)
        ->check(CLI::IsMember({"kernel", "ganesha", "none"}));
    cmd->add_option("--client-subnet", v.clientSubnet,
                    "Subnet exports are limited to for clients without --address" + tail);
    cmd->add_option("--interface", v.interface, "Boot network interface (doctor checks it)" + tail);
    // Programs and paths root runs or writes: this run only, never stored (app/settings.h).
    cmd->add_option("--exports-file", v.kernelExportsFile,
                    "Kernel backend exports file (this run only, not stored; default "
                    "/etc/exports.d/pinetboot.exports)");
    cmd->add_option("--exportfs-command", v.exportfsCommand,
                    "exportfs program (this run only, not stored; default exportfs)");
    cmd->add_option("--ganesha-command", v.ganeshaCommand,
                    "ganesha.nfsd program (this run only, not stored; default ganesha.nfsd)");
    cmd->add_option("--mount-unit-dir", v.mountUnitDir,
                    "Where nfs apply writes the systemd mount units that mount overlay roots at "
                    "boot (this run only, not stored; default /etc/systemd/system when systemd "
                    "runs)");
    cmd->add_flag_function(
        "--boot-export,!--no-boot-export", [f](std::int64_t n) { f->values.bootExport = n > 0; },
        "Export boot dirs and mount them at /boot/firmware in client roots" + tail);
}

std::optional<std::string> stateDirWithConfig(const std::string& stateDirFlag,
                                              const SettingsFlags& f) {
    auto c = loadConfig(f);
    if (!c) {
        return std::nullopt;
    }
    return stateDir(stateDirFlag, c->stateDir);
}

std::optional<std::string> storeUrlFromEnv() {
    const char* env = std::getenv("PINETBOOT_STORE_URL");
    if (env == nullptr || *env == '\0') {
        return std::nullopt;
    }
    return std::string(env);
}

std::optional<io::Registry> openRegistryFor(const std::string& dir, const cfg::Config& c) {
    auto where = app::storeLocation(c, storeUrlFromEnv());
    if (!where) {
        printError(where.error().message);
        setExitCode(kExitFailure);
        return std::nullopt;
    }
    auto reg = io::Registry::open(dir, *where);
    if (!reg) {
        printError(reg.error().message);
        setExitCode(kExitFailure);
        return std::nullopt;
    }
    return std::move(*reg);
}

std::optional<RegistrySession> openRegistrySession(const std::string& stateDirFlag,
                                                   const SettingsFlags& f) {
    auto c = loadConfig(f);
    if (!c) {
        return std::nullopt;
    }
    std::string dir = stateDir(stateDirFlag, c->stateDir);
    auto reg = openRegistryFor(dir, *c);
    if (!reg) {
        return std::nullopt;
    }
    return RegistrySession{std::move(dir), std::move(*reg)};
}

std::optional<SettingsSession> openSettingsSession(const std::string& stateDirFlag,
                                                   const SettingsFlags& f,
                                                   app::StoreSettings store) {
    auto c = loadConfig(f);
    if (!c) {
        return std::nullopt;
    }
    std::string dir = stateDir(stateDirFlag, c->stateDir);
    auto reg = openRegistryFor(dir, *c);
    if (!reg) {
        return std::nullopt;
    }
    auto s = app::resolveSettings(*reg, app::settingsFromConfig(*c), f.values, store);
    if (!s) {
        printError(s.error().message);
        setExitCode(kExitFailure);
        return std::nullopt;
    }
    return SettingsSession{std::move(dir), std::move(*reg), std::move(*s)};
}

}  // namespace pinet::cli
