#include "app/nfs/nfs_manager.h"

#include "app/nbd/nbd_manager.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "app/client/client_manager.h"
#include "io/nfs/nfs_backend.h"
#include "io/process/process.h"
#include "io/systemd/unit_files.h"
#include "proto/netboot/ids.h"
#include "proto/netboot/mount_unit.h"

namespace pinet::app {

namespace fs = std::filesystem;

namespace {
// Export ids: roots 2*id+1, boot dirs 2*id+2 (unique, stable while the client exists;
// ganesha reserves 0 for its pseudo root).
std::uint32_t rootId(std::int64_t id) {
    return static_cast<std::uint32_t>(2 * id + 1);
}
std::uint32_t bootId(std::int64_t id) {
    return static_cast<std::uint32_t>(2 * id + 2);
}

/// True if @p p, every symlink resolved, lies beneath @p base (resolved too); @p orAt
/// also accepts @p base itself.
bool resolvesBeneath(const fs::path& base, const fs::path& p, bool orAt = false) {
    if (!p.is_absolute()) {
        return false;
    }
    std::error_code ec;
    const fs::path b = fs::weakly_canonical(base, ec);
    if (ec) {
        return false;
    }
    const fs::path r = fs::weakly_canonical(p, ec);
    if (ec) {
        return false;
    }
    auto ri = r.begin();
    for (const auto& part : b) {
        if (part.empty()) {
            continue;  // a trailing separator
        }
        if (ri == r.end() || *ri != part) {
            return false;
        }
        ++ri;
    }
    for (; ri != r.end(); ++ri) {
        if (!ri->empty()) {
            return true;
        }
    }
    return orAt;
}

/// Why the row may not be exported, or nullopt.
std::optional<std::string> whyRefused(const StatePaths& paths, const io::ClientRecord& c,
                                      const ServerSettings& s) {
    if (proto::netboot::normalizeSerial(c.serial) != c.serial) {
        return fmt::format("serial \"{}\" is not 8 lower-case hex digits", c.serial);
    }
    fs::path base;
    bool orAt = false;
    if (c.rootMode == "copy" || c.rootMode == "overlay") {
        base = paths.roots() / c.serial;  // private: its own directory only (copy: itself)
        orAt = true;
    } else if (c.rootMode == "shared") {
        base = paths.images();  // exported read-only
    } else {
        return fmt::format("root mode \"{}\" is not shared, copy or overlay", c.rootMode);
    }
    if (!resolvesBeneath(base, c.rootExport, orAt)) {
        return fmt::format("root export \"{}\" is not beneath {} once resolved", c.rootExport,
                           base.string());
    }
    if (s.bootExport && !c.bootDir.empty() && !resolvesBeneath(paths.tftp(), c.bootDir)) {
        return fmt::format("boot dir \"{}\" is not beneath {} once resolved", c.bootDir,
                           paths.tftp().string());
    }
    return std::nullopt;
}

const fs::path kSystemUnitDir = "/etc/systemd/system";

/// The overlays' mount units: an overlay that nfs apply mounted is gone after
/// a reboot, and its export with it, unless systemd mounts it at boot.
/// Written to s.mountUnitDir if given, else to /etc/systemd/system when
/// systemd runs (then daemon-reload); without systemd, said so.
Result<void> syncMountUnits(const ServerSettings& s, const std::vector<io::UnitFile>& units,
                            NfsApplyReport& rep) {
    const bool systemd = io::systemdRunning();
    fs::path dir = s.mountUnitDir;
    if (dir.empty()) {
        if (!systemd) {
            if (!units.empty()) {
                rep.lines.push_back(
                    "systemd is not running: the overlay roots are mounted now, but not after a "
                    "reboot (run pinetboot nfs apply at boot, or --mount-unit-dir DIR)");
            }
            return {};
        }
        dir = kSystemUnitDir;
    }
    auto sync =
        io::syncUnitFiles(dir, units, proto::netboot::kMountUnitMarker, "multi-user.target");
    if (!sync) {
        return tl::unexpected(sync.error());
    }
    for (const auto& n : sync->written) {
        rep.lines.push_back(fmt::format("mount unit {} written: the overlay is mounted at boot",
                                        (dir / n).string()));
    }
    for (const auto& n : sync->removed) {
        rep.lines.push_back(
            fmt::format("mount unit {} removed (its client is gone)", (dir / n).string()));
    }
    if (systemd && dir == kSystemUnitDir && (!sync->written.empty() || !sync->removed.empty())) {
        if (auto r = io::systemdDaemonReload(); !r) {
            rep.refused.push_back("mount units: " + r.error().message);
        }
    }
    return {};
}

io::GaneshaConfig ganeshaCfg(const fs::path& stateDir, const ServerSettings& s) {
    io::GaneshaConfig g;
    g.dir = StatePaths{stateDir}.nfs();
    g.command = s.ganeshaCommand;
    return g;
}
}  // namespace

ScreenedClients screenClients(const fs::path& stateDir,
                              const std::vector<io::ClientRecord>& clients,
                              const ServerSettings& s) {
    ScreenedClients out;
    const StatePaths paths{stateDir};
    for (const auto& c : clients) {
        // A block-device root is served over NBD (app/nbd), never over NFS.
        if (c.state == io::ClientState::Enrolled && isNbdRootMode(c.rootMode)) {
            continue;
        }
        if (c.state == io::ClientState::Enrolled && !c.rootExport.empty()) {
            if (auto why = whyRefused(paths, c, s)) {
                out.refused.push_back(fmt::format("client {}: {}; not exported", c.serial, *why));
                continue;
            }
        }
        out.kept.push_back(c);
    }
    return out;
}

Result<std::vector<proto::nfs::Export>> buildExports(const std::vector<io::ClientRecord>& clients,
                                                     const ServerSettings& s) {
    std::vector<proto::nfs::Export> out;
    std::map<std::string, std::size_t> byPath;  // shared roots collect their clients
    for (const auto& c : clients) {
        if (c.state != io::ClientState::Enrolled || c.rootExport.empty()) {
            continue;
        }
        if (c.address.empty()) {
            return fail(fmt::format("client {} has no address or subnet to limit its exports to",
                                    c.serial));
        }
        auto it = byPath.find(c.rootExport);
        if (it != byPath.end()) {
            auto& e = out[it->second];
            if (std::find(e.clients.begin(), e.clients.end(), c.address) == e.clients.end()) {
                e.clients.push_back(c.address);
            }
            e.comment += " " + c.serial;
        } else {
            proto::nfs::Export e;
            e.path = c.rootExport;
            e.clients = {c.address};
            e.readOnly = c.rootMode == "shared";
            e.noRootSquash = true;
            e.exportId = rootId(c.id);
            e.comment = (c.rootMode == "shared" ? "shared root of image " + c.image + ": clients "
                                                : "root of client ") +
                        c.serial;
            byPath[c.rootExport] = out.size();
            out.push_back(std::move(e));
        }
        if (s.bootExport && !c.bootDir.empty()) {
            proto::nfs::Export b;
            b.path = c.bootDir;
            b.clients = {c.address};
            b.readOnly = true;
            b.noRootSquash = false;
            b.exportId = bootId(c.id);
            b.comment = "boot files of client " + c.serial;
            out.push_back(std::move(b));
        }
    }
    return out;
}

Result<NfsApplyReport> applyNfs(const fs::path& stateDir, io::Registry& reg,
                                const ServerSettings& s) {
    auto all = reg.list();
    if (!all) {
        return tl::unexpected(all.error());
    }
    auto screened = screenClients(stateDir, *all, s);
    const auto& clients = screened.kept;
    auto exports = buildExports(clients, s);
    if (!exports) {
        return tl::unexpected(exports.error());
    }
    NfsApplyReport rep;
    rep.refused = std::move(screened.refused);
    // Overlays are mounted whatever the backend: with "none" the user's own
    // NFS server exports roots/SERIAL/merged, which is empty until mounted.
    std::vector<io::UnitFile> units;
    for (const auto& c : clients) {
        if (c.state != io::ClientState::Enrolled || c.rootMode != "overlay") {
            continue;
        }
        auto m = ensureOverlayMounted(stateDir, c);
        if (!m) {
            return tl::unexpected(m.error());
        }
        if (*m) {
            rep.lines.push_back("mounted overlay " + c.rootExport);
        }
        auto unit =
            overlayMountOf(stateDir, c)
                .and_then([&](const proto::netboot::OverlayMount& om) -> Result<io::UnitFile> {
                    auto text = proto::netboot::renderOverlayMountUnit(om);
                    if (!text) {
                        return tl::unexpected(text.error());
                    }
                    return io::UnitFile{proto::netboot::mountUnitName(om), *text};
                });
        if (!unit) {
            rep.refused.push_back(
                fmt::format("client {}: no mount unit: {}; it is mounted now "
                            "but not after a reboot",
                            c.serial, unit.error().message));
            continue;
        }
        units.push_back(std::move(*unit));
    }
    if (auto r = syncMountUnits(s, units, rep); !r) {
        return tl::unexpected(r.error());
    }
    if (s.nfsBackend == "kernel") {
        auto out = io::applyKernelExports({s.kernelExportsFile, s.exportfsCommand}, *exports);
        if (!out) {
            return tl::unexpected(out.error());
        }
        rep.lines.push_back(fmt::format("kernel: wrote {} export(s) to {} and ran {} -ra",
                                        exports->size(), s.kernelExportsFile, s.exportfsCommand));
    } else if (s.nfsBackend == "ganesha") {
        auto pid = io::applyGanesha(ganeshaCfg(stateDir, s), *exports);
        if (!pid) {
            return tl::unexpected(pid.error());
        }
        auto cfg = ganeshaCfg(stateDir, s);
        rep.lines.push_back(*pid == 0 ? fmt::format("ganesha: no exports, server stopped ({})",
                                                    (cfg.dir / "ganesha.conf").string())
                                      : fmt::format("ganesha: {} export(s) in {}, server pid {}",
                                                    exports->size(),
                                                    (cfg.dir / "ganesha.conf").string(), *pid));
    } else {
        auto text = proto::nfs::renderKernelExports(*exports);
        if (!text) {
            return tl::unexpected(text.error());
        }
        rep.exportsText = *text;
        rep.lines.push_back(
            fmt::format("backend none: {} export(s); add these lines to your NFS "
                        "server's exports",
                        exports->size()));
    }
    return rep;
}

std::optional<fs::path> mountUnitPath(const fs::path& stateDir, const ServerSettings& s,
                                      const io::ClientRecord& rec) {
    fs::path dir = s.mountUnitDir;
    if (dir.empty()) {
        if (!io::systemdRunning()) {
            return std::nullopt;
        }
        dir = kSystemUnitDir;
    }
    proto::netboot::OverlayMount m;
    m.merged = (StatePaths{stateDir}.roots() / rec.serial / "merged").string();
    return dir / proto::netboot::mountUnitName(m);
}

Result<std::vector<std::string>> dropMountUnit(const fs::path& stateDir, const ServerSettings& s,
                                               const io::ClientRecord& rec) {
    std::vector<std::string> lines;
    if (rec.rootMode != "overlay") {
        return lines;
    }
    auto unit = mountUnitPath(stateDir, s, rec);
    if (!unit) {
        return lines;
    }
    auto removed = io::removeUnitFile(*unit, proto::netboot::kMountUnitMarker, "multi-user.target");
    if (!removed) {
        return tl::unexpected(removed.error());
    }
    if (*removed) {
        lines.push_back("removed mount unit " + unit->string());
        if (s.mountUnitDir.empty() && io::systemdRunning()) {
            if (auto r = io::systemdDaemonReload(); !r) {
                return tl::unexpected(r.error());
            }
        }
    }
    return lines;
}

Result<NfsStatus> nfsStatus(const fs::path& stateDir, io::Registry& reg, const ServerSettings& s) {
    auto all = reg.list();
    if (!all) {
        return tl::unexpected(all.error());
    }
    auto screened = screenClients(stateDir, *all, s);
    auto exports = buildExports(screened.kept, s);
    if (!exports) {
        return tl::unexpected(exports.error());
    }
    NfsStatus st;
    st.refused = std::move(screened.refused);
    st.backend = s.nfsBackend;
    st.exports = *exports;
    if (s.nfsBackend == "ganesha") {
        int pid = io::ganeshaPid(ganeshaCfg(stateDir, s));
        st.server = pid != 0 ? fmt::format("nfs-ganesha running (pid {})", pid)
                             : "nfs-ganesha not running (pinetboot nfs apply starts it)";
    } else if (s.nfsBackend == "kernel") {
        auto out = io::runProcess({s.exportfsCommand, "-v"}, std::chrono::seconds(20));
        st.server = out ? fmt::format("{} -v (exit {}):\n{}", s.exportfsCommand, out->exitCode,
                                      out->out + out->err)
                        : out.error().message;
    } else {
        st.server = "backend none: the NFS server is managed outside pinetboot";
    }
    std::string host = s.serverIp.empty() ? "127.0.0.1" : s.serverIp;
    auto ping = io::pingNfs(host, std::chrono::milliseconds(2000));
    st.answers = static_cast<bool>(ping);
    st.answerText = ping ? *ping : ping.error().message;
    return st;
}

}  // namespace pinet::app
