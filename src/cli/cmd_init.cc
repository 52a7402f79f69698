// pinetboot init: the first setup (app/init/init_setup.h). On a terminal it asks, each
// question with what it detected as the default; with --yes it takes the flags and the
// detected values and asks nothing (scripts, CI). It never replaces an existing config
// without --force.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "app/config/config.h"
#include "app/doctor/doctor.h"
#include "app/init/init_setup.h"
#include "cli/command.h"
#include "io/fs/file_ops.h"

namespace pinet::cli {
namespace {

namespace ai = app::init;

struct InitOpts {
    ai::InitRequest req;
    std::string range;
    std::string config = "/etc/pinetboot.toml";
    std::string stateDir;
    double dhcpWait = 4;  ///< seconds; check-config waits as long
    bool yes = false;
};

/// One answer from stdin; nullopt at end of input (the user pressed Ctrl-D).
std::optional<std::string> ask(const std::string& question, const std::string& def) {
    std::cout << question << (def.empty() ? "" : " [" + def + "]") << ": " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) {
        std::cout << '\n';
        return std::nullopt;
    }
    const auto b = line.find_first_not_of(" \t\r");
    const auto e = line.find_last_not_of(" \t\r");
    line = b == std::string::npos ? std::string() : line.substr(b, e - b + 1);
    return line.empty() ? def : line;
}

/// Asks until the answer is one of @p choices.
std::optional<std::string> askChoice(const std::string& question, const std::string& def,
                                     const std::vector<std::string>& choices) {
    while (true) {
        auto a = ask(question, def);
        if (!a || std::find(choices.begin(), choices.end(), *a) != choices.end()) {
            return a;
        }
        std::string list;
        for (const auto& c : choices) {
            list += (list.empty() ? "" : ", ") + c;
        }
        std::cout << fmt::format("  please answer one of: {}\n", list);
    }
}

/// "A-B" or "A,B" into the request's range.
bool splitRange(const std::string& text, ai::InitRequest& req) {
    const auto sep = text.find_first_of("-,");
    if (sep == std::string::npos) {
        return false;
    }
    req.rangeFirst = text.substr(0, sep);
    req.rangeLast = text.substr(sep + 1);
    return true;
}

void aborted() {
    printError("init: no answer; nothing was written");
    setExitCode(kExitFailure);
}

/// Interactive: the questions, each defaulting to what init would choose. An answer equal
/// to the default leaves the field to planInit, so the file's comments say why.
bool interview(ai::InitRequest& req, const ai::InitFacts& facts) {
    const auto cands = ai::bootCandidates(facts.interfaces);
    std::cout << "Interfaces with an IPv4 address (the Pis' port should not be the uplink):\n";
    for (std::size_t i = 0; i < cands.size(); ++i) {
        const auto& c = cands[i];
        std::cout << fmt::format("  {}) {:<15} {}/{}{}{}{}\n", i + 1, c.name, c.address, c.prefix,
                                 c.up ? "" : ", down", c.dynamic ? ", DHCP-leased" : "",
                                 c.defaultRoute ? ", default route (uplink)" : "");
    }
    const std::string defIf =
        req.interface.empty() ? ai::proposeInterface(facts.interfaces) : req.interface;
    auto a = ask("Boot interface (number or name)", defIf);
    if (!a) {
        return false;
    }
    req.interface = *a;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        if (*a == std::to_string(i + 1)) {
            req.interface = cands[i].name;
        }
    }
    return true;
}

void probe(ai::InitFacts& facts, const std::string& iface, const InitOpts& o) {
    bool exists = false;
    for (const auto& i : facts.interfaces) {
        exists = exists || (i.name == iface && !i.address.empty() && !i.loopback);
    }
    if (!exists) {
        return;  // planInit names the problem
    }
    std::cout << fmt::format("Looking for a DHCP server on {} ({} s)...\n", iface, o.dhcpWait)
              << std::flush;
    auto servers = app::probeDhcpServers(
        iface, std::chrono::milliseconds(static_cast<long long>(o.dhcpWait * 1000)));
    if (servers) {
        facts.dhcpServers = *servers;
    } else {
        facts.probeError = servers.error().message;
    }
}

