#include "core/dhcp/pi_client.h"

#include <algorithm>

namespace pinet::core::dhcp {

namespace {
// IEEE registrations of Raspberry Pi Foundation / Raspberry Pi (Trading) Ltd, plus the
// prefixes seen on real boards in spec §2.1 (dc:a6:32, e4:5f:01, d8:3a:dd Pi 4/CM4;
// 2c:cf:67 Pi 5; 88:a2:9e and 28:cd:c1 newer Pi 5/CM5 batches; c8:4b:d6 a CM5 in spec §2.1).
constexpr std::array<std::array<std::uint8_t, 3>, 8> kOuis{{
    {0xb8, 0x27, 0xeb},
    {0xdc, 0xa6, 0x32},
    {0xe4, 0x5f, 0x01},
    {0xd8, 0x3a, 0xdd},
    {0x28, 0xcd, 0xc1},
    {0x2c, 0xcf, 0x67},
    {0x88, 0xa2, 0x9e},
    {0xc8, 0x4b, 0xd6},
}};
}  // namespace

std::span<const std::array<std::uint8_t, 3>> raspberryPiOuis() {
    return kOuis;
}

bool isRaspberryPiMac(const Mac& mac) {
    return std::any_of(kOuis.begin(), kOuis.end(), [&](const auto& o) {
        return o[0] == mac[0] && o[1] == mac[1] && o[2] == mac[2];
    });
}

ClientInfo identify(const proto::dhcp::Packet& packet) {
    namespace d = proto::dhcp;
    ClientInfo c;
    if (packet.htype == 1 && packet.hlen == 6) {
        c.mac = packet.mac();
        c.piOui = isRaspberryPiMac(c.mac);
    }
    if (auto vc = packet.stringOption(d::opt::VendorClass)) {
        c.pxe = d::isPxeVendorClass(*vc);
    }
    if (const d::Option* g = packet.find(d::opt::ClientMachineId)) {
        c.guid = d::parsePiGuid(g->data);
    }
    return c;
}

}  // namespace pinet::core::dhcp
