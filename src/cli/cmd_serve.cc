// `pinetboot serve`: the daemon. DHCP (proxy or full) on one or more
// interfaces, TFTP, HTTP boot, the dashboard/API/metrics, the client registry,
// all in one process, configured by one TOML file (docs/configuration.md) and
// these flags (which override the file):
//
//   pinetboot serve --interface IF --root DIR            proxyDHCP + TFTP from DIR
//   pinetboot serve --config /etc/pinetboot.toml
//
// Signals: SIGHUP reloads the config file and the registry (transfers in flight
// continue), SIGTERM/SIGINT drain and exit. Logs go to stderr, one event per line
// with a stable name first (DHCP_OFFER, TFTP_DONE, BOOT_DONE, ...).

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/config/config.h"
#include "app/config/config_meaning.h"
#include "app/serve/daemon.h"
#include "app/serve/registry_store.h"
#include "app/store.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"

namespace pinet::cli {
namespace {

namespace cfg = app::config;

struct ServeOptions {
    std::string configPath;
    std::vector<std::string> interfaces;
    std::string root;
    std::string dhcpMode;  ///< empty = not given (file or "proxy")
    std::string range;
    std::string pxeBootfile;
    std::string pxeMenu;
    std::string stateDirFlag;
    std::string leaseDb;
    std::vector<std::string> routers;
    std::vector<std::string> dns;
    std::string domain;
    std::vector<std::string> reservations;
    unsigned leaseSeconds = 0;
    std::string httpListen;
    std::string httpBootListen;
    std::string bootRoot;
    std::string tftpListen;
    std::string netns;
};

/// Moves the calling thread (and every thread and socket it creates later)
/// into the network namespace @p name (`ip netns` name or a path).
void enterNetns(const std::string& name) {
    const std::string path = name.find('/') == std::string::npos ? "/run/netns/" + name : name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error("--netns " + name + ": cannot open " + path + ": " +
                                 std::strerror(errno));
    }
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
        throw std::runtime_error("--netns " + name + ": setns: " + std::strerror(err));
    }
    spdlog::info("NETNS_ENTERED name={} (dashboard stays in the starting namespace)", name);
}

cfg::ListenAddress listenOrThrow(const std::string& text, const std::string& flag) {
    auto a = cfg::parseListenAddress(text);
    if (!a) {
        throw cfg::ConfigError(flag + " " + text + ": expected IPv4:PORT");
    }
    return *a;
}

/// The file (or defaults), then the flags on top.
cfg::Config buildConfig(const ServeOptions& o) {
    cfg::Config c = o.configPath.empty() ? cfg::Config{} : cfg::loadConfigFile(o.configPath);
    // State dir: --state-dir > $PINETBOOT_STATE_DIR > [server] state_dir > default.
    c.stateDir = stateDir(o.stateDirFlag, c.stateDir);
    // Store: $PINETBOOT_STORE_URL > [store] (app::storeLocation), here so that a reload
    // compares like with like.
    if (auto url = storeUrlFromEnv()) {
        c.storeBackend = "postgresql";
        c.storeUrl = *url;
    }
    if (!o.root.empty()) {
        c.tftpRoot = o.root;
    }
    if (c.httpBootRoot.empty() && !o.bootRoot.empty()) {
        c.httpBootRoot = o.bootRoot;
    } else if (!o.bootRoot.empty()) {
        c.httpBootRoot = o.bootRoot;
    }
    if (!o.httpListen.empty()) {
        c.httpListen = listenOrThrow(o.httpListen, "--http");
    }
    if (!o.httpBootListen.empty()) {
        c.httpBootListen = listenOrThrow(o.httpBootListen, "--http-boot");
    }
    if (!o.tftpListen.empty()) {
        c.tftpListen = listenOrThrow(o.tftpListen, "--tftp-listen");
    }
    if (!o.pxeMenu.empty()) {
        c.pxeMenuText = o.pxeMenu;
    }
    if (!o.pxeBootfile.empty()) {
        c.pxeBootfile = o.pxeBootfile;
    }
    for (const auto& name : o.interfaces) {
        cfg::InterfaceConfig* i = nullptr;
        for (auto& existing : c.interfaces) {
            if (existing.name == name) {
                i = &existing;
            }
        }
        if (i == nullptr) {
            c.interfaces.push_back(cfg::InterfaceConfig{});
            i = &c.interfaces.back();
            i->name = name;
        }
        if (!o.dhcpMode.empty()) {
            if (o.dhcpMode == "proxy") {
                i->dhcp = cfg::DhcpMode::Proxy;
            } else if (o.dhcpMode == "full") {
                i->dhcp = cfg::DhcpMode::Full;
            } else if (o.dhcpMode == "off") {
                i->dhcp = cfg::DhcpMode::Off;
            } else {
                throw cfg::ConfigError("--dhcp " + o.dhcpMode + ": expected proxy, full or off");
            }
        }
        if (!o.range.empty()) {
            const auto comma = o.range.find(',');
            if (comma == std::string::npos || !cfg::isIpv4(o.range.substr(0, comma)) ||
                !cfg::isIpv4(o.range.substr(comma + 1))) {
                throw cfg::ConfigError("--range " + o.range + ": expected FIRST,LAST");
            }
            i->rangeFirst = o.range.substr(0, comma);
            i->rangeLast = o.range.substr(comma + 1);
        }
        if (!o.routers.empty()) {
            i->router = o.routers.front();
        }
        if (!o.dns.empty()) {
            i->dns = o.dns;
        }
        if (!o.domain.empty()) {
            i->domain = o.domain;
        }
        if (o.leaseSeconds != 0) {
            i->leaseTime = o.leaseSeconds;
        }
        if (!o.leaseDb.empty()) {
            i->leaseDb = o.leaseDb;
        }
        for (const auto& r : o.reservations) {
            i->reservations.push_back(r);
        }
    }
    if (c.interfaces.empty()) {
        throw cfg::ConfigError(
            "no interface to serve: give --interface IF or an [[interface]] table");
    }
    cfg::validate(c);
    return c;
}

