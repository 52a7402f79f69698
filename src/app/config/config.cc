#include "app/config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proto/eeprom/bootconf.h"

namespace pinet::app::config {

const char* toString(DhcpMode mode) {
    switch (mode) {
        case DhcpMode::Proxy: return "proxy";
        case DhcpMode::Full: return "full";
        case DhcpMode::Off: return "off";
    }
    return "?";
}

const char* toString(KeyType type) {
    switch (type) {
        case KeyType::String: return "string";
        case KeyType::Integer: return "integer";
        case KeyType::Boolean: return "boolean";
        case KeyType::StringArray: return "array of strings";
        case KeyType::Address: return "\"address:port\"";
    }
    return "?";
}

const char* sectionName(Scope scope) {
    switch (scope) {
        case Scope::Server: return "server";
        case Scope::Interface: return "interface";
        case Scope::Tftp: return "tftp";
        case Scope::Http: return "http";
        case Scope::Pxe: return "pxe";
        case Scope::Nfs: return "nfs";
        case Scope::Admission: return "admission";
        case Scope::Store: return "store";
    }
    return "?";
}

std::string ListenAddress::text() const {
    return host.empty() ? std::string() : fmt::format("{}:{}", host, port);
}

bool isIpv4(std::string_view text) {
    if (text.empty() || text.size() > 15) {
        return false;
    }
    in_addr addr{};
    return inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

std::optional<ListenAddress> parseListenAddress(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto host = text.substr(0, colon);
    const auto portText = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 ||
        port > 65535 || !isIpv4(host)) {
        return std::nullopt;
    }
    return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

namespace {

using Err = std::optional<std::string>;

std::string typeName(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        default: return "a date/time";
    }
}

Err getString(const toml::node& node, std::string& out) {
    if (!node.is_string()) {
        return "expected a string, got " + typeName(node);
    }
    out = *node.value<std::string>();
    return std::nullopt;
}

Err getInt(const toml::node& node, std::int64_t lo, std::int64_t hi, std::uint32_t& out) {
    if (!node.is_integer()) {
        return "expected an integer, got " + typeName(node);
    }
    const auto v = *node.value<std::int64_t>();
    if (v < lo || v > hi) {
        return fmt::format("{} is out of range {}..{}", v, lo, hi);
    }
    out = static_cast<std::uint32_t>(v);
    return std::nullopt;
}

Err getStringArray(const toml::node& node, std::vector<std::string>& out) {
    const auto* arr = node.as_array();
    if (arr == nullptr) {
        return "expected an array of strings, got " + typeName(node);
    }
    out.clear();
    for (const auto& el : *arr) {
        if (!el.is_string()) {
            return "expected an array of strings, found " + typeName(el);
        }
        out.push_back(*el.value<std::string>());
    }
    return std::nullopt;
}

Err getIpv4(const toml::node& node, std::string& out) {
    std::string s;
    if (auto e = getString(node, s)) {
        return e;
    }
    if (!isIpv4(s)) {
        return fmt::format("'{}' is not an IPv4 address", s);
    }
    out = s;
    return std::nullopt;
}

Err getAddress(const toml::node& node, ListenAddress& out, bool allowEmpty) {
    std::string s;
    if (auto e = getString(node, s)) {
        return e;
    }
    if (s.empty() && allowEmpty) {
        out = {};
        return std::nullopt;
    }
    auto a = parseListenAddress(s);
    if (!a) {
        return fmt::format("'{}' is not \"IPv4:port\" (port 1..65535)", s);
    }
    out = *a;
    return std::nullopt;
}

Err getOneOf(const toml::node& node, std::initializer_list<std::string_view> allowed,
             std::string& out) {
    std::string s;
    if (auto e = getString(node, s)) {
        return e;
    }
    for (auto a : allowed) {
        if (s == a) {
            out = s;
            return std::nullopt;
        }
    }
    std::string list;
    for (auto a : allowed) {
        list += list.empty() ? "" : ", ";
        list += a;
    }
    return fmt::format("'{}' is not one of: {}", s, list);
}

constexpr std::string_view kStoreUrlWithoutPostgres =
    "store.url is set but store.backend is \"sqlite\": set backend = \"postgresql\" to use "
    "it, or remove url";

/// A relative path below a root: no "..", not absolute (it is joined to tftp.root).
Err getRelativeDir(const toml::node& node, std::string& out) {
    std::string s;
    if (auto e = getString(node, s)) {
        return e;
    }
    if (!s.empty() && (s.front() == '/' || s == ".." || s.find("../") != std::string::npos ||
                       (s.size() >= 3 && s.compare(s.size() - 3, 3, "/..") == 0))) {
        return fmt::format("'{}' must be a relative path without '..'", s);
    }
    out = s;
    return std::nullopt;
}

uint32_t ipToU32(const std::string& s) {
    in_addr a{};
    inet_pton(AF_INET, s.c_str(), &a);
    return ntohl(a.s_addr);
}

/// The KeyField of a key stored in one Config member.
template <class T>
KeyField at(T Config::*member) {
    return {[member](const Config& a, const InterfaceConfig*, const Config& b,
                     const InterfaceConfig*) { return a.*member == b.*member; },
            [member](Config& to, InterfaceConfig*, const Config& from, const InterfaceConfig*) {
                to.*member = from.*member;
            }};
}

/// The KeyField of an [[interface]] key stored in InterfaceConfig members
/// (`range` fills two).
template <class... T>
KeyField at(T InterfaceConfig::*... members) {
    return {
        [members...](const Config&, const InterfaceConfig* a, const Config&,
                     const InterfaceConfig* b) { return ((a->*members == b->*members) && ...); },
        [members...](Config&, InterfaceConfig* to, const Config&, const InterfaceConfig* from) {
            ((to->*members = from->*members), ...);
        }};
}

std::vector<KeyDef> buildTable() {
    std::vector<KeyDef> t;
    // ---- [server]
    t.push_back({Scope::Server, "state_dir", KeyType::String,
                 "(PINETBOOT_STATE_DIR, else /var/lib/pinetboot)",
                 "Directory for the client registry (SQLite) and other state. The command-line "
                 "`--state-dir` and `PINETBOOT_STATE_DIR` override it.",
                 false, at(&Config::stateDir),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     if (auto e = getString(n, c.stateDir)) {
                         return e;
                     }
                     return c.stateDir.empty() ? Err("must not be empty") : std::nullopt;
                 }});
    t.push_back({Scope::Server, "log_level", KeyType::String, "info",
                 "One of trace, debug, info, warn, error, critical, off.", true,
                 at(&Config::logLevel), [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getOneOf(n,
                                     {"trace", "debug", "info", "warn", "error", "critical", "off"},
                                     c.logLevel);
                 }});
    t.push_back({Scope::Server, "boot_history", KeyType::Integer, "20",
                 "Boot records kept in memory per client (oldest dropped first). 20 covers a day "
                 "of reboots of a flaky board while bounding memory; 1..1000.",
                 true, at(&Config::bootHistory),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 1, 1000, c.bootHistory);
                 }});
    // ---- [[interface]]
    t.push_back({Scope::Interface, "name", KeyType::String, "(required)",
                 "Network interface to serve DHCP and TFTP on, e.g. `eth1`. Never your uplink "
                 "if `dhcp = \"full\"`.",
                 false, at(&InterfaceConfig::name),
                 [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
                     if (auto e = getString(n, i->name)) {
                         return e;
                     }
                     // IFNAMSIZ is 16 including the NUL.
                     if (i->name.empty() || i->name.size() > 15 ||
                         i->name.find_first_of("/ \t:") != std::string::npos) {
                         return fmt::format("'{}' is not an interface name", i->name);
                     }
                     return std::nullopt;
                 }});
    t.push_back(
        {Scope::Interface, "dhcp", KeyType::String, "proxy",
         "`proxy`: answer only PXE clients, without addresses, next to an existing DHCP "
         "server (spec 3.3). `full`: also hand out addresses from `range`. `off`: TFTP only.",
         false, at(&InterfaceConfig::dhcp),
         [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
             std::string s;
             if (auto e = getOneOf(n, {"proxy", "full", "off"}, s)) {
                 return e;
             }
             i->dhcp = s == "proxy"  ? DhcpMode::Proxy
                       : s == "full" ? DhcpMode::Full
                                     : DhcpMode::Off;
             return std::nullopt;
         }});
    t.push_back({Scope::Interface, "range", KeyType::StringArray, "",
                 "`[\"FIRST\", \"LAST\"]`: the address pool in full mode (required there).", false,
                 at(&InterfaceConfig::rangeFirst, &InterfaceConfig::rangeLast),
                 [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
                     std::vector<std::string> v;
                     if (auto e = getStringArray(n, v)) {
                         return e;
                     }
                     if (v.size() != 2 || !isIpv4(v[0]) || !isIpv4(v[1])) {
                         return std::string("expected [\"FIRST\", \"LAST\"] IPv4 addresses");
                     }
                     if (ipToU32(v[0]) > ipToU32(v[1])) {
                         return fmt::format("range first {} is after last {}", v[0], v[1]);
                     }
                     i->rangeFirst = v[0];
                     i->rangeLast = v[1];
                     return std::nullopt;
                 }});
    t.push_back({Scope::Interface, "router", KeyType::String, "",
                 "Default gateway handed out in full mode (option 3).", false,
                 at(&InterfaceConfig::router),
                 [](const toml::node& n, Config&, InterfaceConfig* i) {
                     return getIpv4(n, i->router);
                 }});
    t.push_back({Scope::Interface, "dns", KeyType::StringArray, "[]",
                 "DNS servers handed out in full mode (option 6).", false,
                 at(&InterfaceConfig::dns),
                 [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
                     if (auto e = getStringArray(n, i->dns)) {
                         return e;
                     }
                     for (const auto& d : i->dns) {
                         if (!isIpv4(d)) {
                             return fmt::format("'{}' is not an IPv4 address", d);
                         }
                     }
                     return std::nullopt;
                 }});
    t.push_back({Scope::Interface, "domain", KeyType::String, "",
                 "Domain name handed out in full mode (option 15).", false,
                 at(&InterfaceConfig::domain),
                 [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
                     if (auto e = getString(n, i->domain)) {
                         return e;
                     }
                     // Option 15 is one option: at most 255 bytes.
                     return i->domain.size() > 255 ? Err("longer than 255 bytes") : std::nullopt;
                 }});
    t.push_back({Scope::Interface, "lease_time", KeyType::Integer, "3600",
                 "Lease time in seconds in full mode (option 51); 60..31536000.", false,
                 at(&InterfaceConfig::leaseTime),
                 [](const toml::node& n, Config&, InterfaceConfig* i) {
                     return getInt(n, 60, 31536000, i->leaseTime);
                 }});
    t.push_back({Scope::Interface, "tftp_address", KeyType::String, "(interface address)",
                 "TFTP server address advertised to clients (siaddr, options 54/66).", false,
                 at(&InterfaceConfig::tftpAddress),
                 [](const toml::node& n, Config&, InterfaceConfig* i) {
                     return getIpv4(n, i->tftpAddress);
                 }});
    t.push_back({Scope::Interface, "relays", KeyType::StringArray, "[]",
                 "DHCP relay agents (their `giaddr`) whose relayed requests are answered, "
                 "back to the relay. A relayed packet from any other address is dropped "
                 "(`reason=\"unknown_relay\"`), since the reply would go wherever its sender "
                 "wrote.",
                 false, at(&InterfaceConfig::relays),
                 [](const toml::node& n, Config&, InterfaceConfig* i) -> Err {
                     if (auto e = getStringArray(n, i->relays)) {
                         return e;
                     }
                     for (const auto& r : i->relays) {
                         if (!isIpv4(r) || r == "0.0.0.0") {
                             return fmt::format("'{}' is not an IPv4 address", r);
                         }
                     }
                     return std::nullopt;
                 }});
    // ---- [tftp]
    t.push_back(
        {Scope::Tftp, "root", KeyType::String, "",
         "TFTP root; nothing outside it is served. A request with a serial or MAC prefix "
         "is answered from the client's registry boot directory (which must lie under the "
         "root), else `<root>/<serial>/` or `<root>/<mac-with-dashes>/`, else `default_dir`. "
         "`--root` overrides it.",
         false, at(&Config::tftpRoot), [](const toml::node& n, Config& c, InterfaceConfig*) {
             return getString(n, c.tftpRoot);
         }});
    t.push_back({Scope::Tftp, "default_dir", KeyType::String, "",
                 "Directory below `root` for clients with no directory of their own "
                 "(empty = none: the Pi then drops the prefix and reads the root, spec 4.2).",
                 false, at(&Config::tftpDefaultDir),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getRelativeDir(n, c.tftpDefaultDir);
                 }});
    t.push_back({Scope::Tftp, "listen", KeyType::Address, "0.0.0.0:69",
                 "UDP address the TFTP server binds.", false, at(&Config::tftpListen),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getAddress(n, c.tftpListen, false);
                 }});
    t.push_back({Scope::Tftp, "max_transfers", KeyType::Integer, "256",
                 "Concurrent transfers; more are refused (a Pi retries). 1..65535.", false,
                 at(&Config::tftpMaxTransfers),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 1, 65535, c.tftpMaxTransfers);
                 }});
    t.push_back({Scope::Tftp, "max_blksize", KeyType::Integer, "1468",
                 "Largest blksize granted (RFC 2348). 1468 fills a 1500-byte Ethernet frame; "
                 "512..65464.",
                 false, at(&Config::tftpMaxBlksize),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, proto::tftp::kDefaultBlockSize, proto::tftp::kMaxBlockSize,
                                   c.tftpMaxBlksize);
                 }});
    t.push_back({Scope::Tftp, "max_windowsize", KeyType::Integer, "16",
                 "Largest windowsize granted (RFC 7440). Pis do not ask for it; other clients do. "
                 "Capped at 64 to bound bursts; 1..64.",
                 false, at(&Config::tftpMaxWindowsize),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 1, 64, c.tftpMaxWindowsize);
                 }});
    t.push_back({Scope::Tftp, "timeout_ms", KeyType::Integer, "1000",
                 "Retransmit timeout in milliseconds; 100..10000. The first reply waits this "
                 "long; later blocks wait an adaptive timeout up to it.",
                 false, at(&Config::tftpTimeoutMs),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 100, 10000, c.tftpTimeoutMs);
                 }});
    t.push_back({Scope::Tftp, "min_timeout_ms", KeyType::Integer, "50",
                 "Floor of the adaptive retransmit timeout (RFC 1123 4.2.3.2: from each "
                 "transfer's round trips, doubled on every timeout) once a client answered and "
                 "unless it set its own `timeout`; a lost block is resent after about this long "
                 "instead of `timeout_ms`. Set it to `timeout_ms` for fixed timeouts; 10..10000.",
                 false, at(&Config::tftpMinTimeoutMs),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 10, 10000, c.tftpMinTimeoutMs);
                 }});
    t.push_back({Scope::Tftp, "reply_ports", KeyType::String, "per-transfer",
                 "`per-transfer`: every transfer replies from its own socket, on a port the "
                 "kernel picks at random, so a blind attacker spoofing a board cannot steer a "
                 "transfer (docs/security.md). `pool`: 4 sockets for the daemon's life, for a "
                 "trusted boot network: at 64 lockstep clients about 4 % less CPU per GiB than "
                 "per-transfer on io_uring (`io`), about 20 % less on epoll "
                 "(docs/benchmarks.md).",
                 false, at(&Config::tftpReplyPorts),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     std::string s;
                     if (auto e = getOneOf(n, {"per-transfer", "pool"}, s)) {
                         return e;
                     }
                     c.tftpReplyPorts = s == "pool" ? core::tftp::ReplyPorts::Pool
                                                    : core::tftp::ReplyPorts::PerTransfer;
                     return std::nullopt;
                 }});
    t.push_back({Scope::Tftp, "io", KeyType::String, "auto",
                 "The kernel interface of the TFTP sockets. `auto`: io_uring where the kernel "
                 "allows it (Linux 6.0+, not forbidden by `kernel.io_uring_disabled` or a "
                 "container's seccomp profile), else epoll; the log says which. `uring`: "
                 "io_uring or refuse to start. `epoll`: never io_uring. With a reply port per "
                 "transfer io_uring takes about 15 % less CPU per GiB than epoll at 64 lockstep "
                 "clients (docs/benchmarks.md).",
                 false, at(&Config::tftpIo),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     std::string s;
                     if (auto e = getOneOf(n, {"auto", "uring", "epoll"}, s)) {
                         return e;
                     }
                     c.tftpIo = s == "uring"   ? io::LoopChoice::Uring
                                : s == "epoll" ? io::LoopChoice::Epoll
                                               : io::LoopChoice::Auto;
                     return std::nullopt;
                 }});
    t.push_back({Scope::Tftp, "retries", KeyType::Integer, "5",
                 "Retransmissions before a transfer is given up; 1..20.", false,
                 at(&Config::tftpRetries), [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 1, 20, c.tftpRetries);
                 }});
    // ---- [admission]
    t.push_back({Scope::Admission, "enabled", KeyType::Boolean, "true",
                 "Boot storms (docs/architecture.md, \"Boot storms\"): hold a Pi's DHCP offer "
                 "until the server can carry its boot files inside the bootloader's 30 s "
                 "per-file deadline at the throughput it measures, and let held boards in "
                 "in arrival order, each within 30 s of its first DISCOVER. `false` answers "
                 "every board at once, as before.",
                 false, at(&Config::admissionEnabled),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     const auto v = n.value<bool>();
                     if (!v || !n.is_boolean()) {
                         return std::string("must be true or false");
                     }
                     c.admissionEnabled = *v;
                     return std::nullopt;
                 }});
    t.push_back({Scope::Admission, "max_boards", KeyType::Integer, "0",
                 "Ceiling on boards booting at once, whatever the measured throughput allows "
                 "(0 = none beyond `tftp.max_transfers`); 0..65535.",
                 false, at(&Config::admissionMaxBoards),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 0, 65535, c.admissionMaxBoards);
                 }});
    t.push_back({Scope::Admission, "max_throughput_mbit", KeyType::Integer, "0",
                 "Ceiling on the throughput admission plans with, in Mbit/s, e.g. the boot "
                 "link's speed when boards sit behind a slower uplink than the server's own "
                 "(0 = what the server measures); 0..400000.",
                 false, at(&Config::admissionMaxThroughputMbit),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 0, 400000, c.admissionMaxThroughputMbit);
                 }});
    // ---- [http]
    t.push_back({Scope::Http, "listen", KeyType::Address, "127.0.0.1:8080",
                 "Dashboard, JSON API (`/api/v1/...`), `/metrics` and `/healthz`. Writes need "
                 "the API token (docs/api.md); beyond loopback reads need it too, and `serve` "
                 "refuses to listen there without `tls_cert`/`tls_key` unless "
                 "`allow_plaintext_remote` says so.",
                 false, at(&Config::httpListen),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getAddress(n, c.httpListen, false);
                 }});
    t.push_back({Scope::Http, "allowed_hosts", KeyType::StringArray, "[]",
                 "Host names the dashboard answers to (`Host` header), besides its listen "
                 "address, the address a request arrives on, `localhost`, `127.0.0.1` and "
                 "`[::1]`; anything else gets 421, so a web page cannot read the API through "
                 "DNS rebinding. E.g. `[\"netboot.lab\"]`.",
                 false, at(&Config::httpAllowedHosts),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     if (auto e = getStringArray(n, c.httpAllowedHosts)) {
                         return e;
                     }
                     for (const auto& h : c.httpAllowedHosts) {
                         // A DNS name (RFC 1123 letters, digits, '-', '.') or an IP literal.
                         const bool ok = !h.empty() && h.size() <= 253 &&
                                         h.find_first_not_of(
                                             "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-.:") == std::string::npos;
                         if (!ok) {
                             return fmt::format("'{}' is not a host name", h);
                         }
                     }
                     return std::nullopt;
                 }});
    t.push_back({Scope::Http, "tls_cert", KeyType::String, "",
                 "PEM certificate (with its chain) for HTTPS on `listen`; needs `tls_key`. "
                 "Read at start (a new certificate needs a restart).",
                 false, at(&Config::httpTlsCert),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getString(n, c.httpTlsCert);
                 }});
    t.push_back({Scope::Http, "tls_key", KeyType::String, "",
                 "PEM private key of `tls_cert` (keep it mode 0600).", false,
                 at(&Config::httpTlsKey), [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getString(n, c.httpTlsKey);
                 }});
    t.push_back({Scope::Http, "allow_plaintext_remote", KeyType::Boolean, "false",
                 "Serve plain HTTP on a `listen` address beyond loopback (the token and "
                 "session cookie then cross the network in clear text): only on a management "
                 "network you trust. Without it such a `serve` refuses to start.",
                 false, at(&Config::httpAllowPlaintextRemote),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     const auto v = n.value<bool>();
                     if (!v || !n.is_boolean()) {
                         return std::string("must be true or false");
                     }
                     c.httpAllowPlaintextRemote = *v;
                     return std::nullopt;
                 }});
    t.push_back({Scope::Http, "boot_listen", KeyType::Address, "",
                 "HTTP boot (BOOT_ORDER mode 7) listener on the boot LAN, e.g. `10.0.0.1:80`; "
                 "empty = off. Serves only `<path>/boot.img` and `<path>/boot.sig`.",
                 false, at(&Config::httpBootListen),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getAddress(n, c.httpBootListen, true);
                 }});
    t.push_back({Scope::Http, "boot_root", KeyType::String, "(tftp.root)",
                 "Directory HTTP boot files are served from: GET /P/boot.img reads "
                 "`<boot_root>/P/boot.img`.",
                 true, at(&Config::httpBootRoot),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getString(n, c.httpBootRoot);
                 }});
    // ---- [pxe]
    t.push_back({Scope::Pxe, "menu_text", KeyType::String, "Raspberry Pi Boot",
                 "PXE boot menu text in option 43 sub-option 9. The Pi bootloader looks for "
                 "`Raspberry Pi Boot` unless its PXE_OPTION43 says otherwise.",
                 false, at(&Config::pxeMenuText),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     if (auto e = getString(n, c.pxeMenuText)) {
                         return e;
                     }
                     // Sub-option 9 carries type(2) + len(1) + text in a 255-byte option.
                     if (c.pxeMenuText.empty() || c.pxeMenuText.size() > 200) {
                         return std::string("must be 1..200 bytes");
                     }
                     return std::nullopt;
                 }});
    t.push_back({Scope::Pxe, "bootfile", KeyType::String, "",
                 "Boot file name (option 67 / `file`) for generic PXE clients such as iPXE; "
                 "Pis ignore it.",
                 false, at(&Config::pxeBootfile),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     if (auto e = getString(n, c.pxeBootfile)) {
                         return e;
                     }
                     // The BOOTP `file` field is 128 bytes including the NUL (RFC 2131 section 2).
                     return c.pxeBootfile.size() > 127 ? Err("longer than 127 bytes")
                                                       : std::nullopt;
                 }});
    // ---- [nfs]
    // The three [nfs] keys take the values of `--server-ip`, `--nfs-version` and
    // `--nfs-backend` (app/settings.h), so the file and the flags mean the same.
    t.push_back({Scope::Nfs, "server", KeyType::String, "(stored --server-ip)",
                 "NFS server IPv4 address written into clients' cmdline.txt (`nfsroot=`) by "
                 "`client add`.",
                 true, at(&Config::nfsServer),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getIpv4(n, c.nfsServer);
                 }});
    t.push_back({Scope::Nfs, "version", KeyType::String, "(stored --nfs-version, else 3)",
                 "NFS version clients mount their root with: `\"3\"` or `\"4.1\"` (the "
                 "integer `3` is accepted too).",
                 true, at(&Config::nfsVersion),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     // "4.1", not 4: cmdline.txt and fstab carry the string as vers=4.1,
                     // the NFSv4 root recipe of spec netboot-protocol.md (NFS root part).
                     if (n.is_integer()) {
                         const auto v = *n.value<std::int64_t>();
                         if (v == 3) {
                             c.nfsVersion = "3";
                             return std::nullopt;
                         }
                         return fmt::format("{} is not \"3\" or \"4.1\"", v);
                     }
                     return getOneOf(n, {"3", "4.1"}, c.nfsVersion);
                 }});
    t.push_back(
        {Scope::Nfs, "backend", KeyType::String, "(stored --nfs-backend, else none)",
         "How `nfs apply` serves the exports: `ganesha` (starts userspace nfs-ganesha), "
         "`kernel` (writes an exports file, runs exportfs) or `none` (prints them; you "
         "run the server). `external` is accepted as another name for `none`.",
         true, at(&Config::nfsBackend),
         [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
             if (auto e = getOneOf(n, {"ganesha", "kernel", "none", "external"}, c.nfsBackend)) {
                 return e;
             }
             if (c.nfsBackend == "external") {
                 c.nfsBackend = "none";
             }
             return std::nullopt;
         }});
    // ---- [store] (issue #19)
    t.push_back({Scope::Store, "backend", KeyType::String, "sqlite",
                 "Where the client registry (clients, images' users, settings) lives: `sqlite` "
                 "(`registry.db` in the state directory, one machine) or `postgresql` (the "
                 "database `url` names, which several servers can share). Every command reads "
                 "it the same way; `pinetboot store migrate` creates or upgrades the schema, "
                 "as `serve` does at start. `PINETBOOT_STORE_URL` in the environment selects "
                 "`postgresql` with that URL, over the file.",
                 false, at(&Config::storeBackend),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getOneOf(n, {"sqlite", "postgresql"}, c.storeBackend);
                 }});
    t.push_back(
        {Scope::Store, "url", KeyType::String, "(PINETBOOT_STORE_URL)",
         "The PostgreSQL database, as libpq takes it: "
         "`postgresql://pinetboot@db.example/pinetboot` or "
         "`host=/run/postgresql dbname=pinetboot`. Only with `backend = "
         "\"postgresql\"`. Prefer a password in `~/.pgpass` or `PGPASSWORD` to one in "
         "this file; messages never print it.",
         false, at(&Config::storeUrl), [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
             std::string s;
             if (auto e = getString(n, s)) {
                 return e;
             }
             const bool uri = s.starts_with("postgresql://") || s.starts_with("postgres://");
             if (!uri && s.find('=') == std::string::npos) {
                 return Err(
                     "expected postgresql://[user@]host[:port]/database or libpq "
                     "keyword=value pairs");
             }
             c.storeUrl = s;
             return std::nullopt;
         }});
    t.push_back({Scope::Store, "node_id", KeyType::String, "(the host name)",
                 "This server's name among the `serve` nodes that share a PostgreSQL store (the "
                 "`nodes` table): each node heartbeats under it every second, and the nodes split "
                 "the DHCP clients between the live ones by it (docs/architecture.md, \"Several "
                 "nodes\"). Two nodes must never share one. Letters, digits, `.`, `-` and `_`, at "
                 "most 63; the host name is used with any other character made `-`.",
                 false, at(&Config::storeNodeId),
                 [](const toml::node& n, Config& c, InterfaceConfig*) -> Err {
                     std::string s;
                     if (auto e = getString(n, s)) {
                         return e;
                     }
                     const bool ok = !s.empty() && s.size() <= 63 &&
                                     std::all_of(s.begin(), s.end(), [](char ch) {
                                         return std::isalnum(static_cast<unsigned char>(ch)) != 0 ||
                                                ch == '.' || ch == '-' || ch == '_';
                                     });
                     if (!ok) {
                         return Err("expected 1 to 63 letters, digits, '.', '-' or '_'");
                     }
                     c.storeNodeId = s;
                     return std::nullopt;
                 }});
    t.push_back({Scope::Store, "tree_check_seconds", KeyType::Integer, "30",
                 "With a PostgreSQL store: how often this node walks its TFTP root and publishes "
                 "a manifest (SHA-256 of every file) of each boot tree that changed, so that "
                 "`doctor` on any node can say which files differ between nodes. A walk reads "
                 "only files whose size, mtime or ctime changed; 30 s means a copied tree is "
                 "compared within half a minute. 1..3600.",
                 false, at(&Config::storeTreeCheckSeconds),
                 [](const toml::node& n, Config& c, InterfaceConfig*) {
                     return getInt(n, 1, 3600, c.storeTreeCheckSeconds);
                 }});
    return t;
}

