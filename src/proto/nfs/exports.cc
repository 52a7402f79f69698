#include "proto/nfs/exports.h"

#include <charconv>

#include <fmt/format.h>

namespace pinet::proto::nfs {

namespace {

bool parseOctet(std::string_view s, unsigned& out) {
    if (s.empty() || s.size() > 3) {
        return false;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out <= 255;
}

}  // namespace

bool isIpv4OrSubnet(const std::string& s) {
    std::string_view v(s);
    auto slash = v.find('/');
    if (slash != std::string_view::npos) {
        unsigned prefix = 0;
        std::string_view p = v.substr(slash + 1);
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (ec != std::errc() || end != p.data() + p.size() || p.empty() || prefix > 32) {
            return false;
        }
        v = v.substr(0, slash);
    }
    int parts = 0;
    while (true) {
        auto dot = v.find('.');
        unsigned o = 0;
        if (!parseOctet(v.substr(0, dot), o)) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            break;
        }
        v = v.substr(dot + 1);
    }
    return parts == 4;
}

Result<void> validateExport(const Export& e) {
    if (e.path.empty() || e.path.front() != '/') {
        return fail(fmt::format("export path \"{}\" is not absolute", e.path));
    }
    if (e.path.find_first_of("\"\n\r\t\\") != std::string::npos) {
        return fail(
            fmt::format("export path \"{}\" contains a quote, backslash or control "
                        "character",
                        e.path));
    }
    if (e.clients.empty()) {
        return fail(
            fmt::format("export {} has no client address or subnet: refusing to export "
                        "to everyone",
                        e.path));
    }
    for (const auto& c : e.clients) {
        if (!isIpv4OrSubnet(c)) {
            return fail(fmt::format("export {}: client \"{}\" is not an IPv4 address or subnet",
                                    e.path, c));
        }
    }
    if (e.comment.find('\n') != std::string::npos) {
        return fail("export comment spans lines");
    }
    return {};
}

Result<std::string> renderKernelExports(const std::vector<Export>& exports) {
    std::string out = "# Written by pinetboot (nfs apply); edits are overwritten.\n";
    for (const auto& e : exports) {
        if (auto r = validateExport(e); !r) {
            return tl::unexpected(r.error());
        }
        if (!e.comment.empty()) {
            out += "# " + e.comment + "\n";
        }
        // exports(5): a quoted path may contain spaces; options per client.
        out += fmt::format("\"{}\"", e.path);
        for (const auto& c : e.clients) {
            out +=
                fmt::format(" {}({},sync,no_subtree_check,{},fsid={})", c, e.readOnly ? "ro" : "rw",
                            e.noRootSquash ? "no_root_squash" : "root_squash", e.exportId);
        }
        out.push_back('\n');
    }
    return out;
}

Result<std::string> renderGaneshaConfig(const std::vector<Export>& exports,
                                        const GaneshaParams& params) {
    if (params.recoveryRoot.find_first_of("\"\n;{}") != std::string::npos) {
        return fail("ganesha recovery root contains characters the config cannot hold");
    }
    std::string out = fmt::format(
        "# Written by pinetboot (nfs apply); edits are overwritten.\n"
        "NFS_CORE_PARAM {{\n"
        "    Protocols = 3, 4;\n"
        "    Enable_NLM = false;\n"
        "    Enable_RQUOTA = false;\n"
        "    NFS_Port = {};\n"
        "}}\n"
        "NFSV4 {{\n"
        "    Graceless = true;\n"
        "    RecoveryBackend = fs;\n"
        "    RecoveryRoot = \"{}\";\n"
        "}}\n",
        params.port, params.recoveryRoot);
    for (const auto& e : exports) {
        if (auto r = validateExport(e); !r) {
            return tl::unexpected(r.error());
        }
        std::string clients;
        for (const auto& c : e.clients) {
            clients += (clients.empty() ? "" : ", ") + c;
        }
        out += fmt::format(
            "# {}\n"
            "EXPORT {{\n"
            "    Export_Id = {};\n"
            "    Path = \"{}\";\n"
            "    Pseudo = \"{}\";\n"
            "    Protocols = 3, 4;\n"
            "    Transports = TCP;\n"
            "    SecType = sys;\n"
            "    Access_Type = None;\n"
            "    Squash = Root_Squash;\n"
            "    FSAL {{ Name = VFS; }}\n"
            "    CLIENT {{\n"
            "        Clients = {};\n"
            "        Access_Type = {};\n"
            "        Squash = {};\n"
            "    }}\n"
            "}}\n",
            e.comment.empty() ? e.path : e.comment, e.exportId, e.path, e.path, clients,
            e.readOnly ? "RO" : "RW", e.noRootSquash ? "No_Root_Squash" : "Root_Squash");
    }
    return out;
}

}  // namespace pinet::proto::nfs
