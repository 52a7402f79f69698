#include "app/settings.h"

#include <fmt/format.h>

#include "app/config/config.h"
#include "io/fs/file_ops.h"
#include "proto/nfs/exports.h"

namespace pinet::app {

namespace {
/// Calls @p fn(key, value) for every stored field.
template <typename F>
Result<void> each(ServerSettings& s, F&& fn) {
    struct Field {
        const char* key;
        std::string* value;
    };
    std::string boot = s.bootExport ? "1" : "0";
    Field fields[] = {{"server_ip", &s.serverIp},     {"nfs_version", &s.nfsVersion},
                      {"nfs_backend", &s.nfsBackend}, {"client_subnet", &s.clientSubnet},
                      {"interface", &s.interface},    {"boot_export", &boot}};
    // kernelExportsFile, exportfsCommand and ganeshaCommand are deliberately not here:
    // root runs and writes them, and the registry is not root's config (settings.h).
    for (auto& f : fields) {
        if (auto r = fn(f.key, *f.value); !r) {
            return r;
        }
    }
    s.bootExport = boot == "1";
    return {};
}
}  // namespace

Result<ServerSettings> loadSettings(io::Registry& reg) {
    auto all = reg.settings();
    if (!all) {
        return tl::unexpected(all.error());
    }
    ServerSettings s;
    auto r = each(s, [&](const char* key, std::string& v) -> Result<void> {
        if (auto it = all->find(key); it != all->end()) {
            v = it->second;
        }
        return {};
    });
    if (!r) {
        return tl::unexpected(r.error());
    }
    return s;
}

Result<void> saveSettings(io::Registry& reg, const ServerSettings& in) {
    ServerSettings s = in;
    return each(s, [&](const char* key, std::string& v) { return reg.setSetting(key, v); });
}

Result<void> validateSettings(const ServerSettings& s) {
    if (!s.serverIp.empty() &&
        (!proto::nfs::isIpv4OrSubnet(s.serverIp) || s.serverIp.find('/') != std::string::npos)) {
        return fail(fmt::format("server address \"{}\" is not an IPv4 address", s.serverIp));
    }
    if (s.nfsVersion != "3" && s.nfsVersion != "4.1") {
        return fail(fmt::format("NFS version \"{}\" is not 3 or 4.1", s.nfsVersion));
    }
    if (s.nfsBackend != "kernel" && s.nfsBackend != "ganesha" && s.nfsBackend != "none") {
        return fail(fmt::format("NFS backend \"{}\" is not kernel, ganesha or none", s.nfsBackend));
    }
    if (!s.clientSubnet.empty() && !proto::nfs::isIpv4OrSubnet(s.clientSubnet)) {
        return fail(
            fmt::format("client subnet \"{}\" is not an IPv4 address or subnet", s.clientSubnet));
    }
    return {};
}

SettingsOverrides settingsFromConfig(const config::Config& c) {
    SettingsOverrides o;
    o.serverIp = c.nfsServer;
    o.nfsVersion = c.nfsVersion;
    o.nfsBackend = c.nfsBackend;
    if (!c.interfaces.empty()) {
        // doctor checks one interface: the first the daemon serves.
        o.interface = c.interfaces.front().name;
    }
    return o;
}

void applyOverrides(ServerSettings& s, const SettingsOverrides& o) {
    auto set = [](std::string& dst, const std::string& v) {
        if (!v.empty()) {
            dst = v;
        }
    };
    set(s.serverIp, o.serverIp);
    set(s.nfsVersion, o.nfsVersion);
    set(s.nfsBackend, o.nfsBackend);
    set(s.clientSubnet, o.clientSubnet);
    set(s.interface, o.interface);
    set(s.kernelExportsFile, o.kernelExportsFile);
    set(s.exportfsCommand, o.exportfsCommand);
    set(s.ganeshaCommand, o.ganeshaCommand);
    set(s.mountUnitDir, o.mountUnitDir);
    if (o.bootExport) {
        s.bootExport = *o.bootExport;
    }
}

Result<bool> storeSettingsIfChanged(io::Registry& reg, const ServerSettings& s) {
    auto stored = loadSettings(reg);
    if (!stored) {
        return tl::unexpected(stored.error());
    }
    // Only the stored fields count: a --exportfs-command flag is no reason to write.
    ServerSettings storable = s;
    storable.kernelExportsFile = stored->kernelExportsFile;
    storable.exportfsCommand = stored->exportfsCommand;
    storable.ganeshaCommand = stored->ganeshaCommand;
    storable.mountUnitDir = stored->mountUnitDir;
    if (storable == *stored) {
        return false;
    }
    if (auto r = saveSettings(reg, s); !r) {
        return tl::unexpected(r.error());
    }
    return true;
}

Result<ServerSettings> resolveSettings(io::Registry& reg, const SettingsOverrides& fromConfig,
                                       const SettingsOverrides& fromFlags, StoreSettings store) {
    auto s = loadSettings(reg);
    if (!s) {
        return tl::unexpected(s.error());
    }
    applyOverrides(*s, fromConfig);
    applyOverrides(*s, fromFlags);
    if (auto r = validateSettings(*s); !r) {
        return tl::unexpected(r.error());
    }
    if (store == StoreSettings::IfChanged) {
        if (auto r = storeSettingsIfChanged(reg, *s); !r) {
            return tl::unexpected(r.error());
        }
    }
    return s;
}

Result<void> ensurePrivateDir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return fail(fmt::format("{}: {}", dir.string(), ec.message()));
    }
    // Also for a directory an older pinetboot made 0755.
    return io::setMode(dir, 0700);
}

}  // namespace pinet::app