const KeyDef* findKey(Scope scope, std::string_view name) {
    for (const auto& k : keyTable()) {
        if (k.scope == scope && k.name == name) {
            return &k;
        }
    }
    return nullptr;
}

/// Every error of one file, each "FILE:LINE: msg" (or "FILE: msg" without a line), so that
/// one run of check-config (or a failed start of serve) shows them all.
/// toml++ walks a table in key order, not file order: the errors are sorted by line at the end.
struct Errors {
    const std::string& file;
    std::vector<std::pair<std::uint32_t, std::string>>& list;
    void at(const toml::source_region& where, const std::string& msg) const {
        list.emplace_back(where.begin.line,
                          where.begin.line > 0
                              ? fmt::format("{}:{}: {}", file, where.begin.line, msg)
                              : fmt::format("{}: {}", file, msg));
    }
};

const KeyRename* findRename(Scope scope, std::string_view oldName) {
    for (const auto& r : renamedKeys()) {
        if (r.scope == scope && r.oldName == oldName) {
            return &r;
        }
    }
    return nullptr;
}

// A name further than this from every known one is not taken for a typo of it ("rnage" and
// "range" are 2 apart; "tfpt" and "tftp" too).
constexpr std::size_t kMaxSuggestDistance = 2;

/// The known name closest to @p name, if close enough to be a typo of it.
std::optional<std::string_view> nearest(std::string_view name,
                                        const std::vector<std::string_view>& known) {
    std::optional<std::string_view> best;
    std::size_t bestDist = kMaxSuggestDistance + 1;
    for (auto k : known) {
        const auto d = proto::eeprom::editDistance(name, k);
        if (d < bestDist) {
            bestDist = d;
            best = k;
        }
    }
    return best;
}

