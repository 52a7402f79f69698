#pragma once
// DHCPv4 / BOOTP wire format (RFC 2131, RFC 2132, RFC 3396): bytes in, Packet
// out and back. Pure: no sockets, no clock, no logging. Every malformed input
// is reported as a ParseError value so the daemon can drop and count it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace pinet::proto::dhcp {

/// RFC 2131 §2: op + htype + hlen + hops + xid + secs + flags + 4 addresses + chaddr(16)
/// + sname(64) + file(128) = 236 bytes before the options.
inline constexpr std::size_t kFixedHeaderSize = 236;
/// RFC 2131 §3: options start with the magic cookie 99.130.83.99.
inline constexpr std::uint32_t kMagicCookie = 0x63825363;
/// RFC 1542 §2.1: BOOTP messages are at least 300 bytes; some old clients drop shorter replies.
inline constexpr std::size_t kMinMessageSize = 300;
/// RFC 1542 §4.1.1: relay agents discard a request whose hops exceed 16, so more is absurd.
inline constexpr std::uint8_t kMaxHops = 16;
/// RFC 2131 §2: BROADCAST bit of the flags field.
inline constexpr std::uint16_t kFlagBroadcast = 0x8000;
inline constexpr std::uint16_t kServerPort = 67;  ///< RFC 2131 §4.1
inline constexpr std::uint16_t kClientPort = 68;  ///< RFC 2131 §4.1

enum class Op : std::uint8_t { BootRequest = 1, BootReply = 2 };  // RFC 951

/// RFC 2132 §9.6 option 53 values.
enum class MessageType : std::uint8_t {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
};
const char* toString(MessageType type);

/// Option codes used here (RFC 2132 unless noted).
namespace opt {
inline constexpr std::uint8_t Pad = 0;
inline constexpr std::uint8_t SubnetMask = 1;
inline constexpr std::uint8_t Router = 3;
inline constexpr std::uint8_t DnsServers = 6;
inline constexpr std::uint8_t Hostname = 12;
inline constexpr std::uint8_t DomainName = 15;
inline constexpr std::uint8_t BroadcastAddress = 28;
inline constexpr std::uint8_t VendorSpecific = 43;
inline constexpr std::uint8_t RequestedIp = 50;
inline constexpr std::uint8_t LeaseTime = 51;
inline constexpr std::uint8_t Overload = 52;
inline constexpr std::uint8_t MessageType = 53;
inline constexpr std::uint8_t ServerId = 54;
inline constexpr std::uint8_t ParameterList = 55;
inline constexpr std::uint8_t Message = 56;
inline constexpr std::uint8_t MaxMessageSize = 57;
inline constexpr std::uint8_t RenewalTime = 58;
inline constexpr std::uint8_t RebindingTime = 59;
inline constexpr std::uint8_t VendorClass = 60;
inline constexpr std::uint8_t ClientId = 61;
inline constexpr std::uint8_t TftpServerName = 66;
inline constexpr std::uint8_t BootfileName = 67;
inline constexpr std::uint8_t UserClass = 77;        // RFC 3004
inline constexpr std::uint8_t ClientArch = 93;       // RFC 4578 §2.1
inline constexpr std::uint8_t ClientNdi = 94;        // RFC 4578 §2.2
inline constexpr std::uint8_t ClientMachineId = 97;  // RFC 4578 §2.3 (GUID)
inline constexpr std::uint8_t End = 255;
}  // namespace opt

struct Option {
    std::uint8_t code = 0;
    std::vector<std::uint8_t> data;
};

/// An IPv4 address in host byte order (10.99.0.1 = 0x0a630001).
using Ip4 = std::uint32_t;
std::string ipToString(Ip4 ip);
std::optional<Ip4> parseIp(std::string_view text);

struct Packet {
    Op op = Op::BootRequest;
    std::uint8_t htype = 1;  ///< RFC 1700: 1 = Ethernet
    std::uint8_t hlen = 6;
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t secs = 0;
    std::uint16_t flags = 0;
    Ip4 ciaddr = 0;
    Ip4 yiaddr = 0;
    Ip4 siaddr = 0;
    Ip4 giaddr = 0;
    std::array<std::uint8_t, 16> chaddr{};
    std::array<std::uint8_t, 64> sname{};
    std::array<std::uint8_t, 128> file{};
    /// Options in wire order (pad and end removed; RFC 3396 split options joined).
    std::vector<Option> options;

    [[nodiscard]] const Option* find(std::uint8_t code) const;
    [[nodiscard]] std::optional<MessageType> messageType() const;
    /// A 4-byte option as an address (54, 50, ...).
    [[nodiscard]] std::optional<Ip4> ipOption(std::uint8_t code) const;
    [[nodiscard]] std::optional<std::string_view> stringOption(std::uint8_t code) const;
    /// The first 6 bytes of chaddr (Ethernet).
    [[nodiscard]] std::array<std::uint8_t, 6> mac() const;

    void set(std::uint8_t code, std::vector<std::uint8_t> data);
    void setU8(std::uint8_t code, std::uint8_t v);
    void setU32(std::uint8_t code, std::uint32_t v);
    void setIp(std::uint8_t code, Ip4 ip);
    void setIps(std::uint8_t code, std::span<const Ip4> ips);
    void setString(std::uint8_t code, std::string_view s);
    void setFile(std::string_view name);
    void setMac(std::span<const std::uint8_t> mac);
};

/// Why a datagram was not accepted as DHCP. Each is counted separately.
enum class ParseError {
    Truncated,        ///< shorter than the fixed header + magic cookie
    BadMagic,         ///< no RFC 2131 magic cookie (plain BOOTP is not served)
    BadOptionLength,  ///< an option runs past the end of its area
    MissingEnd,       ///< the option area has no end option (RFC 2131 §4.1 requires it)
    BadOverload,      ///< option 52 has a bad length/value or the overloaded field is malformed
    BadHardware,      ///< hlen > 16 (chaddr is 16 bytes)
    AbsurdHops,       ///< hops > 16 (RFC 1542)
    NoMessageType,    ///< option 53 missing or not one of 1..8
};
const char* toString(ParseError error);
inline constexpr std::size_t kParseErrorCount = 8;

tl::expected<Packet, ParseError> parse(std::span<const std::uint8_t> bytes);

/// Encodes @p packet: header, cookie, options in order (split into 255-byte pieces
/// per RFC 3396 when longer), end, padded to kMinMessageSize.
std::vector<std::uint8_t> serialize(const Packet& packet);

std::string macToString(std::span<const std::uint8_t> mac);  ///< "dc:a6:32:01:02:03"
std::optional<std::array<std::uint8_t, 6>> parseMac(std::string_view text);

}  // namespace pinet::proto::dhcp
