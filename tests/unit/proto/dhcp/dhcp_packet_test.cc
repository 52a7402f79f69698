#include "proto/dhcp/dhcp_packet.h"

#include <gtest/gtest.h>

#include "proto/dhcp/pxe.h"

namespace pinet::proto::dhcp {
namespace {

Packet sampleDiscover() {
    Packet p;
    p.xid = 0xd383a6ac;
    p.setMac(std::array<std::uint8_t, 6>{0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03});
    p.setU8(opt::MessageType, 1);
    p.setString(opt::VendorClass, kPiVendorClass);
    return p;
}

std::vector<std::uint8_t> header(std::uint8_t hops = 0) {
    std::vector<std::uint8_t> b(kFixedHeaderSize, 0);
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    b[3] = hops;
    b.insert(b.end(), {0x63, 0x82, 0x53, 0x63});
    return b;
}

TEST(DhcpPacket, RoundTripKeepsFieldsAndOptionOrder) {
    Packet p = sampleDiscover();
    p.flags = kFlagBroadcast;
    p.ciaddr = 0x0a000001;
    p.setIp(opt::ServerId, 0x0a630001);
    auto bytes = serialize(p);
    EXPECT_GE(bytes.size(), kMinMessageSize);
    auto q = parse(bytes);
    ASSERT_TRUE(q) << toString(q.error());
    EXPECT_EQ(q->xid, 0xd383a6acu);
    EXPECT_EQ(q->flags, kFlagBroadcast);
    EXPECT_EQ(q->ciaddr, 0x0a000001u);
    EXPECT_EQ(macToString(q->mac()), "dc:a6:32:01:02:03");
    ASSERT_EQ(q->options.size(), 3u);
    EXPECT_EQ(q->options[0].code, opt::MessageType);
    EXPECT_EQ(q->options[1].code, opt::VendorClass);
    EXPECT_EQ(q->options[2].code, opt::ServerId);
    EXPECT_EQ(*q->ipOption(opt::ServerId), 0x0a630001u);
    EXPECT_EQ(*q->messageType(), MessageType::Discover);
}

TEST(DhcpPacket, LongOptionIsSplitAndRejoined) {
    Packet p = sampleDiscover();
    std::vector<std::uint8_t> big(400, 0xab);
    p.set(opt::UserClass, big);
    auto q = parse(serialize(p));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->find(opt::UserClass)->data, big);  // RFC 3396 concatenation
}

TEST(DhcpPacket, MalformedInputsGiveTheirReason) {
    std::vector<std::uint8_t> shortPkt(100, 0);
    EXPECT_EQ(parse(shortPkt).error(), ParseError::Truncated);

    auto b = header();
    b[kFixedHeaderSize] = 0;  // break the cookie
    b.insert(b.end(), {53, 1, 1, 255});
    EXPECT_EQ(parse(b).error(), ParseError::BadMagic);

    b = header();
    b.insert(b.end(), {53, 1, 1, 55, 200, 1, 3});  // 55 claims 200 bytes
    EXPECT_EQ(parse(b).error(), ParseError::BadOptionLength);

    b = header();
    b.insert(b.end(), {53, 1, 1});  // no end option
    EXPECT_EQ(parse(b).error(), ParseError::MissingEnd);

    b = header();
    b.insert(b.end(), {53, 1, 1, 52, 1, 9, 255});  // overload value 9
    EXPECT_EQ(parse(b).error(), ParseError::BadOverload);

    b = header(17);
    b.insert(b.end(), {53, 1, 1, 255});
    EXPECT_EQ(parse(b).error(), ParseError::AbsurdHops);

    b = header();
    b[2] = 17;
    b.insert(b.end(), {53, 1, 1, 255});
    EXPECT_EQ(parse(b).error(), ParseError::BadHardware);

    b = header();
    b.insert(b.end(), {60, 1, 'x', 255});
    EXPECT_EQ(parse(b).error(), ParseError::NoMessageType);
}

TEST(DhcpPacket, OverloadedFileFieldIsParsed) {
    auto b = header();
    // file field (offset 108) holds option 53 = REQUEST and 60 "PXE", then end.
    const std::uint8_t fileOpts[] = {53, 1, 3, 60, 3, 'P', 'X', 'E', 255};
    std::copy(std::begin(fileOpts), std::end(fileOpts), b.begin() + 108);
    b.insert(b.end(), {52, 1, 1, 255});
    auto q = parse(b);
    ASSERT_TRUE(q) << toString(q.error());
    EXPECT_EQ(*q->messageType(), MessageType::Request);
    EXPECT_EQ(*q->stringOption(opt::VendorClass), "PXE");
    EXPECT_EQ(q->find(opt::Overload), nullptr);

    // Bad bytes in the overloaded field are a bad overload.
    b = header();
    b[108] = 60;
    b[109] = 200;
    b.insert(b.end(), {53, 1, 1, 52, 1, 1, 255});
    EXPECT_EQ(parse(b).error(), ParseError::BadOverload);
}

TEST(DhcpPacket, PadOptionsAreSkipped) {
    auto b = header();
    b.insert(b.end(), {0, 0, 53, 1, 2, 0, 255});
    auto q = parse(b);
    ASSERT_TRUE(q);
    EXPECT_EQ(*q->messageType(), MessageType::Offer);
}

TEST(DhcpPacket, IpAndMacText) {
    EXPECT_EQ(ipToString(0x0a630001), "10.99.0.1");
    EXPECT_EQ(*parseIp("10.99.0.1"), 0x0a630001u);
    EXPECT_FALSE(parseIp("10.99.0"));
    EXPECT_FALSE(parseIp("10.99.0.256"));
    EXPECT_FALSE(parseIp("10.99.0.1x"));
    EXPECT_EQ(macToString(*parseMac("DC-A6-32-01-02-03")), "dc:a6:32:01:02:03");
    EXPECT_FALSE(parseMac("dc:a6:32:01:02"));
}

TEST(Pxe, Option43IsTheExactSpecBytes) {
    // spec netboot-protocol §3.1 / testlab README §3: dnsmasq's pxe-service=0,"Raspberry Pi Boot".
    const std::vector<std::uint8_t> expected = {0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 0x50, 0x58,
                                                0x45, 0x09, 0x14, 0x00, 0x00, 0x11, 0x52, 0x61,
                                                0x73, 0x70, 0x62, 0x65, 0x72, 0x72, 0x79, 0x20,
                                                0x50, 0x69, 0x20, 0x42, 0x6f, 0x6f, 0x74, 0xff};
    EXPECT_EQ(buildPxeMenuOption("Raspberry Pi Boot"), expected);
    auto parsed = parsePxeVendorOptions(expected);
    EXPECT_FALSE(parsed.malformed);
    EXPECT_EQ(parsed.discoveryControl, 3);
    ASSERT_EQ(parsed.menu.size(), 1u);
    EXPECT_EQ(parsed.menu[0].description, "Raspberry Pi Boot");
    EXPECT_TRUE(pxeMenuMatches(parsed, "Raspberry Pi Boot"));
    EXPECT_FALSE(pxeMenuMatches(parsed, "Other Boot"));
}

TEST(Pxe, CustomMenuTextAndSubstringMatch) {
    auto opt43 = buildPxeMenuOption("~~Raspberry Pi Boot~~");
    EXPECT_EQ(opt43.size(), 32u + 4u);
    EXPECT_TRUE(pxeMenuMatches(parsePxeVendorOptions(opt43), "Raspberry Pi Boot"));
    // Text longer than fits is cut so the option stays <= 255 bytes.
    EXPECT_LE(buildPxeMenuOption(std::string(400, 'x')).size(), 255u);
    // A sub-option overrunning its option is flagged.
    const std::vector<std::uint8_t> bad = {0x09, 0x30, 0x00, 0x00, 0x05, 'a'};
    EXPECT_TRUE(parsePxeVendorOptions(bad).malformed);
}

TEST(Pxe, PiGuidLayoutBothByteOrders) {
    // cmprovision#5 capture: 00 'RPi4' 40 31 c0 00 (rev c03140 LE) ...
    PiGuid g;
    g.modelDigit = '4';
    g.boardRevision = 0x00c03140;
    g.macLsb = {0x32, 0x01, 0x02, 0x03};
    g.serial = 0x1234abcd;
    auto bytes = buildPiGuid(g);
    ASSERT_EQ(bytes.size(), 17u);
    EXPECT_EQ(bytes[0], 0x00);
    EXPECT_EQ(bytes[1], 'R');
    EXPECT_EQ(bytes[4], '4');
    EXPECT_EQ(bytes[5], 0x40);
    EXPECT_EQ(bytes[7], 0xc0);
    EXPECT_EQ(bytes[13], 0xcd);  // serial little-endian
    auto back = parsePiGuid(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->serialHex(), "1234abcd");
    EXPECT_EQ(back->model(), "RPi4");

    g.modelDigit = '5';
    g.reversedFourcc = true;  // "5iPR" (explicit DHCP_OPTION97, spec §2.2)
    auto rev = parsePiGuid(buildPiGuid(g));
    ASSERT_TRUE(rev);
    EXPECT_EQ(rev->model(), "RPi5");
    EXPECT_TRUE(rev->reversedFourcc);

    std::vector<std::uint8_t> x86(17, 0x44);  // Pi 3B ROM constant, or any PC GUID
    EXPECT_FALSE(parsePiGuid(x86));
    EXPECT_FALSE(parsePiGuid(std::span(bytes).first(16)));
}

}  // namespace
}  // namespace pinet::proto::dhcp