/// " (did you mean 'range'?)", " (it belongs in [tftp])" or "" for an unknown key.
std::string unknownKeyHint(Scope scope, std::string_view key) {
    std::vector<std::string_view> here;
    for (const auto& k : keyTable()) {
        if (k.scope == scope) {
            here.push_back(k.name);
        }
    }
    if (auto n = nearest(key, here)) {
        return fmt::format(" (did you mean '{}'?)", *n);
    }
    for (const auto& k : keyTable()) {
        if (k.scope != scope && k.name == key) {
            return k.scope == Scope::Interface
                       ? std::string(" (it belongs in an [[interface]] table)")
                       : fmt::format(" (it belongs in [{}])", sectionName(k.scope));
        }
    }
    return {};
}

void applyTable(const toml::table& table, Scope scope, const Errors& errs, const std::string& where,
                Config& cfg, InterfaceConfig* iface) {
    for (auto&& [key, node] : table) {
        const auto* def = findKey(scope, key.str());
        if (const auto* renamed = def == nullptr ? findRename(scope, key.str()) : nullptr) {
            const auto section = sectionName(scope);
            if (table.contains(renamed->newName)) {
                errs.at(key.source(), fmt::format("{}.{} was renamed to {}.{}; give only {}.{}",
                                                  section, renamed->oldName, section,
                                                  renamed->newName, section, renamed->newName));
                continue;
            }
            const auto line = key.source().begin.line;
            cfg.warnings.push_back(fmt::format(
                "{}:{}: {}.{} is deprecated: renamed to {}.{} (the old name still works for now)",
                errs.file, line, section, renamed->oldName, section, renamed->newName));
            def = findKey(scope, renamed->newName);
        }
        if (def == nullptr) {
            errs.at(key.source(), fmt::format("unknown key '{}' in {}{}", key.str(), where,
                                              unknownKeyHint(scope, key.str())));
            continue;
        }
        if (auto err = def->apply(node, cfg, iface)) {
            errs.at(node.source(), fmt::format("{}.{}: {}", sectionName(scope), key.str(), *err));
        }
    }
}

