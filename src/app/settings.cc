#include "app/settings.h"

#include <fmt/format.h>

#include "proto/nfs/exports.h"

namespace pinet::app {

namespace {
template <typename F>
Result<void> each(ServerSettings& s, F&& fn) {
    struct Field {
        const char* key;
        std::string* value;
    };
    std::string boot = s.bootExport ? "1" : "0";
    Field fields[] = {{"server_ip", &s.serverIp},
                      {"nfs_version", &s.nfsVersion},
                      {"nfs_backend", &s.nfsBackend},
                      {"client_subnet", &s.clientSubnet},
                      {"interface", &s.interface},
                      {"boot_export", &boot},
                      {"kernel_exports_file", &s.kernelExportsFile},
                      {"exportfs_command", &s.exportfsCommand},
                      {"ganesha_command", &s.ganeshaCommand}};
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
    if (!s.serverIp.empty() && (!proto::nfs::isIpv4OrSubnet(s.serverIp) ||
                                s.serverIp.find('/') != std::string::npos)) {
        return fail(fmt::format("server address \"{}\" is not an IPv4 address", s.serverIp));
    }
    if (s.nfsVersion != "3" && s.nfsVersion != "4.1") {
        return fail(fmt::format("NFS version \"{}\" is not 3 or 4.1", s.nfsVersion));
    }
    if (s.nfsBackend != "kernel" && s.nfsBackend != "ganesha" && s.nfsBackend != "none") {
        return fail(fmt::format("NFS backend \"{}\" is not kernel, ganesha or none", s.nfsBackend));
    }
    if (!s.clientSubnet.empty() && !proto::nfs::isIpv4OrSubnet(s.clientSubnet)) {
        return fail(fmt::format("client subnet \"{}\" is not an IPv4 address or subnet",
                                s.clientSubnet));
    }
    return {};
}

}  // namespace pinet::app
