// `pinetboot serve`: DHCP (proxy or full) and TFTP together on one interface.
// The minimal form of issue 4; the daemon issue grows it (config file, registry, HTTP).

#include <signal.h>

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "app/dhcp/dhcp_server.h"
#include "app/serve/netboot_server.h"
#include "app/serve/log_sink.h"
#include "cli/command.h"
#include "proto/dhcp/dhcp_packet.h"

namespace pinet::cli {
namespace {

struct ServeOptions {
    std::string interface;
    std::string root;
    std::string dhcpMode = "proxy";
    std::string range;
    std::string pxeBootfile;
    std::string pxeMenu{proto::dhcp::kDefaultPxeMenuText};
    std::string stateDirFlag;
    std::string leaseDb;
    std::vector<std::string> routers;
    std::vector<std::string> dns;
    std::string domain;
    std::vector<std::string> reservations;
    unsigned leaseSeconds = 3600;
    std::string tftpListen;
};

proto::dhcp::Ip4 ipOrThrow(const std::string& text, const std::string& what) {
    auto ip = proto::dhcp::parseIp(text);
    if (!ip) {
        throw std::runtime_error(what + ": '" + text + "' is not an IPv4 address");
    }
    return *ip;
}

/// "MAC=IP" or "SERIAL=IP" (8 hex digits).
core::dhcp::Reservation parseReservation(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        throw std::runtime_error("--reserve " + text + ": expected MAC=IP or SERIAL=IP");
    }
    core::dhcp::Reservation r;
    const std::string key = text.substr(0, eq);
    r.ip = ipOrThrow(text.substr(eq + 1), "--reserve " + text);
    if (auto mac = proto::dhcp::parseMac(key)) {
        r.mac = *mac;
    } else if (key.size() == 8 && key.find_first_not_of("0123456789abcdefABCDEF") ==
                                      std::string::npos) {
        std::string s = key;
        for (auto& c : s) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        r.serial = s;
    } else {
        throw std::runtime_error("--reserve " + text + ": '" + key +
                                 "' is neither a MAC nor an 8-digit hex serial");
    }
    return r;
}

int runServe(const ServeOptions& o) {
    if (!std::filesystem::is_directory(o.root)) {
        printError("--root " + o.root + ": not a directory");
        return kExitUsage;
    }
    app::DhcpServerConfig dc;
    dc.interface = o.interface;
    if (o.dhcpMode == "proxy") {
        dc.mode = core::dhcp::Mode::Proxy;
    } else if (o.dhcpMode == "full") {
        dc.mode = core::dhcp::Mode::Full;
    } else {
        printError("--dhcp " + o.dhcpMode + ": expected proxy or full");
        return kExitUsage;
    }
    if (!o.range.empty()) {
        const auto comma = o.range.find(',');
        if (comma == std::string::npos) {
            printError("--range " + o.range + ": expected FIRST,LAST");
            return kExitUsage;
        }
        dc.rangeFirst = ipOrThrow(o.range.substr(0, comma), "--range");
        dc.rangeLast = ipOrThrow(o.range.substr(comma + 1), "--range");
    }
    dc.pxeBootfile = o.pxeBootfile;
    dc.pxeMenuText = o.pxeMenu;
    dc.leaseTime = std::chrono::seconds(o.leaseSeconds);
    for (const auto& r : o.routers) {
        dc.routers.push_back(ipOrThrow(r, "--router"));
    }
    for (const auto& r : o.dns) {
        dc.dnsServers.push_back(ipOrThrow(r, "--dns"));
    }
    dc.domainName = o.domain;
    for (const auto& r : o.reservations) {
        dc.reservations.push_back(parseReservation(r));
    }
    if (dc.mode == core::dhcp::Mode::Full) {
        if (!o.leaseDb.empty()) {
            dc.leaseDb = o.leaseDb;
        } else {
            const std::filesystem::path dir = stateDir(o.stateDirFlag);
            std::filesystem::create_directories(dir);
            dc.leaseDb = (dir / "dhcp-leases.sqlite").string();
        }
    }

    // Block the stop signals before any thread starts, then wait for one here.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    app::NetbootConfig nc;
    nc.dhcp = dc;
    nc.tftp.root = o.root;
    if (!o.tftpListen.empty()) {
        nc.tftp.listen = o.tftpListen;
    }
    app::LogEventSink sink;
    app::NetbootServer server(nc, &sink);
    server.start();
    spdlog::info("serve: ready on {} (dhcp {}, tftp {}, root {})", o.interface, o.dhcpMode,
                 server.tftpAddress(), o.root);
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("serve: signal {}, stopping", sig);
    server.stop();
    const auto tc = server.tftpCounters();
    std::cerr << app::formatCounters(server.dhcpCounters())
              << "tftp_transfers_started " << tc.transfersStarted << '\n'
              << "tftp_transfers_ok " << tc.finishedCount(core::TransferRecord::Result::Ok) << '\n';
    return kExitOk;
}

void setupServe(CLI::App& app) {
    auto opts = std::make_shared<ServeOptions>();
    auto* cmd = app.add_subcommand("serve", "Run DHCP (proxy or full) and TFTP for Pi netboot");
    cmd->add_option("--interface,-i", opts->interface, "Interface to serve (only this one)")
        ->required();
    cmd->add_option("--root,-r", opts->root, "TFTP root directory")->required();
    cmd->add_option("--dhcp", opts->dhcpMode,
                    "proxy: PXE offers beside the site DHCP server (default); full: hand out "
                    "addresses too");
    cmd->add_option("--range", opts->range, "Full mode address pool FIRST,LAST");
    cmd->add_option("--pxe-bootfile", opts->pxeBootfile,
                    "Boot file for generic (x86/UEFI) PXE clients; off by default");
    cmd->add_option("--pxe-menu", opts->pxeMenu, "Option 43 menu text the Pi matches");
    cmd->add_option("--lease-db", opts->leaseDb, "Full mode lease database (SQLite)");
    cmd->add_option("--state-dir", opts->stateDirFlag, "State directory (default lease db there)");
    cmd->add_option("--lease-time", opts->leaseSeconds, "Lease time in seconds (full mode)");
    cmd->add_option("--router", opts->routers, "Option 3 router address (repeatable)");
    cmd->add_option("--dns", opts->dns, "Option 6 DNS server (repeatable)");
    cmd->add_option("--domain", opts->domain, "Option 15 domain name");
    cmd->add_option("--reserve", opts->reservations,
                    "Static lease MAC=IP or SERIAL=IP (repeatable)");
    cmd->add_option("--tftp-listen", opts->tftpListen,
                    "TFTP ADDR:PORT (default: the interface address, port 69)");
    cmd->callback([opts] { setExitCode(runServe(*opts)); });
}

}  // namespace

PINET_COMMAND(40, setupServe);

}  // namespace pinet::cli