/// Rules that span the keys of one interface; messages without a location.
void interfaceErrors(const InterfaceConfig& i, std::vector<std::string>& out) {
    if (i.dhcp == DhcpMode::Full && i.rangeFirst.empty()) {
        out.push_back(fmt::format("interface {}: dhcp = \"full\" needs a range", i.name));
    }
}

}  // namespace

const std::vector<KeyDef>& keyTable() {
    static const std::vector<KeyDef> table = buildTable();
    return table;
}

const std::vector<KeyRename>& renamedKeys() {
    // The key and its --max-transfers flag (`pinetboot tftp`) and TftpServerConfig
    // field now share one name (issue #12).
    static const std::vector<KeyRename> renames = {
        {Scope::Tftp, "max_sessions", "max_transfers"},
    };
    return renames;
}

ConfigCheck checkConfigText(std::string_view text, const std::string& fileName) {
    ConfigCheck out;
    Config& cfg = out.config;
    cfg.sourcePath = fileName;
    std::vector<std::pair<std::uint32_t, std::string>> found;
    const Errors errs{fileName, found};
    const auto finish = [&] {
        std::stable_sort(found.begin(), found.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& f : found) {
            out.errors.push_back(std::move(f.second));
        }
        return std::move(out);
    };
    toml::table root;
    try {
        root = toml::parse(text, fileName);
    } catch (const toml::parse_error& e) {
        // toml++ stops at the first syntax error: there is no table to check further.
        errs.at(e.source(), std::string(e.description()));
        return finish();
    }
    const Scope plain[] = {Scope::Server, Scope::Tftp,      Scope::Http, Scope::Pxe,
                           Scope::Nfs,    Scope::Admission, Scope::Store};
    std::set<std::string> names;
    for (auto&& [key, node] : root) {
        if (key.str() == "interface") {
            const auto* arr = node.as_array();
            if (arr == nullptr) {
                errs.at(key.source(),
                        "'interface' must be an array of tables: write [[interface]]");
                continue;
            }
            for (const auto& el : *arr) {
                const auto* tbl = el.as_table();
                if (tbl == nullptr) {
                    errs.at(el.source(), "each [[interface]] entry must be a table");
                    continue;
                }
                InterfaceConfig ic;
                applyTable(*tbl, Scope::Interface, errs, "[[interface]]", cfg, &ic);
                if (ic.name.empty()) {
                    errs.at(tbl->source(), "[[interface]] without a name");
                    continue;
                }
                if (!names.insert(ic.name).second) {
                    errs.at(tbl->source(), fmt::format("interface {} listed twice", ic.name));
                    continue;
                }
                std::vector<std::string> problems;
                interfaceErrors(ic, problems);
                for (const auto& p : problems) {
                    errs.at(tbl->source(), p);
                }
                cfg.interfaces.push_back(std::move(ic));
            }
            continue;
        }
        const Scope* scope = nullptr;
        std::vector<std::string_view> sections{"interface"};
        for (const auto& s : plain) {
            sections.push_back(sectionName(s));
            if (key.str() == sectionName(s)) {
                scope = &s;
            }
        }
        if (scope == nullptr) {
            std::string hint;
            if (auto n = nearest(key.str(), sections)) {
                hint = *n == "interface" ? " (did you mean [[interface]]?)"
                                         : fmt::format(" (did you mean [{}]?)", *n);
            } else if (node.is_table()) {
                // "[interfaces]", "[tftp-server]": no close section, nothing better to say.
            } else {
                // A top-level key (before any [section]): name the section it belongs in.
                for (const auto& k : keyTable()) {
                    if (k.name == key.str()) {
                        hint = k.scope == Scope::Interface
                                   ? " (it belongs in an [[interface]] table)"
                                   : fmt::format(" (it belongs in [{}])", sectionName(k.scope));
                        break;
                    }
                }
            }
            errs.at(key.source(), fmt::format("unknown section or key '{}'{}", key.str(), hint));
            continue;
        }
        const auto* tbl = node.as_table();
        if (tbl == nullptr) {
            errs.at(key.source(),
                    fmt::format("'{}' must be a table: write [{}]", key.str(), key.str()));
            continue;
        }
        applyTable(*tbl, *scope, errs, fmt::format("[{}]", key.str()), cfg, nullptr);
        if (*scope == Scope::Store && !cfg.storeUrl.empty() && cfg.storeBackend != "postgresql") {
            errs.at(tbl->source(), std::string(kStoreUrlWithoutPostgres));
        }
    }
    return finish();
}