bool interviewRest(ai::InitRequest& req, const ai::InitFacts& facts) {
    const auto def = ai::fillDefaults(req, facts);
    if (facts.dhcpServers) {
        std::string list;
        for (const auto& s : *facts.dhcpServers) {
            list += (list.empty() ? "" : ", ") + s;
        }
        std::cout << (facts.dhcpServers->empty()
                          ? fmt::format("  no DHCP server answered on {}: full mode hands out "
                                        "addresses\n",
                                        req.interface)
                          : fmt::format("  a DHCP server answers on {} ({}): proxy mode leaves "
                                        "the addresses to it\n",
                                        req.interface, list));
    } else if (!facts.probeError.empty()) {
        std::cout << "  could not look for a DHCP server: " << facts.probeError << '\n';
    }
    const std::string defMode = def.dhcp == "auto" ? "" : def.dhcp;
    auto mode = askChoice("DHCP mode (proxy or full)", defMode, {"proxy", "full"});
    if (!mode) {
        return false;
    }
    const bool modeWasDefault = *mode == defMode && req.dhcp == "auto";
    if (!modeWasDefault) {
        req.dhcp = *mode;
    }
    if (*mode == "full") {
        auto d = ai::fillDefaults(req, facts);
        const std::string defRange =
            d.rangeFirst.empty() ? "" : fmt::format("{}-{}", d.rangeFirst, d.rangeLast);
        while (true) {
            auto r = ask("Address range for the Pis (FIRST-LAST)", defRange);
            if (!r) {
                return false;
            }
            if (*r == defRange && req.rangeFirst.empty()) {
                break;
            }
            if (splitRange(*r, req)) {
                break;
            }
            std::cout << "  please answer FIRST-LAST, e.g. 192.168.2.100-192.168.2.200\n";
        }
    }
    std::string installed = facts.nfs.kernel ? "kernel" : "";
    if (facts.nfs.ganesha) {
        installed += std::string(installed.empty() ? "" : ", ") + "ganesha";
    }
    std::cout << fmt::format(
        "  NFS servers installed: {}\n",
        installed.empty() ? "none (apt install nfs-kernel-server)" : installed);
    auto nfs = askChoice("NFS backend (kernel, ganesha or none)", def.nfsBackend,
                         {"kernel", "ganesha", "none"});
    if (!nfs) {
        return false;
    }
    if (*nfs != def.nfsBackend || !req.nfsBackend.empty()) {
        req.nfsBackend = *nfs;
    }
    auto ip = ask("This server's address on the boot network (nfsroot=)", def.serverIp);
    if (!ip) {
        return false;
    }
    if (*ip != def.serverIp || !req.serverIp.empty()) {
        req.serverIp = *ip;
    }
    auto subnet = ask("The Pis' subnet (the exports allow it)", def.clientSubnet);
    if (!subnet) {
        return false;
    }
    if (*subnet != def.clientSubnet || !req.clientSubnet.empty()) {
        req.clientSubnet = *subnet;
    }
    return true;
}

