// pinetboot dhcp-snippet --for kea|isc-dhcpd|dnsmasq|mikrotik|openwrt: prints what the
// site's own DHCP server needs so that Pis boot from this server without proxy mode
// (app/dhcp/dhcp_snippet.h). The TFTP address comes from --server-ip, else the config
// file's first [[interface]] tftp_address or [nfs] server, else the stored settings.

#include <iostream>

#include <fmt/format.h>

#include "app/config/config.h"
#include "app/dhcp/dhcp_snippet.h"
#include "cli/command.h"
#include "cli/server_settings_flags.h"

namespace pinet::cli {
namespace {

struct SnippetOpts {
    std::string target;
    std::string serverIp;
    std::string menuText;
    std::string stateDir;
    std::shared_ptr<SettingsFlags> flags = std::make_shared<SettingsFlags>();
};

void run(const SnippetOpts& o) {
    namespace cfg = app::config;
    auto target = app::parseSnippetTarget(o.target);
    if (!target) {
        printError(fmt::format("dhcp-snippet: --for {}: expected one of {}", o.target,
                               app::snippetTargetNames()));
        setExitCode(kExitUsage);
        return;
    }
    std::string ip = o.serverIp;
    std::string menu = o.menuText;
    if (!o.flags->configFile.empty()) {
        try {
            const auto c = cfg::loadConfigFile(o.flags->configFile);
            if (ip.empty() && !c.interfaces.empty()) {
                ip = c.interfaces.front().tftpAddress;
            }
            if (ip.empty()) {
                ip = c.nfsServer;
            }
            if (menu.empty()) {
                menu = c.pxeMenuText;
            }
        } catch (const cfg::ConfigError& e) {
            std::cerr << e.what() << '\n';
            setExitCode(kExitFailure);
            return;
        }
    }
    if (ip.empty()) {
        // The address `pinetboot init` or `settings set --server-ip` stored.
        auto ss = openSettingsSession(o.stateDir, *o.flags, app::StoreSettings::Never);
        if (!ss) {
            return;
        }
        ip = ss->settings.serverIp;
    }
    if (ip.empty()) {
        printError(
            "dhcp-snippet: no TFTP server address: give --server-ip A.B.C.D (or store it: "
            "pinetboot settings set --server-ip A.B.C.D)");
        setExitCode(kExitUsage);
        return;
    }
    auto addr = proto::dhcp::parseIp(ip);
    if (!addr) {
        printError(fmt::format("dhcp-snippet: '{}' is not an IPv4 address", ip));
        setExitCode(kExitUsage);
        return;
    }
    app::SnippetOptions so;
    so.tftpServer = *addr;
    if (!menu.empty()) {
        so.menuText = menu;
    }
    std::cout << app::dhcpSnippet(*target, so);
    setExitCode(kExitOk);
}

void setup(CLI::App* cmd) {
    auto o = std::make_shared<SnippetOpts>();
    cmd->add_option("--for", o->target, "DHCP server: " + app::snippetTargetNames())->required();
    cmd->add_option("--server-ip", o->serverIp,
                    "This server's address on the boot network (TFTP, option 66); default: "
                    "the config file's, else the stored setting");
    cmd->add_option("--pxe-menu", o->menuText,
                    "PXE menu text (default: the config's [pxe] menu_text, else Raspberry Pi "
                    "Boot)");
    cmd->add_option("--state-dir", o->stateDir, "State directory (for the stored server address)");
    addConfigFlag(cmd, o->flags);
    cmd->callback([o] { run(*o); });
}

}  // namespace

PINET_COMMAND(85, "dhcp-snippet",
              "Print the config that lets the site's DHCP server (kea, dnsmasq, ...) boot Pis",
              setup);

}  // namespace pinet::cli