Config parseConfig(std::string_view text, const std::string& fileName) {
    auto checked = checkConfigText(text, fileName);
    if (!checked.errors.empty()) {
        throw ConfigError(joinErrors(checked.errors));
    }
    return std::move(checked.config);
}

std::string joinErrors(const std::vector<std::string>& errors) {
    std::string out;
    for (const auto& e : errors) {
        out += out.empty() ? "" : "\n";
        out += e;
    }
    return out;
}

std::optional<std::string> readConfigText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Config loadConfigFile(const std::string& path) {
    const auto text = readConfigText(path);
    if (!text) {
        throw ConfigError(fmt::format("{}: cannot read the file", path));
    }
    auto config = parseConfig(*text, path);
    for (const auto& w : config.warnings) {
        spdlog::warn("CONFIG_DEPRECATED {}", w);
    }
    return config;
}

std::vector<std::string> validationErrors(const Config& config) {
    std::vector<std::string> out;
    std::set<std::string> names;
    const std::string prefix = config.sourcePath.empty() ? "" : config.sourcePath + ": ";
    for (const auto& i : config.interfaces) {
        std::vector<std::string> problems;
        if (!names.insert(i.name).second) {
            problems.push_back(fmt::format("interface {} listed twice", i.name));
        }
        interfaceErrors(i, problems);
        for (const auto& p : problems) {
            out.push_back(prefix + p);
        }
    }
    if (config.httpTlsCert.empty() != config.httpTlsKey.empty()) {
        out.push_back(prefix +
                      (config.httpTlsCert.empty()
                           ? "http.tls_key is set but http.tls_cert is not: HTTPS needs both"
                           : "http.tls_cert is set but http.tls_key is not: HTTPS needs both"));
    }
    if (auto r =
            plaintextListenRefusal(config.httpListen.host, config.httpListen.port,
                                   !config.httpTlsCert.empty(), config.httpAllowPlaintextRemote)) {
        out.push_back(prefix + *r);
    }
    if (!config.storeUrl.empty() && config.storeBackend != "postgresql") {
        out.push_back(prefix + std::string(kStoreUrlWithoutPostgres));
    }
    return out;
}

