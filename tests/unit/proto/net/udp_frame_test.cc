#include "proto/net/udp_frame.h"

#include <gtest/gtest.h>

namespace pinet::proto::net {
namespace {

TEST(UdpFrame, BuildParseRoundTripWithChecksums) {
    const std::vector<std::uint8_t> payload = {1, 2, 3, 4, 5};
    UdpFrame f;
    f.dstMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    f.srcMac = {0xdc, 0xa6, 0x32, 1, 2, 3};
    f.srcIp = 0;
    f.dstIp = 0xffffffff;
    f.srcPort = 68;
    f.dstPort = 67;
    f.payload = payload;
    auto bytes = buildUdpFrame(f);
    ASSERT_EQ(bytes.size(), kEthHeader + kIpv4Header + kUdpHeader + payload.size());
    auto p = parseUdpFrame(bytes, true);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->srcMac, f.srcMac);
    EXPECT_EQ(p->dstIp, 0xffffffffu);
    EXPECT_EQ(p->dstPort, 67);
    EXPECT_EQ(std::vector<std::uint8_t>(p->payload.begin(), p->payload.end()), payload);
    // IPv4 header checksum verifies to all ones (RFC 1071).
    EXPECT_EQ(onesComplementSum(std::span(bytes).subspan(kEthHeader, kIpv4Header)), 0xffff);
}

TEST(UdpFrame, BadUdpChecksumRejectedUnlessOffloaded) {
    const std::vector<std::uint8_t> payload = {9, 9, 9};
    UdpFrame f;
    f.srcIp = 0x0a000001;
    f.dstIp = 0x0a000002;
    f.srcPort = 67;
    f.dstPort = 68;
    f.payload = payload;
    auto bytes = buildUdpFrame(f);
    bytes[bytes.size() - 1] ^= 0xff;  // corrupt the payload
    EXPECT_FALSE(parseUdpFrame(bytes, true));
    // TP_STATUS_CSUMNOTREADY: the checksum was never filled in; accept.
    EXPECT_TRUE(parseUdpFrame(bytes, false));
    // A broken IP header is always rejected.
    bytes[kEthHeader + 8] ^= 0x01;  // TTL
    EXPECT_FALSE(parseUdpFrame(bytes, false));
}

TEST(UdpFrame, NonUdpAndTruncatedFramesRejected) {
    UdpFrame f;
    std::vector<std::uint8_t> payload(10, 0);
    f.payload = payload;
    auto bytes = buildUdpFrame(f);
    EXPECT_FALSE(parseUdpFrame(std::span(bytes).first(30), false));
    auto tcp = bytes;
    tcp[kEthHeader + 9] = 6;
    EXPECT_FALSE(parseUdpFrame(tcp, false));
    auto arp = bytes;
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_FALSE(parseUdpFrame(arp, false));
}

}  // namespace
}  // namespace pinet::proto::net
