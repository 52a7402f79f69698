#pragma once
// `pinetboot doctor`: the checks the seed's reader did by hand, each with a
// fix: a static address on the boot interface, whether another DHCP server
// answers (proxy mode is then the right choice), the NFS server answering
// and exporting every client root, every boot tree complete for its model,
// and every cmdline.txt pointing at an export that exists; the kernel's
// neighbour table big enough for the boards that boot at once.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/settings.h"
#include "io/net/interface.h"
#include "io/net/udp_socket.h"
#include "io/registry/registry.h"
#include "proto/error.h"

namespace pinet::app {

enum class Severity { Ok, Info, Warn, Fail };

struct Finding {
    Severity severity = Severity::Ok;
    std::string check;  ///< short name: "interface", "dhcp", "nfs", "boot 9ffefdef", ...
    std::string message;
    std::string fix;  ///< empty when nothing needs fixing
};

struct DoctorOptions {
    bool dhcpProbe = true;
    // dnsmasq and ISC dhcpd ping-check an address (up to 3 s) before offering it.
    std::chrono::milliseconds dhcpWait{5000};
    /// Boards that may boot at once (--boards, or the config's DHCP pool): the neighbour
    /// table must hold them. The registry's client count is used when it is larger.
    std::size_t expectedBoards = 0;
    /// Several nodes (issue #19): with a PostgreSQL store, this node's boot trees (under
    /// tftpRoot) are compared with every other node's (app/doctor/trees.h).
    io::StoreLocation store;
    std::string nodeId;
    std::filesystem::path tftpRoot;
};

std::vector<Finding> runDoctor(const std::filesystem::path& stateDir, io::Registry& reg,
                               const ServerSettings& s, const DoctorOptions& opts);

std::string_view severityName(Severity s);

/// One finding as `doctor --json` and GET /api/v1/doctor give it: severity ("ok",
/// "info", "warn", "FAIL"), check, message, fix.
nlohmann::json findingJson(const Finding& f);

/// In the state directory: serve's last switch-port findings (core::boot::LinkWatch), one
/// line each; doctor reports them with the port-fast fix.
inline constexpr std::string_view kNetworkFindingsFile = "network-findings.txt";

/// Broadcasts one DHCPDISCOVER through @p sock (bound to UDP 68 on the interface of @p info
/// only) and collects, for @p wait, the other servers that offer ("10.0.0.1 offering
/// 10.0.0.57", "10.0.0.1 (proxy)"); an offer from @p info's own address (our serve) is not
/// counted. Doctor's DHCP check; check-config's too.
Result<std::set<std::string>> collectDhcpOffers(io::UdpSocket& sock, const io::InterfaceInfo& info,
                                                std::chrono::milliseconds wait);
/// collectDhcpOffers() on a socket of its own on @p interface.
Result<std::set<std::string>> probeDhcpServers(const std::string& interface,
                                               std::chrono::milliseconds wait);

}  // namespace pinet::app
