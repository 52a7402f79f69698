#pragma once
// Ethernet II + IPv4 + UDP framing for clients that have no address yet and so
// must send and receive through a packet socket (the probe's virtual Pis).
// RFC 791 (IPv4 header, checksum), RFC 768 (UDP, pseudo-header checksum).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pinet::proto::net {

using Mac = std::array<std::uint8_t, 6>;

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;  // IEEE 802 EtherType
inline constexpr std::size_t kEthHeader = 14;
inline constexpr std::size_t kIpv4Header = 20;  // RFC 791, no options
inline constexpr std::size_t kUdpHeader = 8;    // RFC 768

struct UdpFrame {
    Mac dstMac{};
    Mac srcMac{};
    std::uint32_t srcIp = 0;  ///< host byte order
    std::uint32_t dstIp = 0;
    std::uint16_t srcPort = 0;
    std::uint16_t dstPort = 0;
    std::span<const std::uint8_t> payload;
};

/// Builds a complete frame with valid IPv4 and UDP checksums (TTL 64, no fragmentation).
std::vector<std::uint8_t> buildUdpFrame(const UdpFrame& frame);

/// Parses an Ethernet frame carrying IPv4/UDP. Non-UDP, fragments, and bad lengths give
/// nullopt. @p verifyUdpChecksum false skips the UDP checksum (a veth peer leaves it to
/// offload: TP_STATUS_CSUMNOTREADY, testlab README §1); the IPv4 header checksum is
/// always checked.
std::optional<UdpFrame> parseUdpFrame(std::span<const std::uint8_t> frame, bool verifyUdpChecksum);

/// RFC 1071 ones' complement sum folded to 16 bits (not inverted).
std::uint16_t onesComplementSum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

}  // namespace pinet::proto::net
