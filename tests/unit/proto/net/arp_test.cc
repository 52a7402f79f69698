#include "proto/net/arp.h"

#include <gtest/gtest.h>

namespace pinet::proto::net {
namespace {

constexpr Mac kBoard{0xdc, 0xa6, 0x32, 1, 2, 3};
constexpr Mac kServer{0x02, 0, 0, 0, 0, 1};

TEST(Arp, RequestIsBroadcastWithRfc826Layout) {
    ArpPacket req;
    req.op = ArpOp::Request;
    req.senderMac = kBoard;
    req.senderIp = 0x0a000005;  // 10.0.0.5
    req.targetIp = 0x0a000001;
    const auto b = buildArpFrame(req);
    ASSERT_EQ(b.size(), kArpFrameSize);
    // Ethernet: broadcast destination, our source, EtherType 0x0806.
    EXPECT_EQ(std::vector<std::uint8_t>(b.begin(), b.begin() + 6),
              std::vector<std::uint8_t>(6, 0xff));
    EXPECT_EQ(b[12], 0x08);
    EXPECT_EQ(b[13], 0x06);
    // htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (RFC 826).
    const std::vector<std::uint8_t> fixed{0, 1, 0x08, 0x00, 6, 4, 0, 1};
    EXPECT_EQ(std::vector<std::uint8_t>(b.begin() + 14, b.begin() + 22), fixed);
    // Sender IP at offset 28, target IP at 38, big-endian.
    EXPECT_EQ(b[28], 10);
    EXPECT_EQ(b[31], 5);
    EXPECT_EQ(b[38], 10);
    EXPECT_EQ(b[41], 1);
    // Padding to the Ethernet minimum is zero.
    for (std::size_t i = 42; i < b.size(); ++i) {
        EXPECT_EQ(b[i], 0) << i;
    }
}

TEST(Arp, ReplyRoundTripsAndIsUnicast) {
    ArpPacket rep;
    rep.op = ArpOp::Reply;
    rep.senderMac = kBoard;
    rep.senderIp = 0x0a000005;
    rep.targetMac = kServer;
    rep.targetIp = 0x0a000001;
    const auto b = buildArpFrame(rep);
    EXPECT_EQ(std::vector<std::uint8_t>(b.begin(), b.begin() + 6),
              std::vector<std::uint8_t>(kServer.begin(), kServer.end()));
    auto p = parseArpFrame(b);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->op, ArpOp::Reply);
    EXPECT_EQ(p->senderMac, kBoard);
    EXPECT_EQ(p->senderIp, 0x0a000005u);
    EXPECT_EQ(p->targetMac, kServer);
    EXPECT_EQ(p->targetIp, 0x0a000001u);
}

TEST(Arp, RejectsOtherProtocolsAndTruncation) {
    ArpPacket req;
    req.senderMac = kBoard;
    auto b = buildArpFrame(req);
    EXPECT_TRUE(parseArpFrame(b));
    auto wrongType = b;
    wrongType[13] = 0x00;  // EtherType 0x0800: IPv4, not ARP
    EXPECT_FALSE(parseArpFrame(wrongType));
    auto wrongHlen = b;
    wrongHlen[18] = 8;
    EXPECT_FALSE(parseArpFrame(wrongHlen));
    auto wrongOp = b;
    wrongOp[21] = 3;  // RARP request
    EXPECT_FALSE(parseArpFrame(wrongOp));
    for (std::size_t n = 0; n < 42; ++n) {
        EXPECT_FALSE(parseArpFrame(std::span(b.data(), n))) << n;
    }
}

}  // namespace
}  // namespace pinet::proto::net
