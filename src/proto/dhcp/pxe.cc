#include "proto/dhcp/pxe.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/byte_reader.h"
#include "proto/byte_writer.h"

namespace pinet::proto::dhcp {

namespace {
// 255 (max option length) - 15 bytes of sub-option framing around the menu text.
constexpr std::size_t kMaxMenuText = 240;
// PXE spec 2.1: discovery control bit0 = no broadcast discovery, bit1 = no multicast
// discovery; 3 is what dnsmasq sends and what the bootloader is known to accept (spec §3.1).
constexpr std::uint8_t kDiscoveryControl = 3;
}  // namespace

std::vector<std::uint8_t> buildPxeMenuOption(std::string_view text) {
    text = text.substr(0, std::min(text.size(), kMaxMenuText));
    ByteWriter w;
    w.u8(pxe::DiscoveryControl);
    w.u8(1);
    w.u8(kDiscoveryControl);
    // Menu prompt: timeout 0 (boot the first item at once), prompt text "PXE".
    w.u8(pxe::MenuPrompt);
    w.u8(4);
    w.u8(0);
    w.str("PXE");
    // One menu item of type 0 (spec §3.1; dnsmasq pxe-service=0).
    w.u8(pxe::BootMenu);
    w.u8(static_cast<std::uint8_t>(3 + text.size()));
    w.u16be(0);
    w.u8(static_cast<std::uint8_t>(text.size()));
    w.str(text);
    w.u8(pxe::End);
    return w.take();
}

PxeVendorOptions parsePxeVendorOptions(std::span<const std::uint8_t> data) {
    PxeVendorOptions out;
    ByteReader r(data);
    while (!r.empty()) {
        auto code = *r.u8();
        if (code == 0) {
            continue;
        }
        if (code == pxe::End) {
            break;
        }
        auto len = r.u8();
        auto body = len ? r.bytes(*len) : std::nullopt;
        if (!body) {
            out.malformed = true;
            break;
        }
        if (code == pxe::DiscoveryControl && !body->empty()) {
            out.discoveryControl = (*body)[0];
        } else if (code == pxe::BootMenu) {
            ByteReader m(*body);
            while (m.remaining() >= 3) {
                PxeMenuItem item;
                item.type = *m.u16be();
                auto n = *m.u8();
                auto desc = m.bytes(n);
                if (!desc) {
                    out.malformed = true;
                    break;
                }
                item.description.assign(desc->begin(), desc->end());
                out.menu.push_back(std::move(item));
            }
        }
    }
    return out;
}

bool pxeMenuMatches(const PxeVendorOptions& options, std::string_view match) {
    return std::any_of(options.menu.begin(), options.menu.end(), [&](const PxeMenuItem& item) {
        return item.description.find(match) != std::string::npos;
    });
}

std::string PiGuid::serialHex() const {
    return fmt::format("{:08x}", serial);
}

std::optional<PiGuid> parsePiGuid(std::span<const std::uint8_t> data) {
    // Spec §2.2: 17 bytes, type byte 0 first.
    if (data.size() != 17 || data[0] != 0) {
        return std::nullopt;
    }
    PiGuid g;
    const std::string_view four = asText(data.subspan(1, 4));
    if (four == "RPi4" || four == "RPi5") {
        g.modelDigit = four[3];
    } else if (four == "4iPR" || four == "5iPR") {
        g.modelDigit = four[0];
        g.reversedFourcc = true;
    } else {
        return std::nullopt;
    }
    ByteReader r(data.subspan(5));
    g.boardRevision = *r.u32le();
    auto lsb = *r.bytes(4);
    std::copy(lsb.begin(), lsb.end(), g.macLsb.begin());
    g.serial = *r.u32le();
    return g;
}

std::vector<std::uint8_t> buildPiGuid(const PiGuid& g) {
    ByteWriter w;
    w.u8(0);
    if (g.reversedFourcc) {
        w.u8(static_cast<std::uint8_t>(g.modelDigit));
        w.str("iPR");
    } else {
        w.str("RPi");
        w.u8(static_cast<std::uint8_t>(g.modelDigit));
    }
    w.u32le(g.boardRevision);
    w.bytes(g.macLsb);
    w.u32le(g.serial);
    return w.take();
}

bool isPxeVendorClass(std::string_view vendorClass) {
    return vendorClass.substr(0, kPxeClientPrefix.size()) == kPxeClientPrefix;
}

}  // namespace pinet::proto::dhcp
