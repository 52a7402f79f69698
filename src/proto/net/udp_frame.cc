#include "proto/net/udp_frame.h"

#include <algorithm>

#include "proto/byte_reader.h"
#include "proto/byte_writer.h"

namespace pinet::proto::net {

namespace {
constexpr std::uint8_t kProtoUdp = 17;       // IANA protocol number
constexpr std::uint8_t kTtl = 64;            // RFC 1700 default TTL
constexpr std::uint16_t kFragMask = 0x3fff;  // MF flag + fragment offset (RFC 791)

std::uint32_t sumWords(std::span<const std::uint8_t> data, std::uint32_t acc) {
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
        acc += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
    }
    if (i < data.size()) {
        acc += static_cast<std::uint32_t>(data[i] << 8);
    }
    return acc;
}

std::uint16_t fold(std::uint32_t acc) {
    while ((acc >> 16) != 0) {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return static_cast<std::uint16_t>(acc);
}

std::uint32_t pseudoHeader(std::uint32_t src, std::uint32_t dst, std::size_t udpLen) {
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + kProtoUdp +
           static_cast<std::uint32_t>(udpLen);
}
}  // namespace

std::uint16_t onesComplementSum(std::span<const std::uint8_t> data, std::uint32_t initial) {
    return fold(sumWords(data, initial));
}

std::vector<std::uint8_t> buildUdpFrame(const UdpFrame& f) {
    const std::size_t udpLen = kUdpHeader + f.payload.size();
    ByteWriter w;
    w.bytes(f.dstMac);
    w.bytes(f.srcMac);
    w.u16be(kEtherTypeIpv4);
    const std::size_t ipStart = w.size();
    w.u8(0x45);  // version 4, IHL 5
    w.u8(0);
    w.u16be(static_cast<std::uint16_t>(kIpv4Header + udpLen));
    w.u16be(0);  // identification
    w.u16be(0);  // flags/fragment
    w.u8(kTtl);
    w.u8(kProtoUdp);
    w.u16be(0);  // checksum, filled below
    w.u32be(f.srcIp);
    w.u32be(f.dstIp);
    const std::size_t udpStart = w.size();
    w.u16be(f.srcPort);
    w.u16be(f.dstPort);
    w.u16be(static_cast<std::uint16_t>(udpLen));
    w.u16be(0);
    w.bytes(f.payload);
    auto& b = w.data();
    const std::uint16_t ipSum =
        static_cast<std::uint16_t>(~onesComplementSum(std::span(b).subspan(ipStart, kIpv4Header)));
    putU16be(b.data() + ipStart + 10, ipSum);
    std::uint16_t udpSum = static_cast<std::uint16_t>(~onesComplementSum(
        std::span(b).subspan(udpStart, udpLen), pseudoHeader(f.srcIp, f.dstIp, udpLen)));
    if (udpSum == 0) {
        udpSum = 0xffff;  // RFC 768: a computed 0 is sent as all ones
    }
    putU16be(b.data() + udpStart + 6, udpSum);
    return w.take();
}

std::optional<UdpFrame> parseUdpFrame(std::span<const std::uint8_t> frame, bool verifyUdpChecksum) {
    ByteReader r(frame);
    UdpFrame f;
    auto dst = r.bytes(6);
    auto src = r.bytes(6);
    auto type = r.u16be();
    if (!dst || !src || !type || *type != kEtherTypeIpv4) {
        return std::nullopt;
    }
    std::copy(dst->begin(), dst->end(), f.dstMac.begin());
    std::copy(src->begin(), src->end(), f.srcMac.begin());
    const auto ip = r.rest();
    if (ip.size() < kIpv4Header || (ip[0] >> 4) != 4) {
        return std::nullopt;
    }
    const std::size_t ihl = static_cast<std::size_t>(ip[0] & 0x0f) * 4;
    const std::size_t total = static_cast<std::size_t>((ip[2] << 8) | ip[3]);
    if (ihl < kIpv4Header || total < ihl + kUdpHeader || total > ip.size() || ip[9] != kProtoUdp) {
        return std::nullopt;
    }
    if ((((ip[6] << 8) | ip[7]) & kFragMask) != 0) {
        return std::nullopt;  // fragments are not reassembled here
    }
    if (onesComplementSum(ip.first(ihl)) != 0xffff) {
        return std::nullopt;
    }
    f.srcIp = getU32be(ip.data() + 12);
    f.dstIp = getU32be(ip.data() + 16);
    const auto udp = ip.subspan(ihl, total - ihl);
    f.srcPort = static_cast<std::uint16_t>((udp[0] << 8) | udp[1]);
    f.dstPort = static_cast<std::uint16_t>((udp[2] << 8) | udp[3]);
    const std::size_t udpLen = static_cast<std::size_t>((udp[4] << 8) | udp[5]);
    if (udpLen < kUdpHeader || udpLen > udp.size()) {
        return std::nullopt;
    }
    const std::uint16_t sum = static_cast<std::uint16_t>((udp[6] << 8) | udp[7]);
    if (verifyUdpChecksum && sum != 0 &&
        onesComplementSum(udp.first(udpLen), pseudoHeader(f.srcIp, f.dstIp, udpLen)) != 0xffff) {
        return std::nullopt;
    }
    f.payload = udp.subspan(kUdpHeader, udpLen - kUdpHeader);
    return f;
}

}  // namespace pinet::proto::net
