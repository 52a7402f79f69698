#include "cli/server_settings_flags.h"

#include "cli/command.h"

namespace pinet::cli {

void addSettingsFlags(CLI::App* cmd, const std::shared_ptr<SettingsFlags>& f) {
    cmd->add_option("--server-ip", f->serverIp, "Server IPv4 address used in nfsroot= (stored)");
    cmd->add_option("--nfs-version", f->nfsVersion, "NFS version for nfsroot=: 3 or 4.1 (stored)")
        ->check(CLI::IsMember({"3", "4.1"}));
    cmd->add_option("--nfs-backend", f->nfsBackend, "kernel, ganesha or none (stored)")
        ->check(CLI::IsMember({"kernel", "ganesha", "none"}));
    cmd->add_option("--client-subnet", f->clientSubnet,
                    "Subnet exports are limited to for clients without --address (stored)");
    cmd->add_option("--interface", f->interface, "Boot network interface (stored; doctor checks it)");
    cmd->add_option("--exports-file", f->exportsFile,
                    "Kernel backend exports file (stored; default /etc/exports.d/pinetboot.exports)");
    cmd->add_option("--exportfs-command", f->exportfsCommand, "exportfs program (stored)");
    cmd->add_option("--ganesha-command", f->ganeshaCommand, "ganesha.nfsd program (stored)");
    cmd->add_flag_function(
        "--boot-export,!--no-boot-export",
        [f](std::int64_t n) { f->bootExport = n > 0; },
        "Export boot dirs and mount them at /boot/firmware in client roots (stored)");
}

Result<app::ServerSettings> resolveSettings(io::Registry& reg, const SettingsFlags& f) {
    auto s = app::loadSettings(reg);
    if (!s) {
        return tl::unexpected(s.error());
    }
    bool changed = false;
    auto set = [&](std::string& dst, const std::string& v) {
        if (!v.empty() && dst != v) {
            dst = v;
            changed = true;
        }
    };
    set(s->serverIp, f.serverIp);
    set(s->nfsVersion, f.nfsVersion);
    set(s->nfsBackend, f.nfsBackend);
    set(s->clientSubnet, f.clientSubnet);
    set(s->interface, f.interface);
    set(s->kernelExportsFile, f.exportsFile);
    set(s->exportfsCommand, f.exportfsCommand);
    set(s->ganeshaCommand, f.ganeshaCommand);
    if (f.bootExport && *f.bootExport != s->bootExport) {
        s->bootExport = *f.bootExport;
        changed = true;
    }
    if (auto r = app::validateSettings(*s); !r) {
        return tl::unexpected(r.error());
    }
    if (changed) {
        if (auto r = app::saveSettings(reg, *s); !r) {
            return tl::unexpected(r.error());
        }
    }
    return s;
}

std::optional<SettingsSession> openSettingsSession(const std::string& stateDirFlag,
                                                   const SettingsFlags& f) {
    std::string dir = stateDir(stateDirFlag);
    auto reg = io::Registry::open(dir);
    if (!reg) {
        printError(reg.error().message);
        setExitCode(kExitFailure);
        return std::nullopt;
    }
    auto s = resolveSettings(*reg, f);
    if (!s) {
        printError(s.error().message);
        setExitCode(kExitFailure);
        return std::nullopt;
    }
    return SettingsSession{std::move(dir), std::move(*reg), std::move(*s)};
}

}  // namespace pinet::cli
