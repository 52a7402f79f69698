#pragma once
// Server settings the client/nfs/doctor commands need. They persist in the
// registry's settings table; each command may override them from its
// --config file (pinetboot.toml) and its flags: flags > config file > stored
// settings > defaults (resolveSettings).
//
// The programs and paths a root command runs or writes (exports file,
// exportfs, ganesha.nfsd, the mount unit directory) are never stored nor read from the registry: a row
// in registry.db must not choose what runs as uid 0 (docs/security.md). They
// come from the command's flags or the compiled defaults only.

#include <filesystem>
#include <optional>
#include <string>

#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

namespace config {
struct Config;
}

struct ServerSettings {
    std::string serverIp;             ///< address put into nfsroot= (and the boot mount)
    std::string nfsVersion = "3";     ///< "3" or "4.1"
    std::string nfsBackend = "none";  ///< "kernel", "ganesha" or "none"
    std::string clientSubnet;         ///< export restriction for clients without --address
    std::string interface;            ///< the boot network interface (doctor checks it)
    bool bootExport = false;          ///< export boot dirs and mount them at /boot/firmware
    // Not stored: flags or these defaults only (see above).
    std::string kernelExportsFile = "/etc/exports.d/pinetboot.exports";
    std::string exportfsCommand = "exportfs";
    std::string ganeshaCommand = "ganesha.nfsd";
    /// Where nfs apply writes the overlay roots' mount units; empty: /etc/systemd/system
    /// when systemd runs, else none.
    std::string mountUnitDir;

    bool operator==(const ServerSettings&) const = default;
};

/// The stored settings over the defaults; the program and path fields keep their defaults
/// whatever the registry holds (rows an older pinetboot wrote are ignored).
Result<ServerSettings> loadSettings(io::Registry& reg);
/// Stores the storable fields (not the programs and paths).
Result<void> saveSettings(io::Registry& reg, const ServerSettings& s);
/// Checks values (IPv4 address, version, backend, subnet).
Result<void> validateSettings(const ServerSettings& s);

/// The settings one source (command-line flags, a config file) gives: an
/// empty string or nullopt means "not given", so the next source shows through.
struct SettingsOverrides {
    std::string serverIp;
    std::string nfsVersion;
    std::string nfsBackend;
    std::string clientSubnet;
    std::string interface;
    std::string kernelExportsFile;
    std::string exportfsCommand;
    std::string ganeshaCommand;
    std::string mountUnitDir;
    std::optional<bool> bootExport;
};

/// What a pinetboot.toml says about the settings: [nfs] server, version and
/// backend, and the first [[interface]]'s name. Keys the file lacks stay unset.
SettingsOverrides settingsFromConfig(const config::Config& c);

/// Applies the given fields of @p o on top of @p s.
void applyOverrides(ServerSettings& s, const SettingsOverrides& o);

/// Whether resolving the settings also stores them.
enum class StoreSettings {
    IfChanged,  ///< what a command used is kept for the next one
    Never,      ///< checks (doctor) and commands that store only once they succeeded
};

/// The stored settings, @p fromConfig on top, then @p fromFlags on top of
/// that (flags > config file > stored > defaults); validates the result and,
/// with StoreSettings::IfChanged, stores its storable fields when they differ
/// from what was stored.
Result<ServerSettings> resolveSettings(io::Registry& reg, const SettingsOverrides& fromConfig,
                                       const SettingsOverrides& fromFlags,
                                       StoreSettings store = StoreSettings::IfChanged);

/// Stores the storable fields of @p s if they differ from the stored ones;
/// true if it wrote.
Result<bool> storeSettingsIfChanged(io::Registry& reg, const ServerSettings& s);

/// Paths inside the state directory.
struct StatePaths {
    std::filesystem::path root;
    [[nodiscard]] std::filesystem::path images() const { return root / "images"; }
    [[nodiscard]] std::filesystem::path tftp() const { return root / "tftp"; }
    [[nodiscard]] std::filesystem::path roots() const { return root / "roots"; }
    [[nodiscard]] std::filesystem::path nfs() const { return root / "nfs"; }
};

/// Creates @p dir (with its parents) if needed and makes it mode 0700. The state directory,
/// images/ and roots/ are reachable by root only: an image's setuid binaries, file
/// capabilities, device nodes and uid-1000 files would otherwise be reachable by (and, for
/// the uid that matches the image's, writable by) local users. NFS servers and `serve` run
/// as root, so nothing needs the traversal rights (docs/security.md).
Result<void> ensurePrivateDir(const std::filesystem::path& dir);

}  // namespace pinet::app
