#pragma once
// Server settings the image/client/nfs commands need. Until the TOML config
// exists they come from CLI flags and persist in the registry's settings
// table; the daemon's config can fill the same struct later.

#include <filesystem>
#include <string>

#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

struct ServerSettings {
    std::string serverIp;          ///< address put into nfsroot= (and the boot mount)
    std::string nfsVersion = "3";  ///< "3" or "4.1"
    std::string nfsBackend = "none";  ///< "kernel", "ganesha" or "none"
    std::string clientSubnet;      ///< export restriction for clients without --address
    std::string interface;         ///< the boot network interface (doctor checks it)
    bool bootExport = false;       ///< export boot dirs and mount them at /boot/firmware
    std::string kernelExportsFile = "/etc/exports.d/pinetboot.exports";
    std::string exportfsCommand = "exportfs";
    std::string ganeshaCommand = "ganesha.nfsd";
};

Result<ServerSettings> loadSettings(io::Registry& reg);
Result<void> saveSettings(io::Registry& reg, const ServerSettings& s);
/// Checks values (IPv4 address, version, backend, subnet).
Result<void> validateSettings(const ServerSettings& s);

/// Paths inside the state directory.
struct StatePaths {
    std::filesystem::path root;
    [[nodiscard]] std::filesystem::path images() const { return root / "images"; }
    [[nodiscard]] std::filesystem::path tftp() const { return root / "tftp"; }
    [[nodiscard]] std::filesystem::path roots() const { return root / "roots"; }
    [[nodiscard]] std::filesystem::path nfs() const { return root / "nfs"; }
};

}  // namespace pinet::app
