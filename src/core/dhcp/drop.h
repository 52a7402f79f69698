#pragma once
// Why a DHCP datagram got no reply, as a value. Its own header so the boot
// event (core/boot_events.h) can carry it without depending on the responder.
// Malformed reasons come first, in the parser's order (static_assert in
// drop.cc), so a proto::dhcp::ParseError converts with fromParseError.

#include <cstddef>
#include <cstdint>

#include "proto/dhcp/dhcp_packet.h"

namespace pinet::core::dhcp {

enum class Drop : std::uint8_t {
    Truncated,
    BadMagic,
    BadOptionLength,
    MissingEnd,
    BadOverload,
    BadHardware,
    AbsurdHops,
    NoMessageType,
    NotRequest,     ///< op is BOOTREPLY (another server's answer seen on port 67)
    NotEthernet,    ///< htype/hlen not Ethernet
    IgnoredClient,  ///< Proxy mode: not a PXE Pi (nor a configured generic PXE client)
    NotForUs,       ///< REQUEST for another server, or a server-to-client type
    ProxyNoAck,     ///< Proxy mode never ACKs (the site DHCP server does)
    PoolExhausted,
    UnknownRelay,  ///< giaddr is not a configured relay agent (ResponderConfig::relays)
    OtherNode,     ///< several nodes (issue #19): the client's bucket is another node's
    Count_
};
inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::Count_);

/// snake_case, stable: used as the `reason` label in /metrics and in the API.
const char* toString(Drop drop);
/// True for the reasons that mean "malformed packet" (vs a policy decision).
bool isMalformed(Drop drop);
/// The drop for a packet the codec refused.
Drop fromParseError(proto::dhcp::ParseError error);

}  // namespace pinet::core::dhcp
