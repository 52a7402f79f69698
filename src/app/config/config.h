#pragma once
// pinetboot.toml: the one configuration file of `pinetboot serve`.
//
// Every key lives in one table (keyTable()): name, type, default, documentation,
// whether it can change on SIGHUP, the Config field it is stored in, and the
// function that validates and stores it. The parser, `check-config`,
// docs/configuration.md (renderConfigDocs()) and reload (restartOnlyChanges(),
// keepRestartOnly()) all read that table, so a key cannot exist without being
// documented, and "restart-only" is written in one place.
//
// Parsing is strict: an unknown key, a wrong type or a bad value is refused with
// "FILE:LINE: ..." (exceptions are fine here: this is start-up/reload time, never
// the packet path). A loaded Config is immutable; reload builds a new
// shared_ptr<const Config> and swaps it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/tftp/tftp_engine.h"
#include "io/net/datagram_loop.h"

namespace pinet::app::config {

enum class DhcpMode { Proxy, Full, Off };
const char* toString(DhcpMode mode);

/// An "address:port" pair as text plus its parts ("0.0.0.0:69").
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
    std::string text() const;
    bool empty() const { return host.empty(); }
    bool operator==(const ListenAddress&) const = default;
};

/// One [[interface]] table: where DHCP and TFTP answer.
struct InterfaceConfig {
    std::string name;
    DhcpMode dhcp = DhcpMode::Proxy;
    std::string rangeFirst;  ///< full mode only
    std::string rangeLast;
    std::string router;
    std::vector<std::string> dns;
    std::string domain;
    std::uint32_t leaseTime = 3600;
    std::string tftpAddress;  ///< advertised TFTP server (siaddr/opt 54/66); empty = interface IP
    std::vector<std::string> relays;  ///< DHCP relay agents (giaddr) answered through

    // Command-line only (serve flags kept from the first `serve`; not TOML keys):
    std::string leaseDb;  ///< --lease-db; empty = <state_dir>/dhcp-leases-IF.sqlite
    std::vector<std::string> reservations;  ///< --reserve MAC=IP / SERIAL=IP
};

struct Config {
    // [server]
    std::string stateDir;  ///< empty = from --state-dir / PINETBOOT_STATE_DIR / default
    std::string logLevel = "info";
    std::uint32_t bootHistory = 20;

    std::vector<InterfaceConfig> interfaces;

    // [tftp]
    std::string tftpRoot;
    std::string tftpDefaultDir;
    ListenAddress tftpListen{"0.0.0.0", 69};
    // The engine's defaults, the same as `pinetboot tftp`'s (core::tftp::EngineConfig).
    std::uint32_t tftpMaxTransfers =
        static_cast<std::uint32_t>(core::tftp::EngineConfig{}.maxTransfers);
    std::uint32_t tftpMaxBlksize = core::tftp::TransferLimits{}.maxBlockSize;
    std::uint32_t tftpMaxWindowsize = core::tftp::TransferLimits{}.maxWindowSize;
    std::uint32_t tftpTimeoutMs =
        static_cast<std::uint32_t>(core::tftp::TransferLimits{}.defaultTimeout.count());
    std::uint32_t tftpMinTimeoutMs =
        static_cast<std::uint32_t>(core::tftp::TransferLimits{}.minAdaptiveTimeout.count());
    std::uint32_t tftpRetries = static_cast<std::uint32_t>(core::tftp::TransferLimits{}.maxRetries);
    core::tftp::ReplyPorts tftpReplyPorts = core::tftp::EngineConfig{}.replyPorts;
    io::LoopChoice tftpIo = io::LoopChoice::Auto;

    // [http]
    ListenAddress httpListen{"127.0.0.1", 8080};
    /// Host names the dashboard answers to besides its address and localhost.
    std::vector<std::string> httpAllowedHosts;
    ListenAddress httpBootListen;  ///< empty = HTTP boot off
    std::string httpBootRoot;
    /// HTTPS for the dashboard/API: PEM certificate (chain) and key; both or neither.
    std::string httpTlsCert;
    std::string httpTlsKey;
    /// Serve plain HTTP beyond loopback anyway (a trusted management network).
    bool httpAllowPlaintextRemote = false;

    // [admission] (issue #14; core::boot::AdmissionConfig)
    bool admissionEnabled = true;
    std::uint32_t admissionMaxBoards = 0;          ///< 0 = bounded by the TFTP transfer slots
    std::uint32_t admissionMaxThroughputMbit = 0;  ///< 0 = none

    // [pxe]
    std::string pxeMenuText = "Raspberry Pi Boot";
    std::string pxeBootfile;

    // [nfs]: read by `client`, `nfs` and `doctor --config` (app::ServerSettings),
    // not by serve. Empty = not in the file: those commands then keep their
    // stored setting. Values use the same spelling as the CLI flags.
    std::string nfsServer;   ///< IPv4 address for nfsroot=
    std::string nfsVersion;  ///< "3" or "4.1"
    std::string nfsBackend;  ///< "kernel", "ganesha" or "none"

    // [store] (issue #19): where the client registry lives. PINETBOOT_STORE_URL, read by
    // the CLI (cli/store_flags.h), overrides both.
    std::string storeBackend = "sqlite";  ///< "sqlite" or "postgresql"
    std::string storeUrl;                 ///< postgresql only: a libpq URL
    /// This node's name among the nodes sharing the store (issue #19); empty = the host
    /// name (app/serve/node_service.h sanitizeNodeId).
    std::string storeNodeId;
    std::uint32_t storeTreeCheckSeconds = 30;  ///< [store] tree_check_seconds

