#include "proto/netboot/cmdline.h"

#include <charconv>

#include <fmt/format.h>

#include "proto/text/safe_text.h"

namespace pinet::proto::netboot {

namespace {

bool startsWith(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

// Arguments that describe the SD-card root or conflict with an NFS root.
bool isRootArgument(std::string_view a) {
    return startsWith(a, "root=") || startsWith(a, "rootfstype=") || startsWith(a, "nfsroot=") ||
           startsWith(a, "nbdroot=") || startsWith(a, "nbddev=") || startsWith(a, "ip=") ||
           startsWith(a, "rootflags=") || a == "rw" || a == "ro" || a == "rootwait" ||
           startsWith(a, "rootdelay=");
}

// Raspberry Pi OS first-boot hooks resize the SD card's root partition; on an
// NFS root they fail and stop the boot (the tutorial says to remove init=).
bool isSdFirstBootHook(std::string_view a) {
    return startsWith(a, "init=") && (a.find("firstboot") != std::string_view::npos ||
                                      a.find("init_resize") != std::string_view::npos);
}

bool usable(std::string_view s) {
    return !s.empty() && s.find_first_of(" \t\n,\"") == std::string_view::npos;
}

}  // namespace

std::vector<std::string> splitCmdline(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    bool have = false;
    for (char c : text) {
        if (c == '"') {
            quoted = !quoted;
            cur.push_back(c);
            have = true;
        } else if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            if (have) {
                out.push_back(std::move(cur));
                cur.clear();
                have = false;
            }
        } else {
            cur.push_back(c);
            have = true;
        }
    }
    if (have) {
        out.push_back(std::move(cur));
    }
    return out;
}

namespace {

/// @p original with its root arguments replaced by @p rootArgs at the first root=.
std::string replaceRootArgs(std::string_view original, const std::vector<std::string>& rootArgs) {
    std::vector<std::string> out;
    bool inserted = false;
    for (auto& a : splitCmdline(original)) {
        if (isSdFirstBootHook(a)) {
            continue;
        }
        if (isRootArgument(a)) {
            if (!inserted && startsWith(a, "root=")) {
                out.insert(out.end(), rootArgs.begin(), rootArgs.end());
                inserted = true;
            }
            continue;
        }
        out.push_back(std::move(a));
    }
    if (!inserted) {
        out.insert(out.end(), rootArgs.begin(), rootArgs.end());
    }
    std::string joined;
    for (const auto& a : out) {
        if (!joined.empty()) {
            joined.push_back(' ');
        }
        joined += a;
    }
    joined.push_back('\n');  // the firmware reads one line
    return joined;
}

}  // namespace

Result<std::string> rewriteCmdlineNbd(std::string_view original, const NbdRoot& nbd) {
    // The hook splits SERVER:PORT/NAME at the first ':' or '/' and the NAME
    // is passed unquoted to nbd-client -N: none of them may hold a separator.
    auto plain = [](std::string_view s) {
        return !s.empty() && s.find_first_of(" \t\n,\":/[]") == std::string_view::npos;
    };
    if (!plain(nbd.server)) {
        return fail(fmt::format("NBD server address \"{}\" is not usable in nbdroot=", nbd.server));
    }
    if (!plain(nbd.exportName)) {
        return fail(
            fmt::format("NBD export name \"{}\" is not usable in nbdroot=", nbd.exportName));
    }
    if (nbd.port == 0) {
        return fail("NBD port 0 is not usable in nbdroot=");
    }
    // /dev/nbd0 or one of its partitions, /dev/nbd0pN (N 1..128, a GPT's most).
    const std::string_view dev(nbd.device);
    bool devOk = dev == "/dev/nbd0";
    if (!devOk && dev.starts_with("/dev/nbd0p") && dev.size() > 10 && dev.size() <= 13) {
        const auto num = dev.substr(10);
        unsigned n = 0;
        auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
        devOk = ec == std::errc() && end == num.data() + num.size() && num.front() != '0' &&
                n >= 1 && n <= 128;
    }
    if (!devOk) {
        return fail(fmt::format("NBD root device \"{}\" is not /dev/nbd0 or /dev/nbd0pN",
                                proto::text::safeText(nbd.device, 40)));
    }
    return replaceRootArgs(original,
                           {"root=" + nbd.device,
                            fmt::format("nbdroot={}:{}/{}", nbd.server, nbd.port, nbd.exportName),
                            "rootfstype=ext4", "ip=dhcp", "rw", "rootwait"});
}

Result<std::string> rewriteCmdline(std::string_view original, const NfsRoot& nfs) {
    if (!usable(nfs.server)) {
        return fail(fmt::format("NFS server address \"{}\" is not usable in nfsroot=", nfs.server));
    }
    if (!usable(nfs.exportPath) || nfs.exportPath.front() != '/') {
        return fail(fmt::format(
            "NFS export \"{}\" must be an absolute path without spaces or commas", nfs.exportPath));
    }
    if (nfs.version != "3" && nfs.version != "4.1") {
        return fail(fmt::format("NFS version \"{}\" is not 3 or 4.1", nfs.version));
    }
    return replaceRootArgs(original, {"root=/dev/nfs",
                                      fmt::format("nfsroot={}:{},vers={},tcp", nfs.server,
                                                  nfs.exportPath, nfs.version),
                                      "ip=dhcp", nfs.readOnly ? "ro" : "rw", "rootwait"});
}

Result<ParsedNfsRoot> nfsRootOf(std::string_view cmdline) {
    for (const auto& a : splitCmdline(cmdline)) {
        if (!startsWith(a, "nfsroot=")) {
            continue;
        }
        std::string_view v = std::string_view(a).substr(8);
        auto colon = v.find(':');
        if (colon == std::string_view::npos) {
            return fail(fmt::format("{}: no SERVER: part", a));
        }
        ParsedNfsRoot p;
        p.server = std::string(v.substr(0, colon));
        std::string_view rest = v.substr(colon + 1);
        auto comma = rest.find(',');
        p.exportPath = std::string(rest.substr(0, comma));
        if (comma != std::string_view::npos) {
            p.options = std::string(rest.substr(comma + 1));
        }
        return p;
    }
    return fail("no nfsroot= argument");
}

}  // namespace pinet::proto::netboot