void run(InitOpts o) {
    auto& req = o.req;
    const std::filesystem::path configPath = o.config;
    // Before any question or probe: an existing config is the user's.
    if (auto st = io::statNoFollow(configPath); st && *st && !req.force) {
        printError(fmt::format(
            "init: {} exists; init never replaces a config without --force (check the one you "
            "have: pinetboot check-config {}; or write another: --config PATH)",
            o.config, o.config));
        setExitCode(kExitFailure);
        return;
    }
    const bool interactive = !o.yes && ::isatty(STDIN_FILENO) == 1;
    if (!o.yes && !interactive) {
        printError(
            "init: stdin is not a terminal, so nothing can be asked: pass --yes to set up "
            "from the flags and what init detects");
        setExitCode(kExitUsage);
        return;
    }
    if (!o.range.empty() && !splitRange(o.range, req)) {
        printError(fmt::format("init: --range '{}': expected FIRST-LAST", o.range));
        setExitCode(kExitUsage);
        return;
    }
    req.stateDir = stateDir(o.stateDir);

    ai::InitFacts facts;
    auto ifs = ai::listInterfaces();
    if (!ifs) {
        printError("init: " + ifs.error().message);
        setExitCode(kExitFailure);
        return;
    }
    facts.interfaces = std::move(*ifs);
    facts.nfs = ai::detectNfs();

    if (interactive && !interview(req, facts)) {
        aborted();
        return;
    }
    const auto iface =
        req.interface.empty() ? ai::proposeInterface(facts.interfaces) : req.interface;
    if (req.dhcp == "auto" && !iface.empty()) {
        probe(facts, iface, o);
    }
    if (interactive && !interviewRest(req, facts)) {
        aborted();
        return;
    }

    auto plan = ai::planInit(req, facts);
    if (!plan) {
        printError(plan.error().message);
        setExitCode(kExitFailure);
        return;
    }
    const auto text = ai::renderConfig(*plan);
    // The file must be one check-config accepts; a failure here is a bug in renderConfig.
    auto checked = app::config::checkConfigText(text, o.config);
    auto errors = std::move(checked.errors);
    for (auto& e : app::config::validationErrors(checked.config)) {
        errors.push_back(std::move(e));
    }
    if (!errors.empty()) {
        printError("init: the generated config does not pass its own check (a bug):\n" +
                   app::config::joinErrors(errors));
        setExitCode(kExitFailure);
        return;
    }

    for (const auto& r : plan->reasons) {
        std::cout << "  " << r << '\n';
    }
    for (const auto& w : plan->warnings) {
        std::cout << "  warning: " << w << '\n';
    }
    if (interactive) {
        auto yes = askChoice(
            fmt::format("Write {} and store the settings in {}? (y/n)", o.config, plan->stateDir),
            "y", {"y", "n", "yes", "no"});
        if (!yes || yes->front() != 'y') {
            std::cout << "nothing written\n";
            setExitCode(kExitFailure);
            return;
        }
    }
    auto done = ai::applyInit(*plan, configPath, text, req.force);
    if (!done) {
        printError("init: " + done.error().message);
        setExitCode(kExitFailure);
        return;
    }
    for (const auto& d : *done) {
        std::cout << d << '\n';
    }
    std::cout << fmt::format(
        "next:\n"
        "  pinetboot check-config {0}\n"
        "  pinetboot image import IMAGE.img.xz --name NAME\n"
        "  pinetboot client add --serial SERIAL --image NAME\n"
        "  pinetboot doctor\n"
        "  pinetboot serve --config {0}\n",
        o.config);
    setExitCode(kExitOk);
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<InitOpts>();
    cmd->add_option("--interface", o->req.interface,
                    "Boot interface, the port the Pis are cabled to (default: the only "
                    "non-uplink interface with an IPv4 address)");
    cmd->add_option("--dhcp", o->req.dhcp,
                    "proxy, full, or auto: proxy if a DHCP server answers on the interface, "
                    "else full")
        ->check(CLI::IsMember({"proxy", "full", "auto"}));
    cmd->add_option("--range", o->range,
                    "Full mode: the address pool FIRST-LAST (default: half of the interface's "
                    "subnet, without the server's address)");
    cmd->add_option("--nfs-backend", o->req.nfsBackend,
                    "kernel, ganesha or none (default: the installed NFS server, kernel first)")
        ->check(CLI::IsMember({"kernel", "ganesha", "none"}));
    cmd->add_option("--server-ip", o->req.serverIp,
                    "This server's address for nfsroot= (default: the interface's address)");
    cmd->add_option("--client-subnet", o->req.clientSubnet,
                    "Subnet the exports allow (default: the interface's subnet)");
    cmd->add_option("--config", o->config, "Config file to write (default /etc/pinetboot.toml)");
    cmd->add_option("--state-dir", o->stateDir,
                    "State directory (default $PINETBOOT_STATE_DIR, else /var/lib/pinetboot)");
    // dnsmasq and ISC dhcpd ping-check an address for up to 3 s before offering it, so less
    // than half a second hears only servers that skip it; past 30 s nobody is still waiting.
    cmd->add_option("--dhcp-wait", o->dhcpWait,
                    "Seconds to wait for DHCP answers on the interface (default 4)")
        ->check(CLI::Range(0.5, 30.0));
    cmd->add_flag("-y,--yes", o->yes,
                  "Ask nothing: take the flags and the detected values (for scripts)");
    cmd->add_flag("--force", o->req.force,
                  "Overwrite an existing config; allow full DHCP on the uplink, a DHCP-leased "
                  "address, a --server-ip that is not the interface's");
    cmd->callback([o] { run(*o); });
}

}  // namespace

PINET_COMMAND(5, "init",
              "First setup: boot interface, proxy or full DHCP, NFS backend; writes "
              "pinetboot.toml and stores the settings",
              setup);

}  // namespace pinet::cli
