#include "app/doctor/mtu.h"

#include <fmt/format.h>

namespace pinet::app {

namespace {
// Ethernet's payload size (RFC 894); the Pi bootloader's TFTP blksize 1468 (spec
// netboot-protocol.md section 4) + 20 (IPv4) + 8 (UDP) + 4 (TFTP DATA header) = 1500.
constexpr unsigned kEthernetMtu = 1500;
}  // namespace

Finding checkMtu(const std::string& interface, std::optional<unsigned> mtu) {
    if (!mtu) {
        return {Severity::Info, "mtu", fmt::format("cannot read the MTU of {}", interface), {}};
    }
    if (*mtu >= kEthernetMtu) {
        return {Severity::Ok, "mtu", fmt::format("{} has MTU {}", interface, *mtu), {}};
    }
    return {Severity::Warn, "mtu",
            fmt::format("{} has MTU {}, below Ethernet's {}: the Pi's 1468-byte TFTP blocks and "
                        "full HTTP segments are fragmented or lost, and boots stall",
                        interface, *mtu, kEthernetMtu),
            fmt::format("ip link set {} mtu 1500 (and make it persistent: NetworkManager "
                        "802-3-ethernet.mtu, ifupdown `mtu 1500`); behind a tunnel or VLAN that "
                        "cannot carry 1500, lower tftp.max_blksize below {}",
                        interface, *mtu > 32 ? *mtu - 32 : 512)};
}

}  // namespace pinet::app
