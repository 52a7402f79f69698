#pragma once
// `pinetboot dhcp-snippet`: the configuration a site's own DHCP server needs so that Pis
// boot from this server without proxy mode (spec netboot-protocol §3.1, §3.2, §3.3).
// A pure function of its options: the option 43 bytes come from
// proto::dhcp::buildPxeMenuOption and the MAC prefixes from core::dhcp::raspberryPiOuis,
// the same code `serve` answers with, so the snippet and the server never disagree.

#include <optional>
#include <string>
#include <string_view>

#include "proto/dhcp/dhcp_packet.h"
#include "proto/dhcp/pxe.h"

namespace pinet::app {

enum class SnippetTarget { Kea, IscDhcpd, Dnsmasq, Mikrotik, OpenWrt };

/// "kea", "isc-dhcpd", "dnsmasq", "mikrotik", "openwrt"; nullopt otherwise.
std::optional<SnippetTarget> parseSnippetTarget(std::string_view name);
/// The names parseSnippetTarget accepts, for messages: "kea, isc-dhcpd, ...".
std::string snippetTargetNames();

struct SnippetOptions {
    proto::dhcp::Ip4 tftpServer = 0;  ///< options 66 and siaddr (next-server)
    std::string menuText{proto::dhcp::kDefaultPxeMenuText};
};

/// The snippet for @p target, commented in that server's syntax, ending in a newline.
std::string dhcpSnippet(SnippetTarget target, const SnippetOptions& o);

/// Option 43 as the snippet writes it: lower-case hex bytes joined by @p sep.
std::string option43Hex(std::string_view menuText, std::string_view sep);

}  // namespace pinet::app
