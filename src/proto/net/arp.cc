#include "proto/net/arp.h"

#include <algorithm>

#include "proto/byte_reader.h"
#include "proto/byte_writer.h"

namespace pinet::proto::net {

namespace {
constexpr std::uint16_t kHtypeEthernet = 1;  // RFC 826 ar$hrd, IANA hardware type 1
constexpr std::uint8_t kHlen = 6;
constexpr std::uint8_t kPlen = 4;
constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Mac toMac(std::span<const std::uint8_t> b) {
    Mac m{};
    std::copy(b.begin(), b.end(), m.begin());
    return m;
}
}  // namespace

std::vector<std::uint8_t> buildArpFrame(const ArpPacket& p) {
    ByteWriter w;
    w.bytes(p.op == ArpOp::Request ? kBroadcast : p.targetMac);
    w.bytes(p.senderMac);
    w.u16be(kEtherTypeArp);
    w.u16be(kHtypeEthernet);
    w.u16be(kEtherTypeIpv4);
    w.u8(kHlen);
    w.u8(kPlen);
    w.u16be(static_cast<std::uint16_t>(p.op));
    w.bytes(p.senderMac);
    w.u32be(p.senderIp);
    w.bytes(p.targetMac);
    w.u32be(p.targetIp);
    auto b = w.take();
    b.resize(kArpFrameSize, 0);
    return b;
}

std::optional<ArpPacket> parseArpFrame(std::span<const std::uint8_t> frame) {
    ByteReader r(frame);
    if (!r.skip(12)) {
        return std::nullopt;
    }
    auto type = r.u16be();
    auto htype = r.u16be();
    auto ptype = r.u16be();
    auto hlen = r.u8();
    auto plen = r.u8();
    auto op = r.u16be();
    if (!type || *type != kEtherTypeArp || !htype || *htype != kHtypeEthernet || !ptype ||
        *ptype != kEtherTypeIpv4 || !hlen || *hlen != kHlen || !plen || *plen != kPlen || !op ||
        (*op != 1 && *op != 2)) {
        return std::nullopt;
    }
    auto sha = r.bytes(6);
    auto spa = r.u32be();
    auto tha = r.bytes(6);
    auto tpa = r.u32be();
    if (!sha || !spa || !tha || !tpa) {
        return std::nullopt;
    }
    ArpPacket p;
    p.op = static_cast<ArpOp>(*op);
    p.senderMac = toMac(*sha);
    p.senderIp = *spa;
    p.targetMac = toMac(*tha);
    p.targetIp = *tpa;
    return p;
}

}  // namespace pinet::proto::net
