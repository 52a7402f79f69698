#pragma once
// Who is asking: recognises Raspberry Pi bootloaders among DHCP clients
// (spec netboot-protocol §2.1, §2.2, §12.1 "classify by OUI and/or option 97").

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "proto/dhcp/dhcp_packet.h"
#include "proto/dhcp/pxe.h"

namespace pinet::core::dhcp {

using Mac = std::array<std::uint8_t, 6>;

/// The maintained list of Raspberry Pi OUIs (first three MAC bytes).
std::span<const std::array<std::uint8_t, 3>> raspberryPiOuis();
bool isRaspberryPiMac(const Mac& mac);

struct ClientInfo {
    Mac mac{};
    bool pxe = false;                         ///< option 60 starts with "PXEClient"
    bool piOui = false;                       ///< chaddr has a Raspberry Pi OUI
    std::optional<proto::dhcp::PiGuid> guid;  ///< option 97 in the Pi layout

    /// Any sign of a Pi (also the kernel's own `ip=dhcp`, which sends no PXE options).
    [[nodiscard]] bool isPi() const { return piOui || guid.has_value(); }
    /// A Pi bootloader doing PXE: the only clients a proxy answers by default.
    [[nodiscard]] bool isPiPxe() const { return pxe && isPi(); }
};

ClientInfo identify(const proto::dhcp::Packet& packet);

}  // namespace pinet::core::dhcp
