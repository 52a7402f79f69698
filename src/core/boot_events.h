#pragma once
// The one event stream that lets a boot be followed from DHCP DISCOVER to the
// last file: DHCP, TFTP and HTTP all report through BootEventSink, and `serve`
// turns the stream into boot records, metrics, logs and live dashboard updates.
// Producers stamp times; consumers never block the packet path for long.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/dhcp/drop.h"

namespace pinet::core {

using WallTime = std::chrono::system_clock::time_point;

/// A DHCP packet seen from, or sent to, a client.
struct DhcpEvent {
    /// The message type. A received packet left unanswered keeps its type and sets `drop`.
    enum class Kind { Discover, Offer, Request, Ack, Nak, Release, Decline, Inform };
    Kind kind = Kind::Discover;
    WallTime time{};
    std::string interface;              ///< receiving interface name
    std::string mac;                    ///< "dc:a6:32:01:02:03" (lowercase, colons)
    std::optional<std::string> serial;  ///< 8 lowercase hex digits, from option 97 (Pi only)
    std::optional<std::string> model;   ///< "RPi4" / "RPi5" from option 97, when known
    /// The board revision code in option 97 (spec §2.2 offset 5..8): tells a CM4 from a
    /// Pi 4B (core/boot/board_model.h).
    std::optional<std::uint32_t> boardRevision;
    std::uint32_t xid = 0;
    /// RFC 2131 `secs` of a received packet: seconds since the client began (LinkWatch).
    std::uint16_t secs = 0;
    std::string clientIp;  ///< yiaddr/ciaddr as text, empty if none
    bool proxy = false;    ///< a proxyDHCP offer (no address)
    /// Set when the responder deliberately sent no reply to this packet, and why.
    std::optional<dhcp::Drop> drop;
    std::string detail;  ///< for humans: why dropped / NAK reason / free text
};

/// One finished file transfer (TFTP or HTTP).
struct TransferRecord {
    enum class Protocol { Tftp, Http };
    enum class Result {
        Ok,           ///< every byte acknowledged / sent
        SizeQuery,    ///< Pi tsize query-and-abort: OACK, then "Early terminate" (normal)
        NotFound,     ///< file missing (TFTP ERROR 1 / HTTP 404)
        Refused,      ///< policy: path escape, special file, rate limit, WRQ ...
        Timeout,      ///< client stopped answering
        ClientError,  ///< client sent an ERROR (other than the probe abort)
        ServerError   ///< I/O failure on our side
    };
    Protocol protocol = Protocol::Tftp;
    Result result = Result::Ok;
    WallTime start{};
    std::chrono::microseconds duration{0};
    std::string clientAddr;             ///< "ip:port"
    std::string requestedPath;          ///< as sent by the client
    std::optional<std::string> serial;  ///< prefix directory, when the request had one
    std::optional<std::string> mac;     ///< MAC prefix directory ("dc-a6-32-..."), when used
    std::uint64_t bytes = 0;            ///< payload bytes delivered
    std::uint64_t fileSize = 0;
    std::uint32_t blockSize = 0;   ///< negotiated TFTP blksize (0 for HTTP)
    std::uint32_t windowSize = 0;  ///< negotiated RFC 7440 windowsize (1 if none)
    std::string detail;            ///< error text for humans
};

using BootEvent = std::variant<DhcpEvent, TransferRecord>;

/// Receives boot events. Implementations must be thread-safe and quick
/// (queue and return); they are called from packet-handling threads.
class BootEventSink {
public:
    virtual ~BootEventSink() = default;
    virtual void onEvent(const BootEvent& event) = 0;
};

const char* toString(DhcpEvent::Kind kind);
const char* toString(TransferRecord::Result result);
const char* toString(TransferRecord::Protocol protocol);  ///< "tftp", "http"

/// One line for logs, key=value after the protocol:
/// "dhcp discover mac=... serial=... model=... xid=... ip=... [proxy] [(detail)]".
std::string describe(const BootEvent& event);

}  // namespace pinet::core
