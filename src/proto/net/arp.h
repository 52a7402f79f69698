#pragma once
// ARP for IPv4 over Ethernet (RFC 826), for the probe's virtual boards: each board
// asks for its TFTP server's MAC and answers for its own leased address, as the
// bootloader does (spec netboot-protocol §12.2), so a storm of boards looks like a
// storm of distinct hosts to the server.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proto/net/udp_frame.h"

namespace pinet::proto::net {

inline constexpr std::uint16_t kEtherTypeArp = 0x0806;  // IEEE 802 EtherType
inline constexpr std::size_t kArpFrameSize = 60;        // 14 + 28, padded to the Ethernet minimum

enum class ArpOp : std::uint16_t { Request = 1, Reply = 2 };  // RFC 826 ar$op

struct ArpPacket {
    ArpOp op = ArpOp::Request;
    Mac senderMac{};
    std::uint32_t senderIp = 0;  ///< host byte order
    Mac targetMac{};
    std::uint32_t targetIp = 0;
};

/// A complete Ethernet frame: requests go to the broadcast address, replies to the
/// target's MAC; padded to 60 bytes.
std::vector<std::uint8_t> buildArpFrame(const ArpPacket& packet);

/// Parses an Ethernet frame carrying ARP for IPv4 over Ethernet (htype 1, ptype 0x0800,
/// hlen 6, plen 4). Anything else gives nullopt.
std::optional<ArpPacket> parseArpFrame(std::span<const std::uint8_t> frame);

}  // namespace pinet::proto::net