    /// Where the file was read from ("" for a Config built from flags only).
    std::string sourcePath;
    /// "FILE:LINE: ..." notes that do not stop start-up (a key under its former
    /// name). loadConfigFile() logs them; parseConfig() only collects them.
    std::vector<std::string> warnings;
};

/// A config error: what() is "FILE:LINE: message" (or "FILE: message").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class KeyType { String, Integer, Boolean, StringArray, Address };
const char* toString(KeyType type);

/// Where a key lives.
enum class Scope { Server, Interface, Tftp, Http, Pxe, Nfs, Admission, Store };
const char* sectionName(Scope scope);  ///< "server", "interface", ...

/// Where a key's value lives in a Config, so reload can compare and copy keys
/// without a hand-written list of fields. For Scope::Interface the value is in
/// the InterfaceConfig passed (the Config is not used); for the other scopes
/// the InterfaceConfig is nullptr.
struct KeyField {
    /// True if the key has the same value in (@p a, @p ia) and (@p b, @p ib).
    std::function<bool(const Config& a, const InterfaceConfig* ia, const Config& b,
                       const InterfaceConfig* ib)>
        same;
    /// Sets the key in (@p to, @p ito) to its value in (@p from, @p ifrom).
    std::function<void(Config& to, InterfaceConfig* ito, const Config& from,
                       const InterfaceConfig* ifrom)>
        copy;
};

struct KeyDef {
    Scope scope;
    std::string_view name;
    KeyType type;
    std::string_view defaultText;  ///< as shown in the docs; "" = empty/none
    std::string_view doc;
    bool reloadable;  ///< takes effect on SIGHUP; otherwise needs a restart
    KeyField field;   ///< the Config field(s) apply() stores into
    /// Validates and stores the value; returns an error message (without the
    /// location) or nullopt. @p iface is set only for Scope::Interface.
    std::function<std::optional<std::string>(const toml::node&, Config&, InterfaceConfig*)> apply;
};

/// The one table of keys.
const std::vector<KeyDef>& keyTable();

/// A key that was renamed: a file with the old name still loads (an install
/// must not break on upgrade), with a warning in Config::warnings naming the
/// new key.
struct KeyRename {
    Scope scope;
    std::string_view oldName;
    std::string_view newName;  ///< a key of keyTable() in the same scope
};
const std::vector<KeyRename>& renamedKeys();

/// Parses TOML text. @p fileName is used in error messages.
/// @throw ConfigError with "FILE:LINE: ..." on any problem; with several problems, what()
/// holds every one, a line each.
Config parseConfig(std::string_view text, const std::string& fileName);

/// A file checked to the end: every error (each "FILE:LINE: ...", an unknown key or section
/// with the nearest known name), and the Config built from the keys that were fine.
struct ConfigCheck {
    Config config;
    std::vector<std::string> errors;
};
/// parseConfig() without stopping at the first error.
ConfigCheck checkConfigText(std::string_view text, const std::string& fileName);
/// The text of a config file; nullopt when it cannot be read.
std::optional<std::string> readConfigText(const std::string& path);
/// One line per error.
std::string joinErrors(const std::vector<std::string>& errors);

/// Reads and parses a file; logs its warnings (CONFIG_DEPRECATED). @throw ConfigError.
Config loadConfigFile(const std::string& path);

/// Checks rules that span keys (e.g. full DHCP needs a range). Called by the
/// parsers; call again after applying command-line overrides. @throw ConfigError (every
/// problem, a line each).
void validate(const Config& config);

/// True for 127.0.0.0/8, ::1 and `localhost`: a listener only this machine reaches.
bool isLoopbackHost(std::string_view host);

/// Why `serve` must not put the dashboard on @p host: nullopt when it may (loopback,
/// TLS, or [http] allow_plaintext_remote); else the refusal, saying how to fix it.
std::optional<std::string> plaintextListenRefusal(std::string_view host, std::uint16_t port,
                                                  bool tls, bool allowPlaintextRemote);
/// The problems validate() throws for, without throwing.
std::vector<std::string> validationErrors(const Config& config);

/// The names ("tftp.listen", "interface[eth1].dhcp", "interface[eth2] (added)")
/// of restart-only keys that differ between @p running and @p reloaded. Every
/// key not marked reloadable in keyTable() is compared; interfaces are matched
/// by name, and adding or removing one needs a restart too.
std::vector<std::string> restartOnlyChanges(const Config& running, const Config& reloaded);

/// The config a reload runs with: @p reloaded, with every restart-only key set
/// back to its value in @p running (the engines keep using those until a
/// restart, so the config the daemon reports must say so). The running list
/// of interfaces is kept, with their command-line-only settings; reloadable
/// interface keys are taken from @p reloaded.
Config keepRestartOnly(const Config& running, Config reloaded);

/// docs/configuration.md, generated from keyTable().
std::string renderConfigDocs();

/// Parses "host:port" (IPv4 literal host). Returns nullopt if malformed.
std::optional<ListenAddress> parseListenAddress(std::string_view text);

/// True if @p text is a dotted-quad IPv4 address.
bool isIpv4(std::string_view text);

}  // namespace pinet::app::config
