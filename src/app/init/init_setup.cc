#include "app/init/init_setup.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/config/config.h"
#include "app/config/config_meaning.h"
#include "app/settings.h"
#include "io/file.h"
#include "io/process/process.h"
#include "io/registry/registry.h"
#include "proto/dhcp/dhcp_packet.h"
#include "proto/nfs/exports.h"
#include "proto/text/safe_text.h"

namespace pinet::app::init {

namespace {

using nlohmann::json;

/// Linux names are at most IFNAMSIZ - 1 = 15 bytes. Quotes, backslashes, '/', spaces and
/// control bytes are refused too: the name goes into a TOML string and a shell command line.
bool validInterfaceName(std::string_view n) {
    if (n.empty() || n.size() > 15 || n == "." || n == "..") {
        return false;
    }
    return std::all_of(n.begin(), n.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != '/' && c != '"' && c != '\\' && c != '\'';
    });
}

const json* field(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::string stringField(const json& obj, const char* key) {
    const json* v = field(obj, key);
    return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool hasFlag(const json& obj, const char* flag) {
    const json* flags = field(obj, "flags");
    if (flags == nullptr || !flags->is_array()) {
        return false;
    }
    return std::any_of(flags->begin(), flags->end(), [&](const json& f) {
        return f.is_string() && f.get<std::string>() == flag;
    });
}

std::uint32_t maskOf(int prefix) {
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

std::string subnetText(std::uint32_t ip, int prefix) {
    return fmt::format("{}/{}", proto::dhcp::ipToString(ip & maskOf(prefix)), prefix);
}

std::string describe(const NetInterface& i) {
    std::string s =
        i.address.empty() ? "no IPv4 address" : fmt::format("{}/{}", i.address, i.prefix);
    if (!i.up) {
        s += ", down";
    }
    if (i.dynamic) {
        s += ", DHCP-leased";
    }
    if (i.defaultRoute) {
        s += ", default route";
    }
    return s;
}

std::string listCandidates(const std::vector<NetInterface>& all) {
    std::string out;
    for (const auto& c : bootCandidates(all)) {
        out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", c.name, describe(c));
    }
    return out.empty() ? "none" : out;
}

std::string joinServers(const std::set<std::string>& servers) {
    std::string out;
    for (const auto& s : servers) {
        // The list is ours ("A offering B"), but its addresses came off the wire.
        out += (out.empty() ? "" : ", ") + proto::text::safeText(s, 64);
    }
    return out;
}

/// A TOML basic string (TOML 1.0 "Basic strings": quote, backslash and control
/// characters escaped).
std::string tomlString(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

/// Everything planInit chooses, and every problem (each with its fix) in @p errs.
InitPlan choose(const InitRequest& req, const InitFacts& f, std::vector<std::string>& errs) {
    InitPlan plan;
    plan.stateDir = req.stateDir;
    if (plan.stateDir.empty()) {
        errs.emplace_back("no state directory: pass --state-dir DIR");
    }

    // ---- the boot interface
    const NetInterface* iface = nullptr;
    if (req.interface.empty()) {
        plan.interface = proposeInterface(f.interfaces);
        const auto cands = bootCandidates(f.interfaces);
        if (plan.interface.empty()) {
            errs.push_back(
                cands.empty()
                    ? std::string("no interface has an IPv4 address to boot Pis from: give the "
                                  "port they are cabled to a static address (e.g. ip addr add "
                                  "192.168.2.1/24 dev eth1, made persistent), then run init "
                                  "again")
                    : fmt::format("which interface are the Pis cabled to? It could be any of: "
                                  "{}; pass --interface NAME",
                                  listCandidates(f.interfaces)));
        } else {
            plan.reasons.push_back(
                fmt::format("interface: {}, the only {}interface with an IPv4 address",
                            plan.interface, cands.size() > 1 ? "non-uplink " : ""));
        }
    } else if (!validInterfaceName(req.interface)) {
        errs.push_back(fmt::format("--interface '{}' is not an interface name (ip link lists them)",
                                   proto::text::safeText(req.interface, 32)));
    } else {
        plan.interface = req.interface;
    }
    if (!plan.interface.empty()) {
        for (const auto& i : f.interfaces) {
            if (i.name == plan.interface) {
                iface = &i;
            }
        }
        if (iface == nullptr) {
            errs.push_back(fmt::format(
                "interface {} does not exist here (interfaces with an IPv4 address: {}; ip link "
                "lists all)",
                plan.interface, listCandidates(f.interfaces)));
        } else if (iface->loopback) {
            errs.push_back(fmt::format(
                "{} is the loopback interface: no Pi can reach it; pass the port they are cabled "
                "to ({})",
                iface->name, listCandidates(f.interfaces)));
            iface = nullptr;
        } else if (iface->address.empty()) {
            errs.push_back(fmt::format(
                "{} has no IPv4 address: give it a static one (e.g. ip addr add 192.168.2.1/24 "
                "dev {}, made persistent)",
                iface->name, iface->name));
            iface = nullptr;
        } else {
            if (!iface->up) {
                errs.push_back(fmt::format("{} is down: ip link set {} up (and make it persistent)",
                                           iface->name, iface->name));
            }
            if (iface->dynamic) {
                const auto what = fmt::format(
                    "{}'s address {}/{} was leased by a DHCP client: it can change and break "
                    "every client's nfsroot=",
                    iface->name, iface->address, iface->prefix);
                if (req.force) {
                    plan.warnings.push_back(what + " (--force)");
                } else {
                    errs.push_back(what +
                                   "; give it a static address (NetworkManager: ipv4.method "
                                   "manual; ifupdown: iface ... inet static), or pass --force");
                }
            }
        }
    }

    // ---- DHCP mode
    if (req.dhcp != "auto" && req.dhcp != "proxy" && req.dhcp != "full") {
        errs.push_back(fmt::format("--dhcp '{}': expected proxy, full or auto",
                                   proto::text::safeText(req.dhcp, 32)));
    } else if (iface != nullptr) {
        const bool answered = f.dhcpServers && !f.dhcpServers->empty();
        if (req.dhcp == "auto") {
            if (!f.dhcpServers) {
                errs.push_back(fmt::format(
                    "cannot tell whether a DHCP server answers on {} ({}): run init as root, or "
                    "choose: --dhcp proxy (a site DHCP server hands out the addresses) or --dhcp "
                    "full (pinetboot does)",
                    iface->name, f.probeError.empty() ? "not probed" : f.probeError));
            } else if (answered) {
                plan.dhcp = "proxy";
                plan.reasons.push_back(fmt::format(
                    "dhcp: proxy, because a DHCP server answers on {} ({}): it keeps handing out "
                    "the addresses, pinetboot only adds the Pis' boot options",
                    iface->name, joinServers(*f.dhcpServers)));
            } else {
                plan.dhcp = "full";
                plan.reasons.push_back(
                    fmt::format("dhcp: full, because no DHCP server answered on {}: pinetboot "
                                "hands out the addresses (the kernel's ip=dhcp needs one too)",
                                iface->name));
            }
        } else {
            plan.dhcp = req.dhcp;
        }
        if (plan.dhcp == "full") {
            if (iface->defaultRoute) {
                const auto what = fmt::format(
                    "{} carries the default route, so it is most likely the site network: full "
                    "DHCP there would hand out addresses to every machine on it",
                    iface->name);
                if (req.force) {
                    plan.warnings.push_back(what + " (--force)");
                } else {
                    errs.push_back(what +
                                   "; use --dhcp proxy, cable the Pis to a port of their own, "
                                   "or pass --force if this is a boot network of its own");
                }
            }
            if (answered && req.dhcp == "full") {
                const auto what = fmt::format(
                    "another DHCP server answers on {} ({}): two servers would hand "
                    "out addresses",
                    iface->name, joinServers(*f.dhcpServers));
                if (req.force) {
                    plan.warnings.push_back(what + " (--force; check-config reports it too)");
                } else {
                    errs.push_back(what + "; use --dhcp proxy, or stop the other server");
                }
            }
            plan.rangeFirst = req.rangeFirst;
            plan.rangeLast = req.rangeLast;
            if (plan.rangeFirst.empty() != plan.rangeLast.empty()) {
                errs.emplace_back("--range needs both addresses: --range FIRST-LAST");
            } else if (plan.rangeFirst.empty()) {
                if (auto r = proposeRange(iface->address, iface->prefix)) {
                    plan.rangeFirst = r->first;
                    plan.rangeLast = r->second;
                    plan.reasons.push_back(fmt::format(
                        "range: {}-{}, in {}'s subnet {}", r->first, r->second, iface->name,
                        subnetText(*proto::dhcp::parseIp(iface->address), iface->prefix)));
                } else {
                    errs.push_back(fmt::format(
                        "{}'s subnet (/{}) is too small to propose a pool: pass --range "
                        "FIRST-LAST",
                        iface->name, iface->prefix));
                }
            }
            if (!plan.rangeFirst.empty()) {
                const auto a = proto::dhcp::parseIp(plan.rangeFirst);
                const auto b = proto::dhcp::parseIp(plan.rangeLast);
                if (!a || !b || *a > *b) {
                    errs.push_back(
                        fmt::format("--range {}-{}: expected FIRST-LAST, two IPv4 "
                                    "addresses in order",
                                    proto::text::safeText(plan.rangeFirst, 32),
                                    proto::text::safeText(plan.rangeLast, 32)));
                } else {
                    config::InterfaceConfig ic;
                    ic.name = iface->name;
                    ic.dhcp = config::DhcpMode::Full;
                    ic.rangeFirst = plan.rangeFirst;
                    ic.rangeLast = plan.rangeLast;
                    for (auto& e : config::subnetErrors(ic, *proto::dhcp::parseIp(iface->address),
                                                        maskOf(iface->prefix))) {
                        errs.push_back(e + "; pass --range FIRST-LAST inside it");
                    }
                }
            }
        }
    }

    // ---- NFS backend
    if (req.nfsBackend.empty()) {
        if (f.nfs.kernel) {
            plan.nfsBackend = "kernel";
            plan.reasons.emplace_back(
                "nfs backend: kernel, the kernel NFS server is installed (exportfs)");
        } else if (f.nfs.ganesha) {
            plan.nfsBackend = "ganesha";
            plan.reasons.emplace_back(
                "nfs backend: ganesha, nfs-ganesha is installed (ganesha.nfsd; it needs rpcbind "
                "running)");
        } else {
            plan.nfsBackend = "none";
            plan.reasons.emplace_back(
                "nfs backend: none, no NFS server is installed: nfs apply prints the exports "
                "for a server you run (or apt install nfs-kernel-server, then pinetboot "
                "settings set --nfs-backend kernel)");
        }
    } else if (req.nfsBackend == "kernel") {
        plan.nfsBackend = "kernel";
        if (!f.nfs.kernel) {
            errs.emplace_back(
                "--nfs-backend kernel: exportfs is not installed (apt install nfs-kernel-server)");
        }
    } else if (req.nfsBackend == "ganesha") {
        plan.nfsBackend = "ganesha";
        if (!f.nfs.ganesha) {
            errs.emplace_back(
                "--nfs-backend ganesha: ganesha.nfsd is not installed (apt install nfs-ganesha "
                "nfs-ganesha-vfs)");
        }
    } else if (req.nfsBackend == "none") {
        plan.nfsBackend = "none";
    } else {
        errs.push_back(fmt::format("--nfs-backend '{}': expected kernel, ganesha or none",
                                   proto::text::safeText(req.nfsBackend, 32)));
    }

    // ---- the server address and the clients' subnet
    if (!req.serverIp.empty()) {
        plan.serverIp = req.serverIp;
        if (!proto::dhcp::parseIp(req.serverIp) ||
            proto::dhcp::ipToString(*proto::dhcp::parseIp(req.serverIp)) != req.serverIp) {
            errs.push_back(fmt::format("--server-ip '{}' is not an IPv4 address",
                                       proto::text::safeText(req.serverIp, 32)));
        } else if (iface != nullptr && req.serverIp != iface->address) {
            const auto what = fmt::format(
                "--server-ip {} is not {}'s address {}: the Pis mount their root "
                "from it (nfsroot=) and doctor expects the boot interface's address",
                req.serverIp, iface->name, iface->address);
            if (req.force) {
                plan.warnings.push_back(what + " (--force)");
            } else {
                errs.push_back(what + "; leave --server-ip out, or pass --force");
            }
        }
    } else if (iface != nullptr) {
        plan.serverIp = iface->address;
        plan.reasons.push_back(
            fmt::format("server address: {}, {}'s address (nfsroot=)", plan.serverIp, iface->name));
    }
    if (!req.clientSubnet.empty()) {
        plan.clientSubnet = req.clientSubnet;
        if (!proto::nfs::isIpv4OrSubnet(req.clientSubnet)) {
            errs.push_back(fmt::format("--client-subnet '{}' is not an IPv4 subnet (A.B.C.D/N)",
                                       proto::text::safeText(req.clientSubnet, 32)));
        }
    } else if (iface != nullptr) {
        plan.clientSubnet = subnetText(*proto::dhcp::parseIp(iface->address), iface->prefix);
        plan.reasons.push_back(fmt::format("client subnet: {}, {}'s subnet (the exports allow it)",
                                           plan.clientSubnet, iface->name));
    }
    return plan;
}

}  // namespace

std::vector<NetInterface> parseIpAddrJson(std::string_view text) {
    std::vector<NetInterface> out;
    const auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
        return out;
    }
    for (const auto& e : j) {
        if (!e.is_object()) {
            continue;
        }
        NetInterface i;
        i.name = stringField(e, "ifname");
        if (!validInterfaceName(i.name)) {
            continue;
        }
        i.up = hasFlag(e, "UP");
        i.loopback = hasFlag(e, "LOOPBACK");
        const json* addrs = field(e, "addr_info");
        if (addrs != nullptr && addrs->is_array()) {
            for (const auto& a : *addrs) {
                if (!a.is_object() || stringField(a, "family") != "inet") {
                    continue;
                }
                const auto local = stringField(a, "local");
                const json* len = field(a, "prefixlen");
                const auto ip = proto::dhcp::parseIp(local);
                if (!ip || len == nullptr || !len->is_number_integer()) {
                    continue;
                }
                const auto prefix = len->get<std::int64_t>();
                if (prefix < 0 || prefix > 32) {
                    continue;
                }
                i.address = proto::dhcp::ipToString(*ip);
                i.prefix = static_cast<int>(prefix);
                const json* dyn = field(a, "dynamic");
                i.dynamic = dyn != nullptr && dyn->is_boolean() && dyn->get<bool>();
                break;  // the first IPv4 address, as io::interfaceInfo and serve take it
            }
        }
        out.push_back(std::move(i));
    }
    return out;
}

std::set<std::string> parseDefaultRouteJson(std::string_view text) {
    std::set<std::string> out;
    const auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
        return out;
    }
    for (const auto& r : j) {
        if (r.is_object()) {
            auto dev = stringField(r, "dev");
            if (validInterfaceName(dev)) {
                out.insert(std::move(dev));
            }
        }
    }
    return out;
}

std::vector<NetInterface> bootCandidates(const std::vector<NetInterface>& all) {
    std::vector<NetInterface> out;
    for (const auto& i : all) {
        if (!i.loopback && !i.address.empty()) {
            out.push_back(i);
        }
    }
    // The likely boot ports first: up, not the uplink.
    std::stable_sort(out.begin(), out.end(), [](const NetInterface& a, const NetInterface& b) {
        return std::pair(!a.up, a.defaultRoute) < std::pair(!b.up, b.defaultRoute);
    });
    return out;
}

std::string proposeInterface(const std::vector<NetInterface>& all) {
    const auto cands = bootCandidates(all);
    std::vector<std::string> notUplink;
    for (const auto& c : cands) {
        if (!c.defaultRoute) {
            notUplink.push_back(c.name);
        }
    }
    if (notUplink.size() == 1) {
        return notUplink.front();
    }
    if (notUplink.empty() && cands.size() == 1) {
        return cands.front().name;  // one port only: proxy mode beside the site's DHCP
    }
    return {};
}

std::optional<std::pair<std::string, std::string>> proposeRange(const std::string& ip, int prefix) {
    const auto addr = proto::dhcp::parseIp(ip);
    // A /30 has two host addresses, the server's and one more: no pool worth proposing.
    if (!addr || prefix < 1 || prefix > 29) {
        return std::nullopt;
    }
    const std::uint32_t mask = maskOf(prefix);
    const std::uint32_t net = *addr & mask;
    const std::uint32_t bcast = net | ~mask;
    const std::uint32_t half = (bcast - net + 1) / 2;
    std::uint32_t first = net + half;
    std::uint32_t last = bcast - 1;
    if (*addr >= first) {
        first = net + 1;
        last = net + half - 1;
    }
    // 1000 boards per boot LAN at most: the kernel's default neighbour table (gc_thresh3
    // 1024) holds no more, and a smaller pool leaves the rest of the subnet for static hosts.
    constexpr std::uint32_t kMaxPool = 1000;
    last = std::min(last, first + kMaxPool - 1);
    return std::pair(proto::dhcp::ipToString(first), proto::dhcp::ipToString(last));
}

InitRequest fillDefaults(InitRequest req, const InitFacts& facts) {
    std::vector<std::string> ignored;
    const auto plan = choose(req, facts, ignored);
    auto fill = [](std::string& dst, const std::string& v) {
        if (dst.empty()) {
            dst = v;
        }
    };
    fill(req.interface, plan.interface);
    if (req.dhcp == "auto" && !plan.dhcp.empty()) {
        req.dhcp = plan.dhcp;
    }
    fill(req.nfsBackend, plan.nfsBackend);
    fill(req.serverIp, plan.serverIp);
    fill(req.clientSubnet, plan.clientSubnet);
    if (req.rangeFirst.empty() && req.rangeLast.empty()) {
        req.rangeFirst = plan.rangeFirst;
        req.rangeLast = plan.rangeLast;
    }
    return req;
}

Result<InitPlan> planInit(const InitRequest& req, const InitFacts& facts) {
    std::vector<std::string> errs;
    auto plan = choose(req, facts, errs);
    if (!errs.empty()) {
        std::string msg =
            fmt::format("init: {} problem{}:", errs.size(), errs.size() == 1 ? "" : "s");
        for (const auto& e : errs) {
            msg += "\n  - " + e;
        }
        return fail(msg);
    }
    return plan;
}

std::string renderConfig(const InitPlan& p) {
    std::string out;
    auto line = [&](const std::string& s) {
        out += s;
        out += '\n';
    };
    auto comment = [&](const std::string& s) {
        // Reasons quote names and addresses only, but a comment must stay one line.
        line("# " + proto::text::safeText(s, 400));
    };
    line("# pinetboot.toml, written by `pinetboot init`. Check it after an edit:");
    line("#   pinetboot check-config FILE");
    line("# then run `pinetboot serve --config FILE` (or: systemctl enable --now pinetboot).");
    line("# Every key: docs/configuration.md (man pinetboot-serve).");
    line("");
    line("[server]");
    line("# Client registry, images and client roots. --state-dir and PINETBOOT_STATE_DIR");
    line("# (the systemd unit sets it) win over this key.");
    line("state_dir = " + tomlString(p.stateDir));
    line("log_level = \"info\"");
    line("");
    line("# The boot interface: the port the Pis are cabled to.");
    line("[[interface]]");
    line("name = " + tomlString(p.interface));
    if (p.dhcp == "full") {
        line("# full: pinetboot hands out addresses from range (no other DHCP server answered");
        line("# when init looked). Never on the uplink: it would serve the whole site network.");
        line("dhcp = \"full\"");
        line("range = [" + tomlString(p.rangeFirst) + ", " + tomlString(p.rangeLast) + "]");
        line(
            "# router = \"A.B.C.D\"    # a default gateway for the Pis, if the boot network has "
            "one");
        line("# dns = [\"A.B.C.D\"]");
    } else {
        line("# proxy: the site's DHCP server (it answered when init looked) hands out the");
        line("# addresses; pinetboot only adds the Pis' boot options. Or set up the site server");
        line("# to do that too: pinetboot dhcp-snippet --for kea|dnsmasq|... and dhcp = \"off\".");
        line("dhcp = \"proxy\"");
    }
    line("");
    line("[tftp]");
    line("# Boot trees: image import and client add write them under the state directory.");
    line("root = " + tomlString(p.stateDir));
    line("");
    line("[http]");
    line("# Dashboard, JSON API and /metrics, with no authentication: keep it on loopback.");
    line("listen = \"127.0.0.1:8080\"");
    line("");
    line("[nfs]");
    line("# What client add writes into cmdline.txt (nfsroot=) and how nfs apply exports the");
    line("# roots. init stored the same values (pinetboot settings show); client add uses those,");
    line("# and this file when given --config.");
    line("server = " + tomlString(p.serverIp));
    line("version = \"3\"");
    line("backend = " + tomlString(p.nfsBackend));
    if (!p.reasons.empty()) {
        line("");
        line("# Why init chose these values:");
        for (const auto& r : p.reasons) {
            comment("  " + r);
        }
    }
    return out;
}

Result<std::vector<NetInterface>> listInterfaces() {
    auto addrs = io::runProcess({"ip", "-j", "addr", "show"}, std::chrono::seconds(10));
    if (!addrs || addrs->exitCode != 0) {
        return fail(
            fmt::format("cannot list the network interfaces with `ip -j addr show` ({}): "
                        "install iproute2",
                        addrs ? proto::text::safeText(addrs->err, 200) : addrs.error().message));
    }
    auto list = parseIpAddrJson(addrs->out);
    auto routes =
        io::runProcess({"ip", "-j", "route", "show", "default"}, std::chrono::seconds(10));
    if (routes && routes->exitCode == 0) {
        const auto devs = parseDefaultRouteJson(routes->out);
        for (auto& i : list) {
            i.defaultRoute = devs.count(i.name) != 0;
        }
    }
    return list;
}

NfsInstalled detectNfs() {
    // Both live in /usr/sbin, which a non-root PATH may lack; nfs apply runs as root.
    auto found = [](const std::string& prog) {
        return io::programExists(prog) || io::programExists("/usr/sbin/" + prog) ||
               io::programExists("/sbin/" + prog);
    };
    return NfsInstalled{found("exportfs"), found("ganesha.nfsd")};
}

Result<std::vector<std::string>> applyInit(const InitPlan& plan,
                                           const std::filesystem::path& configPath,
                                           std::string_view configText, bool overwrite) {
    std::vector<std::string> done;
    if (auto r = ensurePrivateDir(plan.stateDir); !r) {
        return fail(fmt::format("cannot create the state directory {}: {}", plan.stateDir,
                                r.error().message));
    }
    auto reg = io::Registry::open(plan.stateDir);
    if (!reg) {
        return tl::unexpected(reg.error());
    }
    auto settings = loadSettings(*reg);
    if (!settings) {
        return tl::unexpected(settings.error());
    }
    settings->serverIp = plan.serverIp;
    settings->clientSubnet = plan.clientSubnet;
    settings->nfsBackend = plan.nfsBackend;
    settings->interface = plan.interface;
    if (auto v = validateSettings(*settings); !v) {
        return tl::unexpected(v.error());
    }
    // The file first: if it cannot be written (it exists, /etc not writable), nothing is
    // stored either.
    auto w = overwrite ? io::writeFileAtomic(configPath, configText, 0644)
                       : io::writeFileAtomicNew(configPath, configText, 0644);
    if (!w) {
        return tl::unexpected(w.error());
    }
    done.push_back(fmt::format("wrote {}", configPath.string()));
    auto stored = storeSettingsIfChanged(*reg, *settings);
    if (!stored) {
        return fail(fmt::format("{} was written, but the settings were not stored: {}",
                                configPath.string(), stored.error().message));
    }
    done.push_back(fmt::format(
        "stored in {}: server-ip {}, client-subnet {}, nfs-backend {}, interface {}", plan.stateDir,
        plan.serverIp, plan.clientSubnet, plan.nfsBackend, plan.interface));
    return done;
}

}  // namespace pinet::app::init
