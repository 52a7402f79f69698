#include "app/nfs/nfs_manager.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "app/client/client_manager.h"
#include "io/nfs/nfs_backend.h"
#include "io/process/process.h"

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

io::GaneshaConfig ganeshaCfg(const fs::path& stateDir, const ServerSettings& s) {
    io::GaneshaConfig g;
    g.dir = StatePaths{stateDir}.nfs();
    g.command = s.ganeshaCommand;
    return g;
}
}  // namespace

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
    auto clients = reg.list();
    if (!clients) {
        return tl::unexpected(clients.error());
    }
    auto exports = buildExports(*clients, s);
    if (!exports) {
        return tl::unexpected(exports.error());
    }
    NfsApplyReport rep;
    if (s.nfsBackend != "none") {
        for (const auto& c : *clients) {
            if (c.state == io::ClientState::Enrolled && c.rootMode == "overlay") {
                auto m = ensureOverlayMounted(stateDir, c);
                if (!m) {
                    return tl::unexpected(m.error());
                }
                if (*m) {
                    rep.lines.push_back("mounted overlay " + c.rootExport);
                }
            }
        }
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

Result<NfsStatus> nfsStatus(const fs::path& stateDir, io::Registry& reg, const ServerSettings& s) {
    auto clients = reg.list();
    if (!clients) {
        return tl::unexpected(clients.error());
    }
    auto exports = buildExports(*clients, s);
    if (!exports) {
        return tl::unexpected(exports.error());
    }
    NfsStatus st;
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