bool isLoopbackHost(std::string_view host) {
    std::string h(host);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
        h = h.substr(1, h.size() - 2);
    }
    for (auto& ch : h) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    if (h == "localhost" || h == "::1") {
        return true;
    }
    return h.rfind("127.", 0) == 0 && h.find_first_not_of("0123456789.") == std::string::npos;
}

std::optional<std::string> plaintextListenRefusal(std::string_view host, std::uint16_t port,
                                                  bool tls, bool allowPlaintextRemote) {
    if (isLoopbackHost(host) || tls || allowPlaintextRemote) {
        return std::nullopt;
    }
    return fmt::format(
        "http: refusing to serve the dashboard and API on {}:{} without TLS: beyond loopback "
        "the API token and session cookie would cross the network in clear text. Fix one of: "
        "set [http] tls_cert and tls_key (PEM files; e.g. openssl req -x509 -newkey rsa:2048 "
        "-nodes -keyout key.pem -out cert.pem -days 825 -subj /CN=HOST); or listen on "
        "127.0.0.1 and reach it through ssh -L; or, on a network you trust, set [http] "
        "allow_plaintext_remote = true",
        host, port);
}

void validate(const Config& config) {
    if (auto errors = validationErrors(config); !errors.empty()) {
        throw ConfigError(joinErrors(errors));
    }
}