int runServe(const ServeOptions& o) {
    cfg::Config c;
    try {
        c = buildConfig(o);
    } catch (const cfg::ConfigError& e) {
        std::cerr << e.what() << '\n';
        return kExitFailure;
    }

    // Block the signals before any thread starts (threads inherit the mask),
    // then take them synchronously here.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::unique_ptr<app::serve::ClientStore> store;
    try {
        auto where = app::storeLocation(c, storeUrlFromEnv());
        if (!where) {
            printError(where.error().message);
            return kExitFailure;
        }
        // The DHCP servers keep their leases in the same store (c.storeBackend/storeUrl).
        store = app::serve::openRegistryStore(c.stateDir, *where);
    } catch (const std::exception& e) {
        printError(e.what());
        return kExitFailure;
    }
    app::serve::ServeDaemon daemon(c, std::move(store));
    try {
        if (o.netns.empty()) {
            daemon.start();
        } else {
            daemon.start([&o] { enterNetns(o.netns); });
        }
    } catch (const std::exception& e) {
        printError(std::string("serve: ") + e.what());
        return kExitFailure;
    }
    // What the file means on this machine (missing directories, addresses outside the
    // interface's subnet), as check-config reports it; in the daemon's namespace, without
    // the DHCP probe (it would hold start-up for seconds). Warnings: serve runs anyway.
    {
        cfg::MeaningOptions mo;
        mo.dhcpProbe = false;
        for (const auto& problem : cfg::meaningErrors(c, mo)) {
            spdlog::warn("CONFIG_CHECK {}", problem);
        }
    }
    // One line on stdout for scripts: where things are.
    std::cout << "pinetboot serve: ready: dashboard " << (c.httpTlsCert.empty() ? "http" : "https")
              << "://" << c.httpListen.host << ":" << daemon.httpPort() << "/ tftp "
              << daemon.tftpAddress();
    if (daemon.httpBootPort() != 0) {
        std::cout << " http-boot " << c.httpBootListen.host << ":" << daemon.httpBootPort();
    }
    std::cout << std::endl;

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            spdlog::info("SIGNAL_HUP reloading config={} and registry",
                         o.configPath.empty() ? "-" : o.configPath);
            try {
                daemon.reload(buildConfig(o));
            } catch (const std::exception& e) {
                spdlog::error("CONFIG_RELOAD_FAILED error=\"{}\" (running config kept)", e.what());
            }
            continue;
        }
        spdlog::info("SIGNAL_{} stopping", sig == SIGTERM ? "TERM" : "INT");
        break;
    }
    daemon.stop();
    return kExitOk;
}

void setupServe(CLI::App* cmd) {
    auto opts = std::make_shared<ServeOptions>();
    cmd->add_option("--config,-c", opts->configPath, "pinetboot.toml (see docs/configuration.md)");
    cmd->add_option("--interface,-i", opts->interfaces,
                    "Interface to serve (repeatable; added to the file's [[interface]] list)");
    cmd->add_option("--root,-r", opts->root, "TFTP root directory ([tftp] root)");
    cmd->add_option("--dhcp", opts->dhcpMode,
                    "proxy: PXE offers beside the site DHCP server (default); full: hand out "
                    "addresses too; off: TFTP only");
    cmd->add_option("--range", opts->range, "Full mode address pool FIRST,LAST");
    cmd->add_option("--pxe-bootfile", opts->pxeBootfile,
                    "Boot file for generic (x86/UEFI) PXE clients; off by default");
    cmd->add_option("--pxe-menu", opts->pxeMenu, "Option 43 menu text the Pi matches");
    cmd->add_option("--lease-db", opts->leaseDb, "Full mode lease database (SQLite)");
    cmd->add_option("--state-dir", opts->stateDirFlag,
                    "State directory (registry, leases); default $PINETBOOT_STATE_DIR or "
                    "/var/lib/pinetboot");
    cmd->add_option("--lease-time", opts->leaseSeconds, "Lease time in seconds (full mode)");
    cmd->add_option("--router", opts->routers, "Option 3 router address");
    cmd->add_option("--dns", opts->dns, "Option 6 DNS server (repeatable)");
    cmd->add_option("--domain", opts->domain, "Option 15 domain name");
    cmd->add_option("--reserve", opts->reservations,
                    "Static lease MAC=IP or SERIAL=IP (repeatable)");
    cmd->add_option("--http", opts->httpListen, "Dashboard/API listen address ([http] listen)");
    cmd->add_option("--http-boot", opts->httpBootListen,
                    "HTTP boot listen address on the boot LAN ([http] boot_listen)");
    cmd->add_option("--boot-root", opts->bootRoot, "HTTP boot directory ([http] boot_root)");
    cmd->add_option("--tftp-listen", opts->tftpListen, "TFTP listen address ([tftp] listen)");
    cmd->add_option("--netns", opts->netns,
                    "Bind the dashboard here, then serve DHCP/TFTP/HTTP boot inside this network "
                    "namespace (`ip netns` name); used by scripts/demo.sh");
    cmd->callback([opts] { setExitCode(runServe(*opts)); });
}

}  // namespace

PINET_COMMAND(40, "serve",
              "Run the netboot daemon: DHCP (proxy or full), TFTP, HTTP boot, dashboard",
              setupServe);

}  // namespace pinet::cli
