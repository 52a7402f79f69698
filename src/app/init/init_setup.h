#pragma once
// `pinetboot init`: the first setup (issue #15). It picks the boot interface, chooses
// proxy or full DHCP from whether a site DHCP server answers there, the NFS backend that
// is installed, the server address and client subnet, writes a commented pinetboot.toml
// and stores the settings (app/settings.h) so that `client add --serial S --image I`
// needs no more flags.
//
// Split for testing: what the machine looks like (InitFacts: interfaces from `ip -j`,
// the DHCP probe's answer, installed NFS servers) is gathered by the few functions at the
// end; choosing and checking (planInit) and the file text (renderConfig) are pure.

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proto/error.h"

namespace pinet::app::init {

/// One network interface as `ip -j addr show` describes it (IPv4 only).
struct NetInterface {
    std::string name;
    bool up = false;
    bool loopback = false;
    bool defaultRoute = false;  ///< carries a default route (the uplink, as a rule)
    std::string address;        ///< first IPv4 address; empty: none
    int prefix = 0;
    bool dynamic = false;  ///< that address was leased by a DHCP client (it can change)
};

/// Parses `ip -j addr show` output; entries that are not objects or lack a valid name
/// are skipped, addresses that are not dotted IPv4 are ignored (the text is untrusted).
std::vector<NetInterface> parseIpAddrJson(std::string_view json);
/// Device names of the routes in `ip -j route show default` output.
std::set<std::string> parseDefaultRouteJson(std::string_view json);

/// NFS servers found on this machine (the programs nfs apply runs).
struct NfsInstalled {
    bool kernel = false;   ///< exportfs (Debian: nfs-kernel-server)
    bool ganesha = false;  ///< ganesha.nfsd (Debian: nfs-ganesha, nfs-ganesha-vfs)
};

struct InitFacts {
    std::vector<NetInterface> interfaces;
    NfsInstalled nfs;
    /// The DHCP servers that answered on the chosen interface; nullopt: not probed.
    std::optional<std::set<std::string>> dhcpServers;
    std::string probeError;  ///< why the probe could not run (empty when it ran)
};

/// What the user asked for (flags or answers); an empty field is chosen by planInit.
struct InitRequest {
    std::string interface;
    std::string dhcp = "auto";  ///< proxy, full or auto (from the DHCP probe)
    std::string nfsBackend;     ///< kernel, ganesha, none; empty: the installed one
    std::string serverIp;       ///< empty: the interface's address
    std::string clientSubnet;   ///< empty: the interface's subnet
    std::string rangeFirst;     ///< full mode pool; empty: computed in the subnet
    std::string rangeLast;
    std::string stateDir;  ///< resolved by the caller (flag > env > default)
    bool force = false;    ///< full DHCP on the uplink, a DHCP-leased address, ...
};

struct InitPlan {
    std::string interface;
    std::string dhcp;  ///< proxy or full
    std::string rangeFirst;
    std::string rangeLast;
    std::string nfsBackend;
    std::string serverIp;
    std::string clientSubnet;
    std::string stateDir;
    /// One line per choice made for the user, with the reason ("dhcp: proxy, because ...").
    std::vector<std::string> reasons;
    std::vector<std::string> warnings;  ///< allowed by --force or worth knowing
};

/// The interfaces that can be the boot interface: not loopback, with an IPv4 address.
std::vector<NetInterface> bootCandidates(const std::vector<NetInterface>& all);

/// The interface to propose when none is given: the only candidate without the default
/// route, else the only candidate; empty when it is not clear (then the user must say).
std::string proposeInterface(const std::vector<NetInterface>& all);

/// The full-mode pool proposed for @p ip / @p prefix: the half of the subnet that does not
/// hold the server's address, without the network and broadcast addresses, at most 1000
/// addresses. nullopt for a prefix over 29 (too few addresses to share).
std::optional<std::pair<std::string, std::string>> proposeRange(const std::string& ip, int prefix);

/// The request's empty fields filled with what planInit would choose (for the prompts'
/// defaults); fields it cannot choose stay empty.
InitRequest fillDefaults(InitRequest req, const InitFacts& facts);

/// Chooses and checks everything. On failure the error lists every problem at once, each
/// with its fix.
Result<InitPlan> planInit(const InitRequest& req, const InitFacts& facts);

/// The commented pinetboot.toml for @p plan. check-config accepts it (unit-tested).
std::string renderConfig(const InitPlan& plan);

// ---- the machine (io)

/// Interfaces and default routes from `ip -j addr show` / `ip -j route show default`.
Result<std::vector<NetInterface>> listInterfaces();
/// Which NFS server programs are in PATH.
NfsInstalled detectNfs();

/// Creates the state directory, stores the plan's settings in its registry and writes
/// @p configText to @p configPath (temp + rename; an existing file only with @p overwrite).
/// Returns one line per thing done.
Result<std::vector<std::string>> applyInit(const InitPlan& plan,
                                           const std::filesystem::path& configPath,
                                           std::string_view configText, bool overwrite);

}  // namespace pinet::app::init