namespace {

/// The order keys are listed in: the docs' sections and restartOnlyChanges().
constexpr Scope kScopeOrder[] = {Scope::Server,    Scope::Interface, Scope::Tftp, Scope::Http,
                                 Scope::Admission, Scope::Pxe,       Scope::Nfs,  Scope::Store};

const InterfaceConfig* findInterface(const Config& c, const std::string& name) {
    for (const auto& i : c.interfaces) {
        if (i.name == name) {
            return &i;
        }
    }
    return nullptr;
}

}  // namespace

std::vector<std::string> restartOnlyChanges(const Config& running, const Config& reloaded) {
    std::vector<std::string> out;
    for (auto scope : kScopeOrder) {
        if (scope != Scope::Interface) {
            for (const auto& k : keyTable()) {
                if (k.scope == scope && !k.reloadable &&
                    !k.field.same(running, nullptr, reloaded, nullptr)) {
                    out.push_back(fmt::format("{}.{}", sectionName(scope), k.name));
                }
            }
            continue;
        }
        // Interfaces are matched by name, so `name` itself never differs here:
        // renaming one shows as removed + added.
        for (const auto& i : running.interfaces) {
            const auto* j = findInterface(reloaded, i.name);
            if (j == nullptr) {
                out.push_back(fmt::format("interface[{}] (removed)", i.name));
                continue;
            }
            for (const auto& k : keyTable()) {
                if (k.scope == Scope::Interface && !k.reloadable &&
                    !k.field.same(running, &i, reloaded, j)) {
                    out.push_back(fmt::format("interface[{}].{}", i.name, k.name));
                }
            }
        }
        for (const auto& j : reloaded.interfaces) {
            if (findInterface(running, j.name) == nullptr) {
                out.push_back(fmt::format("interface[{}] (added)", j.name));
            }
        }
    }
    return out;
}

