#include "proto/netboot/mount_unit.h"

#include <fmt/format.h>

namespace pinet::proto::netboot {

namespace {

bool plain(char c, bool first) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9');
    return alnum || c == ':' || c == '_' || (c == '.' && !first);
}

Result<void> checkPath(std::string_view what, const std::string& p) {
    if (p.empty() || p.front() != '/') {
        return fail(fmt::format("overlay {} \"{}\" is not an absolute path", what, p));
    }
    for (char c : p) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u == 0x7f || c == ',' || c == ':' || c == '\\' || c == '%' || c == '"') {
            return fail(fmt::format(
                "overlay {} \"{}\" holds a character (0x{:02x}) that a mount option or unit "
                "file would read differently: use a state directory without it",
                what, p, static_cast<unsigned>(u)));
        }
    }
    return {};
}

}  // namespace

std::string systemdEscapePath(std::string_view path) {
    // Components without the empty ones: "//a//b/" is "a/b".
    std::string joined;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') {
            ++i;
        }
        const std::size_t start = i;
        while (i < path.size() && path[i] != '/') {
            ++i;
        }
        if (i > start) {
            if (!joined.empty()) {
                joined.push_back('/');
            }
            joined.append(path.substr(start, i - start));
        }
    }
    if (joined.empty()) {
        return "-";
    }
    std::string out;
    for (std::size_t k = 0; k < joined.size(); ++k) {
        const char c = joined[k];
        if (c == '/') {
            out.push_back('-');
        } else if (plain(c, k == 0)) {
            out.push_back(c);
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        }
    }
    return out;
}

std::string mountUnitName(const OverlayMount& m) {
    return systemdEscapePath(m.merged) + ".mount";
}

Result<std::string> renderOverlayMountUnit(const OverlayMount& m) {
    struct Named {
        std::string_view what;
        const std::string* path;
    };
    const Named paths[] = {{"lowerdir", &m.lower},
                           {"upperdir", &m.upper},
                           {"workdir", &m.work},
                           {"mount point", &m.merged}};
    for (const auto& n : paths) {
        if (auto r = checkPath(n.what, *n.path); !r) {
            return tl::unexpected(r.error());
        }
    }
    // Wanted by multi-user.target, not local-fs.target, and nofail: a root
    // that cannot be mounted at boot (its image removed by hand) leaves one
    // board without a root, it must not stop the host in emergency mode.
    // Ordered before the NFS servers that export it, and after the file
    // systems holding its layers (RequiresMountsFor=). The options are the
    // ones `nfs apply` mounts with (client_manager ensureOverlayMounted):
    // index=on,nfs_export=on give the stable file handles NFS needs
    // (Documentation/filesystems/overlayfs.rst).
    return fmt::format(
        "{marker}\n"
        "[Unit]\n"
        "Description=pinetboot overlay root of client {serial}\n"
        "Documentation=file:/usr/share/doc/pinetboot/architecture.md\n"
        "RequiresMountsFor={lower} {upper}\n"
        "Before=nfs-server.service nfs-ganesha.service pinetboot.service\n"
        "\n"
        "[Mount]\n"
        "What=overlay\n"
        "Where={merged}\n"
        "Type=overlay\n"
        "Options=lowerdir={lower},upperdir={upper},workdir={work},index=on,nfs_export=on,nofail\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n",
        fmt::arg("marker", kMountUnitMarker), fmt::arg("serial", m.serial),
        fmt::arg("lower", m.lower), fmt::arg("upper", m.upper), fmt::arg("work", m.work),
        fmt::arg("merged", m.merged));
}

}  // namespace pinet::proto::netboot
