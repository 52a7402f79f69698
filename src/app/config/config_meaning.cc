#include "app/config/config_meaning.h"

#include <arpa/inet.h>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "app/doctor/doctor.h"
#include "io/net/interface.h"

namespace pinet::app::config {

namespace fs = std::filesystem;

namespace {

std::uint32_t ipOf(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        return 0;
    }
    return ntohl(a.s_addr);
}

std::string ipText(std::uint32_t ip) {
    return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

int prefixLength(std::uint32_t mask) {
    return __builtin_popcount(mask);
}

/// "" when @p dir is a directory, else why not.
std::string directoryProblem(const fs::path& dir) {
    std::error_code ec;
    const auto st = fs::status(dir, ec);
    if (ec || st.type() == fs::file_type::not_found) {
        return "does not exist";
    }
    if (st.type() != fs::file_type::directory) {
        return "is not a directory";
    }
    return {};
}

}  // namespace

std::vector<std::string> subnetErrors(const InterfaceConfig& i, std::uint32_t ip,
                                      std::uint32_t netmask) {
    std::vector<std::string> out;
    const auto net = ip & netmask;
    const auto subnet = fmt::format("{}/{}", ipText(net), prefixLength(netmask));
    const auto outside = [&](const std::string& what, const std::string& addr) {
        const auto a = ipOf(addr);
        if (a != 0 && (a & netmask) != net) {
            out.push_back(fmt::format("interface {}: {} {} is outside {}'s subnet {} (address {})",
                                      i.name, what, addr, i.name, subnet, ipText(ip)));
        }
    };
    if (i.dhcp == DhcpMode::Full) {
        outside("range first", i.rangeFirst);
        outside("range last", i.rangeLast);
        outside("router", i.router);
        const auto first = ipOf(i.rangeFirst);
        const auto last = ipOf(i.rangeLast);
        if (first != 0 && last != 0 && ip >= first && ip <= last) {
            out.push_back(fmt::format(
                "interface {}: the range {}-{} holds the interface's own address {}: a board "
                "would be offered it",
                i.name, i.rangeFirst, i.rangeLast, ipText(ip)));
        }
        const auto bcast = net | ~netmask;
        for (const auto a : {first, last}) {
            if (a != 0 && netmask != 0xffffffffu && (a == net || a == bcast)) {
                out.push_back(fmt::format(
                    "interface {}: the range {}-{} includes {}, the subnet's {} address", i.name,
                    i.rangeFirst, i.rangeLast, ipText(a), a == net ? "network" : "broadcast"));
                break;
            }
        }
    }
    // A TFTP address a board on this link cannot reach without a router is a
    // misconfiguration in full mode; in proxy mode the site router may route it.
    if (i.dhcp == DhcpMode::Full) {
        outside("tftp_address", i.tftpAddress);
    }
    return out;
}

std::vector<std::string> meaningErrors(const Config& c, const MeaningOptions& opts,
                                       std::vector<std::string>* notes) {
    std::vector<std::string> out;
    const std::string prefix = c.sourcePath.empty() ? "" : c.sourcePath + ": ";
    const auto add = [&](std::string msg) {
        out.push_back(prefix + std::move(msg));
    };

    if (!c.tftpRoot.empty()) {
        if (auto why = directoryProblem(c.tftpRoot); !why.empty()) {
            add(fmt::format("tftp.root '{}' {}: create it (mkdir -p {}) or fix the path",
                            c.tftpRoot, why, c.tftpRoot));
        } else if (!c.tftpDefaultDir.empty()) {
            const auto dir = fs::path(c.tftpRoot) / c.tftpDefaultDir;
            if (auto dwhy = directoryProblem(dir); !dwhy.empty()) {
                add(fmt::format(
                    "tftp.default_dir '{}': {} {}, so unknown boards get no files: create it "
                    "(pinetboot image import puts a boot tree under images/NAME/boot) or remove "
                    "the key",
                    c.tftpDefaultDir, dir.string(), dwhy));
            }
        }
    }
    if (!c.httpBootListen.empty()) {
        const auto root = c.httpBootRoot.empty() ? c.tftpRoot : c.httpBootRoot;
        if (!root.empty()) {
            if (auto why = directoryProblem(root); !why.empty()) {
                add(fmt::format("http.boot_root '{}' {}", root, why));
            }
        }
    }
    for (const auto& i : c.interfaces) {
        auto info = io::interfaceInfo(i.name, false);
        if (!info) {
            add(fmt::format("interface {}: no such interface on this machine (ip link lists them)",
                            i.name));
            continue;
        }
        if (info->ip == 0) {
            if (i.dhcp == DhcpMode::Full) {
                add(
                    fmt::format("interface {}: has no IPv4 address; full DHCP needs one in the "
                                "range's subnet (ip addr add ADDR/PREFIX dev {})",
                                i.name, i.name));
            }
            continue;
        }
        for (auto& e : subnetErrors(i, info->ip, info->netmask)) {
            add(std::move(e));
        }
        if (i.dhcp == DhcpMode::Full && opts.dhcpProbe) {
            auto servers = app::probeDhcpServers(i.name, opts.dhcpWait);
            if (!servers) {
                if (notes != nullptr) {
                    notes->push_back(
                        fmt::format("{}interface {}: not checked for another DHCP server ({}); run "
                                    "check-config as root to check",
                                    prefix, i.name, servers.error().message));
                }
            } else if (!servers->empty()) {
                std::string list;
                for (const auto& s : *servers) {
                    list += (list.empty() ? "" : ", ") + s;
                }
                add(fmt::format(
                    "interface {}: dhcp = \"full\", but another DHCP server answers there ({}): "
                    "two servers would hand out addresses; use dhcp = \"proxy\" (the site server "
                    "gives addresses, pinetboot adds the boot options) or stop the other one",
                    i.name, list));
            }
        }
    }
    return out;
}

}  // namespace pinet::app::config