Config keepRestartOnly(const Config& running, Config reloaded) {
    Config out = std::move(reloaded);
    for (const auto& k : keyTable()) {
        if (k.scope != Scope::Interface && !k.reloadable) {
            k.field.copy(out, nullptr, running, nullptr);
        }
    }
    // The sockets are bound per interface at start, so the running list stays
    // (with its command-line-only lease DB and reservations); only reloadable
    // interface keys come from the file.
    std::vector<InterfaceConfig> interfaces = running.interfaces;
    for (auto& i : interfaces) {
        const auto* next = findInterface(out, i.name);
        if (next == nullptr) {
            continue;
        }
        for (const auto& k : keyTable()) {
            if (k.scope == Scope::Interface && k.reloadable) {
                k.field.copy(out, &i, out, next);
            }
        }
    }
    out.interfaces = std::move(interfaces);
    return out;
}

std::string renderConfigDocs() {
    std::string out;
    out += "# Configuration (`pinetboot.toml`)\n\n";
    out +=
        "<!-- Generated from src/app/config/config.cc by `pinetboot check-config --docs`; "
        "a unit test keeps this file and the key table identical. -->\n\n";
    out +=
        "`pinetboot serve --config FILE` reads one TOML file. Every key is optional unless "
        "marked required; with no file at all, `pinetboot serve --interface IF --root DIR` "
        "serves proxyDHCP and TFTP from DIR on IF. `pinetboot init` writes a first, commented "
        "file (default `/etc/pinetboot.toml`, never over an existing one without `--force`) "
        "and stores the server address and client subnet in the registry (docs/setup.md).\n\n"
        "Checking is strict: an unknown section or key, a value of the wrong type or a value "
        "out of range stops start-up (and `pinetboot check-config FILE`) with "
        "`FILE:LINE: message`, every such error of the file at once, an unknown key or "
        "section with the nearest known name (`did you mean 'router'?`) or the section it "
        "belongs in. `check-config` also checks what the file means on this machine: "
        "`tftp.root`, `tftp.default_dir` and `http.boot_root` exist, every interface exists, "
        "a full-mode range, router and `tftp_address` lie in the interface's subnet (and the "
        "range holds neither the interface's own address nor the subnet's network or "
        "broadcast address), and no other DHCP server answers on a full-mode interface (one "
        "DHCPDISCOVER on that interface only; `--no-dhcp-probe` skips it). `serve` logs the "
        "same findings, but the probe, as `CONFIG_CHECK` warnings at start.\n\n"
        "Reload: `SIGHUP` re-reads the file and the client registry. Keys marked *reload* take "
        "effect at once; the others need a restart (the daemon logs `CONFIG_RESTART_NEEDED` "
        "naming them and keeps their running values). Transfers in flight are never "
        "dropped.\n\n"
        "Command-line flags override the file: `--interface IF` adds IF (proxy mode) if the "
        "file does not list it, `--root DIR` sets `tftp.root`, `--state-dir DIR` (or "
        "`PINETBOOT_STATE_DIR`) sets `server.state_dir`.\n\n"
        "`pinetboot client`, `pinetboot nfs` and `pinetboot doctor` take the same "
        "`--config FILE`. They read `server.state_dir`, the `[nfs]` keys and the `name` of the "
        "first `[[interface]]` (the interface `doctor` checks). Precedence: their flags "
        "(`--server-ip`, `--nfs-version`, `--nfs-backend`, `--interface`, `--state-dir`) > the "
        "file > the settings an earlier command stored in the registry > defaults. The "
        "result is stored again, so a later command without `--config` keeps it; `client add` "
        "stores it only once the client is added, and `doctor` never does (a check changes "
        "nothing: its flags count for that run, and it says so). `pinetboot settings set "
        "--server-ip A --client-subnet N/24` stores them on purpose, `pinetboot settings show` "
        "prints them. A bad file "
        "is refused with `FILE:LINE: message`, as `serve` does. `serve` itself does not use "
        "the `[nfs]` keys: they take effect at the next of those commands.\n";
    for (auto scope : kScopeOrder) {
        out += scope == Scope::Interface ? "\n## `[[interface]]` (one table per interface)\n\n"
                                         : fmt::format("\n## `[{}]`\n\n", sectionName(scope));
        out += "| key | type | default | on SIGHUP | meaning |\n|---|---|---|---|---|\n";
        for (const auto& k : keyTable()) {
            if (k.scope != scope) {
                continue;
            }
            std::string doc(k.doc);
            for (const auto& r : renamedKeys()) {
                if (r.scope == scope && r.newName == k.name) {
                    doc += fmt::format(" Formerly `{}` (still read, with a warning).", r.oldName);
                }
            }
            out += fmt::format(
                "| `{}` | {} | {} | {} | {} |\n", k.name, toString(k.type),
                k.defaultText.empty() ? std::string("(none)") : fmt::format("`{}`", k.defaultText),
                k.reloadable ? "reload" : "restart", doc);
        }
    }
    out +=
        "\n## Example\n\n```toml\n"
        "[server]\n"
        "log_level = \"info\"\n\n"
        "[[interface]]\n"
        "name = \"eth1\"\n"
        "dhcp = \"full\"\n"
        "range = [\"10.0.0.100\", \"10.0.0.200\"]\n"
        "router = \"10.0.0.1\"\n"
        "dns = [\"10.0.0.1\"]\n\n"
        "[tftp]\n"
        "root = \"/srv/pinetboot/tftp\"\n"
        "default_dir = \"default\"\n\n"
        "[http]\n"
        "listen = \"127.0.0.1:8080\"\n"
        "boot_listen = \"10.0.0.1:80\"\n"
        "boot_root = \"/srv/pinetboot/http\"\n"
        "```\n";
    return out;
}

}  // namespace pinet::app::config
